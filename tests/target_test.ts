/**
 * The target-side reads, on a real server: the lock that keeps two runs off one target schema,
 * the same-database check, the schemas and extensions, dependents outside the target schema,
 * default privileges, and the leftovers of killed runs.
 */

import { assertEquals } from "./_assert.ts";
import { exec, withPair } from "./_servers.ts";
import { type Conn, openClient, type Sql } from "../lib/connect.ts";
import { markShadowSql } from "../lib/shadow.ts";
import {
  dropLeftovers,
  findDependents,
  foreignDefaultPrivileges,
  lockTarget,
  readTargetState,
  sameDatabase,
} from "../lib/target.ts";

/** Two sessions of one database, closed after `fn`. */
async function withSessions(
  url: string,
  fn: (a: Conn, b: Conn, sql: Sql) => Promise<void>,
): Promise<void> {
  const sql = await openClient("target", url, { max: 3 });
  const [a, b] = [await sql.reserve(), await sql.reserve()];
  try {
    await fn(a, b, sql);
  } finally {
    a.release();
    b.release();
    await sql.end({ timeout: 5 });
  }
}

Deno.test("target lock: one session per target schema; the same database is recognised by it", async () => {
  await withPair("target-lock", async (pair) => {
    await withSessions(pair.targetUrl, async (a, b) => {
      assertEquals(await lockTarget(a, "staging"), true);
      assertEquals(await lockTarget(b, "staging"), false);
      assertEquals(await lockTarget(b, "other"), true);
      assertEquals(await sameDatabase(b, a, "staging"), true);
      assertEquals(await sameDatabase(b, a, "nothing"), false);
    });
    // The source's database (another server) holds no such lock.
    await withSessions(pair.targetUrl, async (lock) => {
      assertEquals(await lockTarget(lock, "staging"), true);
      const source = await openClient("source", pair.sourceUrl, { max: 1 });
      const conn = await source.reserve();
      try {
        assertEquals(await sameDatabase(conn, lock, "staging"), false);
      } finally {
        conn.release();
        await source.end({ timeout: 5 });
      }
    });
  });
});

Deno.test("target state, dependents outside the schema, default privileges", async () => {
  await withPair("target-reads", async (pair) => {
    await exec(
      pair.target,
      `CREATE SCHEMA staging; CREATE TABLE staging.users (id int PRIMARY KEY);
       CREATE SCHEMA other; CREATE VIEW other.v AS SELECT id FROM staging.users;
       CREATE EXTENSION IF NOT EXISTS plpgsql;`,
    );
    await withSessions(pair.targetUrl, async (conn) => {
      const state = await readTargetState(conn);
      assertEquals([state.schemas.has("staging"), state.schemas.has("nope")], [true, false]);
      assertEquals(state.extensions.get("plpgsql"), "pg_catalog");
      assertEquals(await findDependents(conn, "staging"), [
        "view other.v (depends on table staging.users)",
      ]);
      assertEquals(await findDependents(conn, "other"), []);
      const privileges = await foreignDefaultPrivileges(conn, "staging");
      assertEquals(privileges.owners, []);
    });
  });
});

Deno.test("leftovers: only the marked shadows of this target are dropped", async () => {
  await withPair("target-leftovers", async (pair) => {
    const marker = (target: string) => ({
      pgxmat: "shadow" as const,
      target,
      job: "j",
      started: "2026-01-01T00:00:00Z",
    });
    await exec(
      pair.target,
      `CREATE SCHEMA _pgxmat_shadow_a_staging; ${
        markShadowSql("_pgxmat_shadow_a_staging", marker("staging"))
      };
       CREATE SCHEMA _pgxmat_shadow_b_other; ${
        markShadowSql("_pgxmat_shadow_b_other", marker("other"))
      };
       CREATE SCHEMA _pgxmat_shadow_c_staging;
       CREATE TABLE _pgxmat_shadow_a_staging.t (id int);`,
    );
    await withSessions(pair.targetUrl, async (conn) => {
      const { dropped, kept } = await dropLeftovers(conn, "staging", { budget: 1000 });
      assertEquals([dropped, kept], [["_pgxmat_shadow_a_staging"], []]);
      const left = await conn`
        SELECT nspname FROM pg_namespace WHERE nspname LIKE '\\_pgxmat%' ORDER BY 1`;
      assertEquals(left.map((r) => r.nspname), [
        "_pgxmat_shadow_b_other",
        "_pgxmat_shadow_c_staging",
      ]);
    });
  });
});
