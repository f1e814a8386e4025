/**
 * The target's queries (`lib/target_sql.ts`): each whole, with exactly the parameters its
 * callers pass (names are parameters, never inlined).
 */

import { assertEquals } from "./_assert.ts";
import { assertWellFormed, parameters } from "./_sql_shape.ts";
import * as target from "../lib/target_sql.ts";

Deno.test("target queries: whole, each with the parameters its callers pass", () => {
  const expected: Record<string, number> = {
    LOCK_TARGET_SQL: 2,
    LOCK_NAME_SQL: 2,
    NAME_HOLDER_SQL: 2,
    UNLOCK_NAME_SQL: 2,
    SCHEMA_OWNER_SQL: 1,
    SCHEMAS_SQL: 0,
    EXTENSIONS_SQL: 0,
    DEPENDENTS_SQL: 2,
    DEFAULT_PRIVILEGES_SQL: 1,
    LEFTOVERS_SQL: 2,
    LOCK_HOLDERS_SQL: 1,
    OLD_SCHEMA_SQL: 2,
    TARGET_IDENTITY_SQL: 0,
    SAME_DATABASE_SQL: 3,
    MAY_FLUSH_STATS_SQL: 0,
    FLUSH_STATS_SQL: 0,
  };
  assertEquals(Object.keys(target).sort(), Object.keys(expected).sort());
  for (const [name, sql] of Object.entries(target)) assertWellFormed(sql, expected[name], name);
});

Deno.test("parameters: what a literal or a quoted name holds is no parameter", () => {
  assertEquals(parameters(`SELECT $2, '$3', "$4" -- $5\n, $1`), [1, 2]);
});
