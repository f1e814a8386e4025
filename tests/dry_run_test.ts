/**
 * What a dry run returns, from a plan read elsewhere: the tables with their COPY, the objects of
 * the dump a run would restore, the foreign keys left out (not among the warnings), what only a
 * run checks, passwords redacted. No server.
 */

import { assertEquals, assertOk } from "./_assert.ts";
import type { SchemaCatalog } from "../lib/catalog.ts";
import type { ForeignKey, Structure } from "../lib/source_objects.ts";
import { validateJobs } from "../lib/config.ts";
import { describePlan } from "../lib/dry_run.ts";
import { leftOutWarning } from "../lib/foreign_keys.ts";
import { planTables, type SourcePlan } from "../lib/plan.ts";
import type { ClientTools } from "../lib/pg_tools.ts";
import { parseToc } from "../lib/toc.ts";
import { column, table } from "./_fixtures.ts";

const [config] = validateJobs({
  "export:shop": {
    source: { database: "postgres://app:s3cret@prod/app", schema: "shop" },
    target: { database: "postgres://dev@localhost/dev", schema: "shop_copy" },
    tables: { orders: { where: { id: { lt: 100 } } }, customers: {} },
  },
});

const CATALOG: SchemaCatalog = {
  schema: "shop",
  oid: 1,
  serverVersion: 160000,
  tables: [
    table(10, "orders", [column("id"), column("customer_id")], { bytes: 8192, owner: "app" }),
    table(11, "customers", [column("id")], { bytes: 8192, owner: "app" }),
  ],
};

const fk = (name: string, refTable: string, inJob: boolean): ForeignKey => ({
  oid: name.length,
  name,
  table: "orders",
  tablePartitioned: false,
  columns: ["customer_id"],
  refSchema: inJob ? "shop" : "crm",
  refTable,
  refColumns: ["id"],
  inJob,
  validated: true,
  definition: `FOREIGN KEY (customer_id) REFERENCES ${refTable}(id)`,
});

function sourcePlan(foreignKeys: ForeignKey[]): SourcePlan {
  const structure: Structure = {
    objects: new Set(["1259:10", "1259:11", "2606:20"]),
    sequences: [],
    extensions: [{ name: "citext", schema: "public" }],
    foreignKeys,
    outside: [],
    unneeded: ["audit"],
    missing: [],
    withStatistics: [],
    relations: [],
    routines: [],
    leftOut: [],
    explained: new Set(),
  };
  return {
    tools: {} as ClientTools,
    catalog: CATALOG,
    tables: planTables(config, CATALOG),
    structure,
    indexBuilds: [],
    analyzedInCopy: new Set(),
    sequences: [],
    routines: { alter: [], moved: [], warnings: [] },
  };
}

const TOC = parseToc(
  "5; 2615 1 SCHEMA - shop app\n" +
    "10; 1259 10 TABLE shop orders app\n" +
    "11; 1259 11 TABLE shop customers app\n" +
    "20; 2606 20 CONSTRAINT shop orders orders_pkey app\n" +
    "30; 1259 99 TABLE shop audit app\n",
);

Deno.test("describePlan: tables, the objects restored, left-out keys apart from the warnings", () => {
  const left = fk("orders_crm_fkey", "accounts", false);
  const warnings = [leftOutWarning(left), "the tables use type crm.money, which …"];
  const plan = describePlan(config, sourcePlan([left]), TOC, warnings, 1.25);
  assertEquals(plan.job, "export:shop");
  assertEquals(plan.source, { database: "postgres://app:***@prod/app", schema: "shop" });
  assertEquals(plan.tables.map((t) => [t.table, t.copy.startsWith("COPY (SELECT")]), [
    ["customers", true],
    ["orders", true],
  ]);
  assertEquals(plan.structure, [
    { type: "TABLE", name: "orders" },
    { type: "TABLE", name: "customers" },
    { type: "CONSTRAINT", name: "orders_pkey", table: "orders" },
  ]);
  assertEquals(plan.extensions, ["citext"]);
  assertEquals(plan.foreignKeysLeftOut, [{
    name: "orders_crm_fkey",
    table: "orders",
    references: '"crm"."accounts"',
    reason: "the job does not copy the referenced table",
  }]);
  assertEquals(plan.warnings, ["the tables use type crm.money, which …"]);
  assertEquals(plan.seconds, 1.25);
});

Deno.test("describePlan: orphans are among what only a run checks when a filtered job has keys", () => {
  const orphans = (keys: ForeignKey[]) =>
    describePlan(config, sourcePlan(keys), TOC, [], 0).notChecked.some((c) =>
      c.includes("rows that reference rows the filters leave out")
    );
  assertOk(orphans([fk("orders_customer_fkey", "customers", true)]));
  assertEquals(orphans([]), false);
});
