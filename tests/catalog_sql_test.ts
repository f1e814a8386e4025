/**
 * The plan step's catalog queries (`lib/catalog_sql.ts`): each whole for its parameters, names
 * quoted, OIDs inlined only as integers, literals escaped.
 */

import { assertEquals, assertStringIncludes, assertThrows } from "./_assert.ts";
import { assertWellFormed } from "./_sql_shape.ts";
import {
  columnsSql,
  indexesSql,
  LARGE_OBJECTS_SQL,
  largeObjectRefsSql,
  oidArray,
  oidColumnsSql,
  rowTriggersSql,
  SCHEMA_SQL,
  sequenceValueSql,
  tableLockersSql,
  tableSizesSql,
  tablesSql,
  transactionTimesSql,
  volatileFunctionsSql,
} from "../lib/catalog_sql.ts";

Deno.test("oidArray: integers only, inlined as an oid[] literal", () => {
  assertEquals(oidArray([16385, 16390]), "'{16385,16390}'::oid[]");
  assertEquals(oidArray([]), "'{}'::oid[]");
  assertThrows(() => oidArray([1.5]), TypeError);
  assertThrows(() => oidArray([-1]), TypeError);
});

Deno.test("catalog queries: whole, the schema name a parameter, OIDs inlined", () => {
  assertWellFormed(SCHEMA_SQL, 1);
  assertStringIncludes(SCHEMA_SQL, "WHERE nspname = $1");
  assertWellFormed(LARGE_OBJECTS_SQL, 0);
  for (const [sql, what] of [[tablesSql(2200), "c.relnamespace = 2200"]] as const) {
    assertWellFormed(sql, 0);
    assertStringIncludes(sql, what);
  }
  // Catalog rows only: a size, or a partition tree read by function, opens or locks tables.
  for (const opens of ["pg_table_size", "pg_relation_size", "pg_partition_tree"]) {
    assertEquals(tablesSql(2200).includes(opens), false, opens);
  }
  for (const build of [columnsSql, indexesSql, oidColumnsSql, rowTriggersSql, tableSizesSql]) {
    const sql = build([16390, 16402]);
    assertWellFormed(sql, 0, build.name);
    assertStringIncludes(sql, "= ANY('{16390,16402}'::oid[])");
    assertThrows(() => build([Number.NaN]), TypeError);
  }
});

Deno.test("who locks the tables a job reads: ACCESS EXCLUSIVE, by other sessions, partitions too", () => {
  const sql = tableLockersSql([16390, 16402]);
  assertWellFormed(sql, 0);
  assertStringIncludes(sql, "unnest('{16390,16402}'::oid[])");
  assertStringIncludes(sql, "JOIN pg_inherits i ON i.inhparent = tree.relid");
  assertStringIncludes(sql, "l.mode = 'AccessExclusiveLock'");
  assertStringIncludes(sql, "l.pid <> pg_backend_pid()");
  assertStringIncludes(sql, "clock_timestamp() - COALESCE(a.xact_start, a.backend_start)");
  assertThrows(() => tableLockersSql([-1]), TypeError);
});

Deno.test("sequence values and large object references: names quoted", () => {
  const value = sequenceValueSql('Sh"op', "order id_seq");
  assertWellFormed(value, 0);
  assertEquals(value, 'SELECT last_value::text AS v, is_called FROM "Sh""op"."order id_seq"');
  const refs = largeObjectRefsSql("shop", "Docs", 'bo"dy');
  assertWellFormed(refs, 0);
  assertStringIncludes(refs, 'FROM "shop"."Docs" t');
  assertStringIncludes(refs, 'ON m.oid = t."bo""dy"::oid');
});

Deno.test("subset's where: transaction times as text, volatile names as escaped literals", () => {
  const times = transactionTimesSql(["now", "current_date", "localtimestamp"]);
  assertWellFormed(times, 0);
  assertEquals(
    times,
    "SELECT now()::text AS now, current_date::text AS current_date, " +
      "localtimestamp::text AS localtimestamp",
  );
  const volatile = volatileFunctionsSql(["random", "it's"]);
  assertWellFormed(volatile, 0);
  assertStringIncludes(volatile, "provolatile = 'v' AND proname IN ('random', 'it''s')");
});
