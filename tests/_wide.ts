/**
 * The many-tables fixture: a schema with more tables than the target's lock table holds in one
 * transaction, and a target server started with the smallest lock table PostgreSQL allows, so
 * that the fixture stays small.
 *
 * @module
 */

import { assertEquals } from "./_assert.ts";
import { client, exec, freshPair, type Pair } from "./_servers.ts";
import { type Cluster, startCluster } from "../scripts/clusters.ts";
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
export const TABLES = 60;

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

/**
 * A server with the smallest lock table PostgreSQL allows per connection: about 10 ×
 * (`connections` + 2) entries.
 */
export function startLockServer(name: string, connections = 10): Promise<Cluster> {
  return startCluster(name, {
    settings: { ...SMALL_LOCK_TABLE, max_connections: connections },
  });
}

/** A many-tables fixture: the source pair and the small-lock-table target. */
export interface Wide {
  pair: Pair;
  /** The small-lock-table server's database, as the job's target. */
  targetUrl: string;
  target: postgres.Sql;
  job(extra?: Partial<Job>): Job;
}

/** Runs `fn` on a fresh fixture; stops its server afterwards. */
export async function withWide(name: string, fn: (w: Wide) => Promise<void>): Promise<void> {
  let server: Cluster | undefined;
  const pair = await freshPair(name);
  let target: postgres.Sql | undefined;
  try {
    server = await startLockServer("locks");
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

/** The target holds every table, `v` in the last one, every key valid. */
export async function assertWhole(sql: postgres.Sql, v: string): Promise<void> {
  assertEquals(await tableCount(sql, "wide"), TABLES);
  assertEquals(await lastValue(sql), v);
  const [keys] = await sql`
    SELECT count(*)::int AS n, count(*) FILTER (WHERE convalidated)::int AS valid
      FROM pg_constraint WHERE connamespace = 'wide'::regnamespace AND contype = 'f'`;
  assertEquals(keys, { n: TABLES - 1, valid: TABLES - 1 });
}
