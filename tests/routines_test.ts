/**
 * Routines a job brings: `SET search_path` naming the source schema moved to the target schema,
 * bodies naming it warned about; the search path's elements and the pattern that finds a schema's
 * name in SQL text. Pure; the jobs that bring routines are in `schema_objects_test.ts`.
 */

import { assertEquals, assertOk, assertStringIncludes } from "./_assert.ts";
import { namesSchema, routineNotes, searchPathElements } from "../lib/routines.ts";

Deno.test("routineNotes: SET search_path naming the source schema moves; bodies naming it warn", () => {
  const routines = [
    { identity: "s.a()", kind: "f", language: "plpgsql", config: ["search_path=s"], source: "x" },
    {
      identity: "s.b(integer)",
      kind: "p",
      language: "sql",
      config: ['search_path="$user", s, pg_temp', "work_mem=1MB"],
      source: "INSERT INTO S.t VALUES (1)",
    },
    { identity: "s.c()", kind: "f", language: "sql", config: [], source: "SELECT 1 FROM bus.t" },
    { identity: "s.d()", kind: "f", language: "c", config: [], source: "s.d" },
  ];
  const notes = routineNotes(routines, "s", "Staging");
  assertEquals(notes.alter.map((a) => a.split("\n")[1]), [
    'ALTER FUNCTION s.a() SET search_path = "Staging"',
    'ALTER PROCEDURE s.b(integer) SET search_path = "$user", "Staging", pg_temp',
  ]);
  assertEquals(notes.moved, ["s.a()", "s.b(integer)"]);
  assertEquals(notes.warnings.length, 1);
  assertStringIncludes(notes.warnings[0], 'procedure s.b(integer) names schema "s" in its body');
  assertEquals(routineNotes(routines, "s", "s"), { alter: [], moved: [], warnings: [] });
});

Deno.test("searchPathElements and namesSchema", () => {
  assertEquals(searchPathElements('"$user", shop, "Odd, ""Name"""'), [
    '"$user"',
    "shop",
    '"Odd, ""Name"""',
  ]);
  assertEquals(searchPathElements(""), []);
  const lower = namesSchema("shop");
  assertOk(lower.test("SELECT * FROM shop.orders"));
  assertOk(lower.test('SELECT * FROM "shop" . orders'));
  assertOk(lower.test("SELECT * FROM SHOP.orders"));
  assertOk(!lower.test("SELECT * FROM workshop.orders"));
  assertOk(!lower.test("SELECT shop FROM t"));
  const mixed = namesSchema("Shop");
  assertOk(mixed.test('SELECT * FROM "Shop".orders'));
  assertOk(!mixed.test("SELECT * FROM Shop.orders"), "unquoted, it names schema shop");
});
