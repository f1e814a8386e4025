/**
 * The swap step on a real server: the shadow schema takes the target schema's place with its
 * privileges and comment; a reader that holds a lock makes it retry and then fail without
 * changing anything; dependents outside the target schema are refused, or dropped with cascade.
 */

import { assertEquals, assertRejects } from "./_assert.ts";
import { exec, withPair } from "./_servers.ts";
import { openClient } from "../lib/connect.ts";
import { DependentsError, SwapError } from "../lib/errors.ts";
import { swapShadow } from "../lib/steps/swap.ts";

const SETUP = `
  CREATE SCHEMA staging; CREATE TABLE staging.t (v text); INSERT INTO staging.t VALUES ('old');
  COMMENT ON SCHEMA staging IS 'kept';
  GRANT USAGE ON SCHEMA staging TO PUBLIC; GRANT SELECT ON staging.t TO PUBLIC;
  CREATE SCHEMA sh; CREATE TABLE sh.t (v text); INSERT INTO sh.t VALUES ('new');`;

/** The swap on a fresh session of `url`. */
async function swapOn(url: string, options: { cascade?: boolean; attempts?: number } = {}) {
  const sql = await openClient("target", url, { max: 1 });
  const conn = await sql.reserve();
  try {
    const swapped = await swapShadow(conn, {
      names: { shadow: "sh", old: "_pgxmat_old_x_staging", aside: "_pgxmat_aside_x" },
      target: "staging",
      cascade: options.cascade ?? false,
      budget: 1000,
      marker: { pgxmat: "old", target: "staging", job: "j", started: "2026-01-01T00:00:00Z" },
      lockTimeoutMs: 100,
      attempts: options.attempts ?? 6,
    });
    return swapped.dependents;
  } finally {
    conn.release();
    await sql.end({ timeout: 5 });
  }
}

Deno.test("swap: the shadow becomes the target schema, with its privileges and comment", async () => {
  await withPair("swap-ok", async (pair) => {
    await exec(pair.target, SETUP);
    assertEquals(await swapOn(pair.targetUrl), []);
    const [row] = await pair.target`
      SELECT (SELECT v FROM staging.t) AS v, obj_description('staging'::regnamespace) AS comment,
             has_schema_privilege('public', 'staging', 'USAGE') AS usage,
             has_table_privilege('public', 'staging.t', 'SELECT') AS reads,
             to_regnamespace('sh') IS NULL AS renamed`;
    assertEquals(row, { v: "new", comment: "kept", usage: true, reads: true, renamed: true });
  });
});

Deno.test("swap: a lock held by a reader makes it retry, then fail with the target untouched", async () => {
  await withPair("swap-locked", async (pair) => {
    await exec(pair.target, SETUP);
    const reader = await pair.target.reserve();
    try {
      await reader.unsafe("BEGIN");
      await reader.unsafe("LOCK TABLE staging.t IN ACCESS SHARE MODE");
      await assertRejects(
        () => swapOn(pair.targetUrl, { attempts: 2 }),
        SwapError,
        'could not lock target schema "staging" in 2 attempts',
      );
      await reader.unsafe("COMMIT");
    } finally {
      reader.release();
    }
    const [row] = await pair.target`SELECT v FROM staging.t`;
    assertEquals(row.v, "old");
  });
});

Deno.test("swap: dependents outside the target are refused, or dropped with cascade", async () => {
  await withPair("swap-dependents", async (pair) => {
    await exec(
      pair.target,
      `${SETUP}; CREATE SCHEMA other; CREATE VIEW other.v AS SELECT v FROM staging.t;`,
    );
    await assertRejects(() => swapOn(pair.targetUrl), DependentsError, "view other.v");
    assertEquals(await swapOn(pair.targetUrl, { cascade: true }), [
      "view other.v (depends on table staging.t)",
    ]);
    const [row] = await pair.target`SELECT to_regclass('other.v') IS NULL AS gone`;
    assertEquals(row.gone, true);
  });
});
