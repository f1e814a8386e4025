import { assertEquals, assertOk } from "./_assert.ts";
import {
  markShadowSql,
  newToken,
  parseMarker,
  renameDance,
  shadowName,
  swapSql,
} from "../lib/shadow.ts";

Deno.test("shadowName is recognisable and fits 63 bytes", () => {
  assertEquals(shadowName("staging", "ab12cd34"), "_pgxmat_shadow_ab12cd34_staging");
  const long = shadowName("ż".repeat(60), "ab12cd34");
  assertOk(new TextEncoder().encode(long).length <= 63);
  assertOk(long.startsWith("_pgxmat_shadow_ab12cd34_ż"));
  assertOk(/^[0-9a-f]{8}$/.test(newToken()));
});

Deno.test("markers round-trip and other comments are not markers", () => {
  const marker = { pgxmat: "shadow" as const, target: "it's", job: "j", started: "2026" };
  assertEquals(
    markShadowSql("sh", marker),
    `COMMENT ON SCHEMA "sh" IS '{"pgxmat":"shadow","target":"it''s","job":"j","started":"2026"}'`,
  );
  assertEquals(parseMarker(JSON.stringify(marker)), marker);
  assertEquals(parseMarker("hello"), undefined);
  assertEquals(parseMarker(null), undefined);
  assertEquals(parseMarker('{"pgxmat":"other"}'), undefined);
});

Deno.test("renameDance: create, rename aside and back", () => {
  const marker = { pgxmat: "shadow" as const, target: "t", job: "j", started: "x" };
  const d = renameDance({
    sourceSchema: "public",
    shadow: "sh",
    aside: "as",
    create: marker,
    extensions: [],
  });
  assertEquals(d.prologue, [
    'CREATE SCHEMA "sh"',
    markShadowSql("sh", marker),
    'ALTER SCHEMA "public" RENAME TO "as"',
    'ALTER SCHEMA "sh" RENAME TO "public"',
  ]);
  assertEquals(d.epilogue, [
    'ALTER SCHEMA "public" RENAME TO "sh"',
    'ALTER SCHEMA "as" RENAME TO "public"',
  ]);
});

Deno.test("renameDance moves extensions to where the DDL names them, and back", () => {
  const d = renameDance({
    sourceSchema: "public",
    shadow: "sh",
    aside: "as",
    extensions: [
      { name: "citext", sourceSchema: "public", targetSchema: "public" }, // in the schema set aside
      { name: "hstore", sourceSchema: "ext", targetSchema: "ext" }, // already right
      { name: "pg_trgm", sourceSchema: "public", targetSchema: undefined }, // missing: created
      { name: "ltree", sourceSchema: "public", targetSchema: "sh" }, // in the shadow: renamed with it
      { name: "cube", sourceSchema: "public", targetSchema: "other" },
    ],
  });
  assertEquals(d.prologue.slice(2), [
    'ALTER EXTENSION "citext" SET SCHEMA "public"',
    'CREATE EXTENSION IF NOT EXISTS "pg_trgm" WITH SCHEMA "public"',
    'ALTER EXTENSION "cube" SET SCHEMA "public"',
  ]);
  assertEquals(d.epilogue, [
    'ALTER EXTENSION "citext" SET SCHEMA "as"',
    'ALTER EXTENSION "cube" SET SCHEMA "other"',
    'ALTER SCHEMA "public" RENAME TO "sh"',
    'ALTER SCHEMA "as" RENAME TO "public"',
  ]);
});

Deno.test("swapSql moves extensions out, drops, renames, keeps comment and grants", () => {
  assertEquals(
    swapSql({
      shadow: "sh",
      target: "t",
      old: { drop: true },
      extensionsInTarget: ["citext"],
      grants: ['GRANT USAGE ON SCHEMA "t" TO app'],
      comment: "data",
    }),
    [
      'ALTER EXTENSION "citext" SET SCHEMA "sh"',
      'DROP SCHEMA "t" CASCADE',
      'ALTER SCHEMA "sh" RENAME TO "t"',
      `COMMENT ON SCHEMA "t" IS 'data'`,
      'GRANT USAGE ON SCHEMA "t" TO app',
    ],
  );
  assertEquals(
    swapSql({
      shadow: "sh",
      target: "t",
      extensionsInTarget: [],
      grants: [],
      comment: null,
    }),
    ['ALTER SCHEMA "sh" RENAME TO "t"', 'COMMENT ON SCHEMA "t" IS NULL'],
  );
});

Deno.test("swapSql renames a large old schema aside, marked for the next run to drop", () => {
  const marker = { pgxmat: "old" as const, target: "t", job: "j", started: "2026-01-01" };
  assertEquals(
    swapSql({
      shadow: "sh",
      target: "t",
      old: { drop: false, name: "_pgxmat_old_x_t", marker },
      extensionsInTarget: [],
      grants: [],
      comment: null,
    }),
    [
      'ALTER SCHEMA "t" RENAME TO "_pgxmat_old_x_t"',
      `COMMENT ON SCHEMA "_pgxmat_old_x_t" IS '${JSON.stringify(marker)}'`,
      'ALTER SCHEMA "sh" RENAME TO "t"',
      'COMMENT ON SCHEMA "t" IS NULL',
    ],
  );
  assertEquals(parseMarker(JSON.stringify(marker)), marker);
});
