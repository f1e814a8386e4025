/**
 * The queries that read the source schema's objects (`lib/source_objects_sql.ts`): each whole,
 * the schema's name an escaped literal, OIDs inlined only as integers, the routines' body read
 * as the server's version allows.
 */

import { assertEquals, assertStringIncludes, assertThrows } from "./_assert.ts";
import { assertWellFormed } from "./_sql_shape.ts";
import * as objects from "../lib/source_objects_sql.ts";

Deno.test("objects.structureWalkSql: the roots and the schema inlined, its name an escaped literal", () => {
  const sql = objects.structureWalkSql([16390, 16402], 2200, "Sh'op");
  assertWellFormed(sql, 0);
  assertStringIncludes(sql, "FROM unnest('{16390,16402}'::oid[]) r");
  assertStringIncludes(sql, "WHERE pronamespace = 2200");
  assertStringIncludes(sql, "o.schema = quote_ident('Sh''op') AS in_schema");
  assertEquals(sql.includes(objects.rootsSql("'{16390,16402}'::oid[]", 2200)), true);
  assertThrows(() => objects.structureWalkSql([-1], 2200, "s"), TypeError);
});

Deno.test("the schema's relations, sequences, statistics, keys, routines and casts: whole", () => {
  for (
    const build of [
      objects.schemaRelationsSql,
      objects.schemaSequencesSql,
      objects.schemaRelationNamesSql,
      objects.castsSql,
    ]
  ) {
    const sql = build(2200);
    assertWellFormed(sql, 0, build.name);
    assertStringIncludes(sql, "2200");
  }
  for (
    const build of [
      objects.tablesWithPartitionsSql,
      objects.extendedStatisticsSql,
      objects.foreignKeysSql,
    ]
  ) {
    const sql = build([16390]);
    assertWellFormed(sql, 0, build.name);
    assertStringIncludes(sql, "'{16390}'::oid[]");
  }
  assertStringIncludes(objects.foreignKeysSql([1, 2]), "c.conrelid = ANY('{1,2}'::oid[])");
  const newer = objects.routinesSql([16500], 140000);
  const older = objects.routinesSql([16500], 130000);
  for (const sql of [newer, older]) assertWellFormed(sql, 0);
  assertStringIncludes(newer, "CASE WHEN p.prosqlbody IS NULL THEN p.prosrc ELSE '' END");
  assertEquals(older.includes("prosqlbody"), false, "PostgreSQL 13 has no prosqlbody");
});
