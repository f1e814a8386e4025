import { assertEquals, assertStringIncludes, assertThrows } from "./_assert.ts";
import { validateJobs } from "../lib/config.ts";
import { ConfigError } from "../lib/errors.ts";
import type { Column, SchemaCatalog, Table } from "../lib/catalog.ts";
import { copyInFor, planTables } from "../lib/plan.ts";

function col(name: string, extra: Partial<Column> = {}): Column {
  return {
    name,
    type: "integer",
    typeOid: 23,
    generated: false,
    identity: "",
    binarySafe: true,
    ...extra,
  };
}
function table(oid: number, name: string, columns: Column[], extra: Partial<Table> = {}): Table {
  return {
    oid,
    name,
    partitioned: false,
    owner: "o",
    rows: 10,
    bytes: 100,
    rowSecurity: false,
    columns,
    ...extra,
  };
}

const CATALOG: SchemaCatalog = {
  schema: "app",
  oid: 1,
  tables: [
    table(10, "users", [
      col("id"),
      col("tenant_id"),
      col("email", { type: "text" }),
      col("dbl", { generated: true }),
    ], { bytes: 50 }),
    table(11, "Order Items", [
      col("id"),
      col("tenant_id"),
      col("tags", { type: "app.mood[]", binarySafe: false }),
    ], { bytes: 500 }),
    table(12, "events", [col("id"), col("at", { type: "date" })], {
      partitioned: true,
      bytes: 300,
    }),
    table(13, "events_2024", [col("id"), col("at", { type: "date" })], {
      parentOid: 12,
      bytes: 300,
    }),
    table(14, "plain", [col("id")], { bytes: 0 }),
  ],
};

function job(tables: Record<string, unknown>) {
  return validateJobs({
    j: {
      source: { database: "postgres://h/a", schema: "app" },
      target: { database: "postgres://h/b", schema: "t" },
      tables,
    },
  })[0];
}

Deno.test("the wildcard takes every root table, largest first, partitions through their parent", () => {
  const plans = planTables(job({ "*": {} }), CATALOG);
  assertEquals(plans.map((p) => p.table.name), ["Order Items", "events", "users", "plain"]);
});

Deno.test("generated columns are left out of both statements", () => {
  const [users] = planTables(job({ users: {} }), CATALOG);
  assertEquals(users.columns, ["id", "tenant_id", "email"]);
  assertEquals(
    users.copyOut,
    'COPY (SELECT "id", "tenant_id", "email" FROM ONLY "app"."users") TO STDOUT',
  );
  assertEquals(copyInFor(users, "sh"), 'COPY "sh"."users" ("id", "tenant_id", "email") FROM STDIN');
});

Deno.test("wildcard keys apply where the column exists; named entries override", () => {
  const plans = planTables(
    job({ "*": { where: { tenant_id: 7 } }, users: { where: { tenant_id: 8 } } }),
    CATALOG,
  );
  const sql = Object.fromEntries(plans.map((p) => [p.table.name, p.copyOut]));
  assertStringIncludes(sql.users, 'WHERE "tenant_id" = 8');
  assertStringIncludes(sql["Order Items"], 'WHERE "tenant_id" = 7');
  assertEquals(sql.plain.includes("WHERE"), false);
});

Deno.test("a named partition whose parent is chosen is not copied twice", () => {
  const plans = planTables(job({ events: {}, events_2024: {} }), CATALOG);
  assertEquals(plans.map((p) => p.table.name), ["events"]);
  assertStringIncludes(plans[0].copyOut, 'FROM "app"."events"');
  const alone = planTables(job({ events_2024: {} }), CATALOG);
  assertStringIncludes(alone[0].copyOut, 'FROM ONLY "app"."events_2024"');
});

Deno.test("missing tables and columns are listed with what exists", () => {
  const error = assertThrows(
    () =>
      planTables(
        job({ Users: {}, users: { where: { nope: 1 }, select: { emial: "'x'", dbl: "1" } } }),
        CATALOG,
      ),
    ConfigError,
  ) as ConfigError;
  assertEquals(error.issues, [
    'jobs["j"].tables.Users: no table "Users" in schema "app" of the source (did you mean "users"?) (tables there: users, Order Items, events, events_2024, plain)',
    'jobs["j"].tables.users.where.nope: no column "nope" in table "users" (columns: id, tenant_id, email, dbl)',
    'jobs["j"].tables.users.select.emial: no column "emial" in table "users" (columns: id, tenant_id, email, dbl)',
    'jobs["j"].tables.users.select.dbl: column "dbl" is generated; the target computes it from the other columns',
  ]);
});

Deno.test("format auto uses binary only where every column is binary-safe", () => {
  const plans = planTables(job({ "*": {} }), CATALOG, "auto");
  const format = Object.fromEntries(plans.map((p) => [p.table.name, p.format]));
  assertEquals(format, {
    "Order Items": "text",
    events: "binary",
    users: "binary",
    plain: "binary",
  });
  assertStringIncludes(plans[1].copyOut, "(FORMAT binary)");
});
