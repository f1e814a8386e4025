/**
 * The indexes of the chosen tables, read on a real server: which the copy step may build apart
 * (built-in objects only, nothing pg_dump writes with the index), with the constraint each
 * implements.
 */

import { assertEquals } from "./_assert.ts";
import { exec, withPair } from "./_servers.ts";
import { openClient } from "../lib/connect.ts";
import { readIndexes } from "../lib/indexes.ts";

Deno.test("readIndexes: keys and plain indexes apart; what needs a user function or CLUSTER not", async () => {
  await withPair("indexes", async (pair) => {
    await exec(
      pair.source,
      `CREATE SCHEMA s;
       CREATE FUNCTION s.f(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT $1';
       CREATE TABLE s.t (id int PRIMARY KEY, code text UNIQUE DEFERRABLE INITIALLY DEFERRED, n int);
       CREATE INDEX t_n ON s.t (n);
       CREATE INDEX t_f ON s.t (s.f(n));
       CREATE INDEX t_c ON s.t (n DESC);
       ALTER TABLE s.t CLUSTER ON t_c;`,
    );
    const sql = await openClient("source", pair.sourceUrl, { max: 1 });
    const conn = await sql.reserve();
    try {
      const [{ oid }] = await conn`SELECT 's.t'::regclass::int8 AS oid`;
      const indexes = await readIndexes(conn, [Number(oid)]);
      assertEquals(
        indexes.map((i) => [i.name, i.apart, i.constraint?.type ?? null]),
        [
          ["t_c", false, null],
          ["t_code_key", true, "u"],
          ["t_f", false, null],
          ["t_n", true, null],
          ["t_pkey", true, "p"],
        ],
      );
      const code = indexes.find((i) => i.name === "t_code_key");
      assertEquals([code?.constraint?.deferrable, code?.constraint?.deferred], [true, true]);
      for (const i of indexes) assertEquals(i.definition.startsWith(i.prefix), true);
    } finally {
      conn.release();
      await sql.end({ timeout: 5 });
    }
  });
});
