/**
 * A run killed while it drops a large old schema after its swap: the target is the new schema,
 * and the next run removes what is left of the old one.
 */

import { assertEquals, assertOk } from "./_assert.ts";
import { client, schemaNames } from "./_servers.ts";
import { assertWhole, TABLES, withWide } from "./_wide.ts";
import { runJob } from "../lib/mod.ts";

Deno.test("killed while dropping the old schema: the target is the new one, the next run removes the rest", async () => {
  await withWide("many-kill", async ({ pair, targetUrl, target, job }) => {
    await runJob(job(), { name: "first" });
    await pair.source.unsafe(`UPDATE wide.t${TABLES - 1} SET v = 'second' WHERE id = 1`);
    const dir = await Deno.makeTempDir({ prefix: "pgxmat-many-" });
    try {
      await Deno.writeTextFile(
        `${dir}/pg_xmat_jobs.ts`,
        `export const JOBS = { "wide": ${JSON.stringify(job())} };\n`,
      );
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", new URL("../main.ts", import.meta.url).pathname, "wide"],
        cwd: dir,
        env: { NO_COLOR: "1" },
        stdout: "null",
        stderr: "piped",
        stdin: "null",
      }).spawn();
      // The old schema exists from the swap's commit until its last batch is dropped: kill the
      // run as soon as it appears.
      const watcher = client(targetUrl, 1);
      const deadline = Date.now() + 90_000;
      let seen = false;
      while (!seen && Date.now() < deadline) {
        const rows = await watcher`
          SELECT 1 FROM pg_namespace WHERE starts_with(nspname, '_pgxmat_old_')`;
        seen = rows.length > 0;
        if (!seen) await new Promise((r) => setTimeout(r, 2));
      }
      child.kill("SIGKILL");
      await child.output();
      await watcher.end();
      assertOk(seen, "the old schema never appeared");
      // Killed after the swap: the target is wholly the new one.
      await assertWhole(target, "second");
      const left = (await schemaNames(target)).filter((s) => s.startsWith("_pgxmat_old_"));
      assertEquals(left.length, 1, "the kill landed while the old schema was being dropped");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
    const report = await runJob(job(), { name: "next" });
    assertEquals(report.tables.length, TABLES);
    assertEquals(await schemaNames(target), ["public", "wide"]);
  });
});
