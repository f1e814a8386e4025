/**
 * A schema with more tables than the target's lock table holds in one transaction: a target
 * server started with the smallest lock table PostgreSQL allows, so that the fixture stays
 * small. Every run ends with the target wholly old or wholly new and, after the next run, no
 * leftover schema.
 */

import { assertEquals, assertOk, assertRejects, assertStringIncludes } from "./_assert.ts";
import { client, exec, freshPair, type Pair, schemaNames } from "./_servers.ts";
import { type Cluster, startCluster } from "../scripts/clusters.ts";
import { runJob } from "../lib/mod.ts";
import { JobError } from "../lib/errors.ts";
import type { Job } from "../lib/types.ts";
import type postgres from "postgres";

/**
 * `max_locks_per_transaction` at its minimum, and as few server processes as a job needs: the
 * lock table holds about 10 × 12 entries.
 */
const SMALL_LOCK_TABLE = {
  max_locks_per_transaction: 10,
  max_connections: 10,
  autovacuum_max_workers: 1,
  max_worker_processes: 0,
  max_wal_senders: 0,
  wal_level: "minimal",
};
/**
 * Tables of the fixture: each has a primary key, an index, a foreign key and a TOAST table, so
 * that creating or dropping them all in one transaction takes several times the lock table.
 */
const TABLES = 60;

function fixture(tables: number): string {
  let sql = "CREATE SCHEMA wide;\n";
  for (let i = 0; i < tables; i++) {
    sql += `CREATE TABLE wide.t${i} (id int PRIMARY KEY, v text, prev int${
      i ? ` REFERENCES wide.t${i - 1}` : ""
    });
CREATE INDEX ON wide.t${i} (v);
INSERT INTO wide.t${i} SELECT g, 'v' || g, ${i ? "g" : "NULL"} FROM generate_series(1, 20) g;\n`;
  }
  return sql;
}

interface Wide {
  pair: Pair;
  /** The small-lock-table server's database, as the job's target. */
  targetUrl: string;
  target: postgres.Sql;
  job(extra?: Partial<Job>): Job;
}

async function withWide(name: string, fn: (w: Wide) => Promise<void>): Promise<void> {
  let server: Cluster | undefined;
  const pair = await freshPair(name);
  let target: postgres.Sql | undefined;
  try {
    server = await startCluster("locks", { settings: SMALL_LOCK_TABLE });
    await exec(pair.source, fixture(TABLES));
    const admin = client(server.url(), 1);
    await admin.unsafe("CREATE DATABASE wide");
    await admin.end();
    const targetUrl = server.url("wide");
    target = client(targetUrl);
    const job = (extra: Partial<Job> = {}): Job => ({
      source: { database: pair.sourceUrl, schema: "wide" },
      target: { database: targetUrl, schema: "wide" },
      tables: { "*": {} },
      ...extra,
    });
    await fn({ pair, targetUrl, target, job });
  } finally {
    await target?.end();
    await pair.close();
    await server?.stop();
  }
}

async function tableCount(sql: postgres.Sql, schema: string): Promise<number> {
  const [row] = await sql`
    SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = ${schema} AND c.relkind = 'r'`;
  return row.n;
}

async function lastValue(sql: postgres.Sql): Promise<string> {
  const [row] = await sql.unsafe(`SELECT v FROM wide.t${TABLES - 1} WHERE id = 1`);
  return row.v;
}

async function assertWhole(sql: postgres.Sql, v: string): Promise<void> {
  assertEquals(await tableCount(sql, "wide"), TABLES);
  assertEquals(await lastValue(sql), v);
  const [keys] = await sql`
    SELECT count(*)::int AS n, count(*) FILTER (WHERE convalidated)::int AS valid
      FROM pg_constraint WHERE connamespace = 'wide'::regnamespace AND contype = 'f'`;
  assertEquals(keys, { n: TABLES - 1, valid: TABLES - 1 });
}

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
