/**
 * A schema with more tables than the target's lock table holds in one transaction: every run
 * ends with the target wholly old or wholly new and, after the next run, no leftover schema.
 */

import { assertEquals, assertRejects, assertStringIncludes } from "./_assert.ts";
import { schemaNames } from "./_servers.ts";
import { assertWhole, TABLES, withWide } from "./_wide.ts";
import { runJob } from "../lib/mod.ts";
import { JobError } from "../lib/errors.ts";

Deno.test("more tables than the target's lock table holds: first run, refresh, failure, each whole", async () => {
  await withWide("many", async ({ pair, target, job }) => {
    await runJob(job(), { name: "first" });
    await assertWhole(target, "v1");
    assertEquals(await schemaNames(target), ["public", "wide"]);

    await pair.source.unsafe(`UPDATE wide.t${TABLES - 1} SET v = 'refreshed' WHERE id = 1`);
    await runJob(job(), { name: "refresh" });
    await assertWhole(target, "refreshed");
    assertEquals(await schemaNames(target), ["public", "wide"]);

    // A failure after the structure step (the copy of the last table fails): the target keeps
    // every table as it was, and the shadow is gone.
    await pair.source.unsafe(`UPDATE wide.t${TABLES - 1} SET v = 'failed run' WHERE id = 1`);
    await assertRejects(
      () =>
        runJob(
          job({
            tables: {
              "*": {},
              [`t${TABLES - 1}`]: { select: { v: "CASE WHEN id = 20 THEN (1/0)::text END" } },
            },
          }),
          { name: "failing" },
        ),
      JobError,
      "division by zero",
    );
    await assertWhole(target, "refreshed");
    assertEquals(await schemaNames(target), ["public", "wide"]);
  });
});

Deno.test("the old schema's drop waits a bounded time for a reader, then is left for the next run", async () => {
  await withWide("many-reader", async ({ target, job }) => {
    await runJob(job(), { name: "first" });
    const reader = await target.reserve();
    try {
      await reader.unsafe("BEGIN");
      await reader.unsafe("SELECT count(*) FROM wide.t0");
      const events: string[] = [];
      const report = await runJob(job(), {
        name: "second",
        lockTimeoutMs: 200,
        lockAttempts: 2,
        onEvent: (e) => e.kind === "warning" && events.push(e.message),
      });
      // The swap did not wait for the reader: the new schema is in place.
      assertEquals(report.tables.length, TABLES);
      assertStringIncludes(report.warnings.join("\n"), "could not drop the old schema");
      assertEquals(events.length, report.warnings.length);
    } finally {
      await reader.unsafe("ROLLBACK");
      reader.release();
    }
    await runJob(job(), { name: "third" });
    assertEquals(await schemaNames(target), ["public", "wide"]);
  });
});
