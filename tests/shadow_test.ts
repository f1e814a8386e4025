import { assertEquals, assertOk } from "./_assert.ts";
import {
  analyzeSql,
  constraintUsingIndexSql,
  createIndexSql,
  dropSchemaSql,
  foreignKeyNotValidSql,
  jobDance,
  markShadowSql,
  newToken,
  orphanCountSql,
  parseMarker,
  renameDance,
  setvalSql,
  shadowName,
  shadowNames,
  swapSql,
  truncateSql,
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
      owner: "pg_database_owner",
      extensionsInTarget: ["citext"],
      grants: ['GRANT USAGE ON SCHEMA "t" TO app'],
      comment: "data",
    }),
    [
      'ALTER EXTENSION "citext" SET SCHEMA "sh"',
      'DROP SCHEMA "t" CASCADE',
      'ALTER SCHEMA "sh" RENAME TO "t"',
      'ALTER SCHEMA "t" OWNER TO "pg_database_owner"',
      `COMMENT ON SCHEMA "t" IS 'data'`,
      'GRANT USAGE ON SCHEMA "t" TO app',
    ],
  );
  assertEquals(
    swapSql({
      shadow: "sh",
      target: "t",
      owner: null,
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
      owner: null,
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

Deno.test("shadowNames: one token for the shadow and the aside name", () => {
  const { shadow, aside } = shadowNames("staging");
  const token = aside.slice("_pgxmat_aside_".length);
  assertEquals(shadow, shadowName("staging", token));
  assertOk(/^[0-9a-f]{8}$/.test(token));
});

Deno.test("jobDance: the target's own schema of the source's name set aside; extensions placed", () => {
  const names = { shadow: "sh", old: "old", aside: "aside" };
  const target = {
    schemas: new Set(["acme", "ext"]),
    extensions: new Map([["citext", "ext"], ["hstore", "acme"]]),
  };
  const extensions = [
    { name: "citext", schema: "acme" },
    { name: "hstore", schema: "acme" },
    { name: "ltree", schema: "public" },
  ];
  assertEquals(jobDance(names, "acme", extensions, target), {
    sourceSchema: "acme",
    shadow: "sh",
    aside: "aside",
    create: undefined,
    extensions: [
      { name: "citext", sourceSchema: "acme", targetSchema: "ext" },
      { name: "hstore", sourceSchema: "acme", targetSchema: "acme" },
      { name: "ltree", sourceSchema: "public", targetSchema: undefined },
    ],
  });
  const fresh = { schemas: new Set<string>(), extensions: new Map<string, string>() };
  assertEquals(jobDance(names, "acme", [], fresh).aside, undefined);
});

Deno.test("statements on the shadow's tables quote every name", () => {
  assertEquals(dropSchemaSql('a"b'), 'DROP SCHEMA IF EXISTS "a""b" CASCADE');
  assertEquals(truncateSql("sh", "Order Items"), 'TRUNCATE ONLY "sh"."Order Items"');
  assertEquals(analyzeSql("sh", "t"), 'ANALYZE "sh"."t"');
  assertEquals(
    setvalSql("sh", { name: "Seq'1", lastValue: "9007199254740993", isCalled: false }),
    `SELECT pg_catalog.setval('"sh"."Seq''1"'::regclass, 9007199254740993, false)`,
  );
  assertEquals(
    foreignKeyNotValidSql("sh", {
      table: "orders",
      name: "orders_customer_fkey",
      definition: "FOREIGN KEY (customer_id) REFERENCES customers(id)",
    }),
    'ALTER TABLE "sh"."orders" ADD CONSTRAINT "orders_customer_fkey" ' +
      "FOREIGN KEY (customer_id) REFERENCES customers(id) NOT VALID",
  );
});

Deno.test("orphanCountSql: rows with every key column set and no parent", () => {
  assertEquals(
    orphanCountSql("sh", {
      table: "lines",
      columns: ["order_id", "Line"],
      refTable: "orders",
      refColumns: ["id", "line"],
    }),
    'SELECT count(*)::int8 AS n FROM "sh"."lines" c WHERE c."order_id" IS NOT NULL AND ' +
      'c."Line" IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "sh"."orders" p WHERE ' +
      'p."id" = c."order_id" AND p."line" = c."Line")',
  );
});

Deno.test("an index built apart: pg-xmat's CREATE INDEX on the shadow, PostgreSQL's rest", () => {
  const index = {
    name: "Orders_pkey",
    table: "Orders",
    unique: true,
    prefix: 'CREATE UNIQUE INDEX "Orders_pkey" ON acme."Orders" USING ',
    definition: 'CREATE UNIQUE INDEX "Orders_pkey" ON acme."Orders" USING btree (id)',
  };
  assertEquals(
    createIndexSql("sh", index),
    'CREATE UNIQUE INDEX "Orders_pkey" ON "sh"."Orders" USING btree (id)',
  );
  assertEquals(
    constraintUsingIndexSql("sh", "Orders", "Orders_pkey", {
      name: "Orders_pkey",
      type: "p",
      deferrable: false,
      deferred: false,
    }),
    'ALTER TABLE ONLY "sh"."Orders" ADD CONSTRAINT "Orders_pkey" PRIMARY KEY USING INDEX "Orders_pkey"',
  );
  assertEquals(
    constraintUsingIndexSql("sh", "t", "t_u", {
      name: "t_u",
      type: "u",
      deferrable: true,
      deferred: true,
    }),
    'ALTER TABLE ONLY "sh"."t" ADD CONSTRAINT "t_u" UNIQUE USING INDEX "t_u" DEFERRABLE INITIALLY DEFERRED',
  );
});
