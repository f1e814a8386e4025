/**
 * A schema with more tables than the target's lock table holds in one transaction: every run
 * ends with the target wholly old or wholly new and, after the next run, no leftover schema.
 */

import { assertEquals, assertOk, assertRejects, assertStringIncludes } from "./_assert.ts";
import { client, schemaNames } from "./_servers.ts";
import { assertWhole, startLockServer, TABLES, withWide } from "./_wide.ts";
import { runJob } from "../lib/mod.ts";
import { JobError } from "../lib/errors.ts";

Deno.test("more tables than the target's lock table holds: first run, refresh, failure, each whole", async () => {
  await withWide("many", async ({ pair, target, job }) => {
    await runJob(job(), { name: "first" });
    await assertWhole(target, "v1");
    assertEquals(await schemaNames(target), ["public", "wide"]);
    // The structure step's transactions each create a few tables (the lock table is small): the
    // copy step loaded the first table before the structure step created the last one (their
    // transaction IDs: the rows' xmin, the row type's, which nothing rewrites later).
    const [{ loaded, created }] = await target.unsafe(
      `SELECT (SELECT min(xmin::text::bigint) FROM wide.t0) AS loaded,
              (SELECT xmin::text::bigint FROM pg_type
                WHERE typrelid = 'wide.t${TABLES - 1}'::regclass) AS created`,
    );
    assertOk(
      Number(loaded) < Number(created),
      `t0 loaded in ${loaded}, last created in ${created}`,
    );

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

Deno.test("tables of many indexes: no transaction on either server keeps more than its share of locks", async () => {
  // A read of a table, or its ANALYZE, locks it and each of its indexes until the transaction
  // ends. The plan's probes, the copy workers, post-data's orphan counts and ANALYZE counted 4
  // locks a table (3 a key):
  // 25 tables of 31 indexes in one transaction took twice the whole lock table (out of shared
  // memory, on the source, then on the target).
  const [server, target] = await Promise.all([
    startLockServer("source-locks", 40),
    startLockServer("target-locks", 40),
  ]);
  try {
    for (const [on, db] of [[server, "indexed"], [target, "target"]] as const) {
      const admin = client(on.url(), 1);
      await admin.unsafe(`CREATE DATABASE ${db}`);
      await admin.end();
    }
    const source = client(server.url("indexed"));
    // A table a transaction: the fixture in one would not fit the lock table either. Extended
    // statistics leave each table's ANALYZE to post-data.
    await source.unsafe("CREATE SCHEMA app");
    for (let t = 0; t < 30; t++) {
      const columns = Array.from({ length: 30 }, (_, c) => `c${c}`);
      await source.unsafe(
        `CREATE TABLE app.t${t} (id int PRIMARY KEY, ${columns.map((c) => `${c} int`).join(", ")}${
          t ? `, FOREIGN KEY (c1) REFERENCES app.t${t - 1}` : ""
        });
INSERT INTO app.t${t} (id, c0, c1) VALUES (1, ${t}, ${t ? 1 : "NULL"});
CREATE STATISTICS app.t${t}_c ON c0, c1 FROM app.t${t};
${columns.map((c) => `CREATE INDEX ON app.t${t} (${c});`).join("\n")}`,
      ).simple();
    }
    await source.end();
    const report = await runJob({
      source: { database: server.url("indexed"), schema: "app" },
      target: { database: target.url("target"), schema: "app" },
      // A filter: each key's orphans are counted, a scan of both its tables.
      tables: { "*": { where: "id > 0" } },
    }, { name: "indexed", jobs: 1 });
    assertEquals(report.tables.length, 30);
    const check = client(target.url("target"), 1);
    const [row] = await check`
      SELECT (SELECT c0 FROM app.t29) + (SELECT c0 FROM app.t3) AS n,
             (SELECT count(*)::int FROM pg_stats WHERE schemaname = 'app' AND attname = 'c0') AS analysed`;
    await check.end();
    assertEquals(row, { n: 32, analysed: 30 });
  } finally {
    await Promise.all([server.stop(), target.stop()]);
  }
});
