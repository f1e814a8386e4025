/**
 * Subset planning without a server: roles, key directions, the plan errors, and the shape of
 * the SQL (built by `subset.ts`'s private `_subset_sql.ts`; what rows each query reads is checked
 * on real servers in `subset_job_test.ts`).
 */

import { assertEquals, assertOk, assertStringIncludes, assertThrows } from "./_assert.ts";
import type { SchemaCatalog, Table } from "../lib/catalog.ts";
import type { ForeignKey } from "../lib/source_objects.ts";
import { ConfigError } from "../lib/errors.ts";
import { planSubset, type SubsetKey, subsetKeys, type SubsetTable } from "../lib/subset.ts";
import { resolveTimes, sqlWords } from "../lib/subset_where.ts";
import { validateJobs } from "../lib/config.ts";

function table(name: string, columns: string[], extra: Partial<SubsetTable> = {}): SubsetTable {
  return {
    name,
    partitioned: false,
    columns: columns.map((c) => ({ name: c, type: "integer", notNull: c === "id" })),
    ...extra,
  };
}

function key(
  name: string,
  from: string,
  columns: string[],
  to: string | undefined,
  refColumns = ["id"],
): SubsetKey {
  return {
    oid: name.length,
    name,
    table: from,
    declaredOn: from,
    columns,
    refTable: to,
    references: `"s"."${to ?? "elsewhere"}"`,
    refColumns,
  };
}

const SHOP = {
  job: "dev",
  schema: "s",
  tables: [
    table("customer", ["id", "referrer"], { where: '"id" IN (1, 2)' }),
    table("orders", ["id", "customer_id"]),
    table("items", ["id", "order_id", "product_id"]),
    table("product", ["id"]),
    table("address", ["id", "city_id"], { rows: "referenced" }),
    table("city", ["id"], { rows: "referenced" }),
    table("employee", ["id", "manager_id", "address_id"]),
  ],
  keys: [
    key("customer_referrer", "customer", ["referrer"], "customer"),
    key("orders_customer", "orders", ["customer_id"], "customer"),
    key("items_order", "items", ["order_id"], "orders"),
    key("items_product", "items", ["product_id"], "product"),
    key("address_city", "address", ["city_id"], "city"),
    key("employee_manager", "employee", ["manager_id"], "employee"),
    key("employee_address", "employee", ["address_id"], "address"),
  ],
};

Deno.test("roles: seed, owned by distance, whole, referenced", () => {
  const plan = planSubset(SHOP);
  assertEquals(
    plan.tables.map((t) => [t.table, t.role, t.distance]),
    [
      ["customer", "seed", 0],
      ["orders", "owned", 1],
      ["items", "owned", 2],
      ["product", "whole", undefined],
      ["address", "referenced", undefined],
      ["city", "referenced", undefined],
      ["employee", "whole", undefined],
    ],
  );
  const dir = Object.fromEntries(plan.keys.map((k) => [k.name, [k.down, k.up]]));
  assertEquals(dir, {
    customer_referrer: [false, true], // a self-reference never owns
    orders_customer: [true, true],
    items_order: [true, true],
    items_product: [false, false], // product is whole: nothing to add
    address_city: [false, true],
    employee_manager: [false, false],
    employee_address: [false, true],
  });
});

Deno.test("queries: a seed reads its where and the rows referencing it; owned rows by key", () => {
  const plan = planSubset(SHOP);
  const t = Object.fromEntries(plan.tables.map((t) => [t.table, t]));
  // Orders and items only hold owned rows (no key brings more), so the customers' query is the
  // seed's where and the self-reference's fixpoint, not a scan for what orders reference.
  assertEquals(t.customer.keep?.startsWith('("id" IN (1, 2)) OR "s"."customer"."id" IN'), true);
  assertEquals(t.customer.with?.includes("orders"), false);
  assertStringIncludes(t.customer.with!, "UNION SELECT _n._t, _n._v FROM _xmat_k _k");
  assertEquals(
    t.items.keep,
    '"s"."items"."order_id" IN (SELECT _xmat_d1."id" FROM _xmat_d1)',
  );
  assertStringIncludes(
    t.items.with!,
    '_xmat_d1 AS (SELECT "id" FROM ONLY "s"."orders" WHERE "s"."orders"."customer_id" IN (SELECT _xmat_d0."id" FROM _xmat_d0))',
  );
  assertEquals(t.product.keep, undefined);
  assertEquals(t.employee.keep, undefined);
  // City: only what kept addresses reference, which only kept employees (whole) reference.
  assertStringIncludes(t.city.keep!, '"s"."city"."id" IN (SELECT (_k._v[1])::integer');
  assertStringIncludes(t.city.with!, 'SELECT 6, ARRAY["s"."employee"."address_id"::text]');
});

Deno.test("same-distance keys and self-references never own; a diamond owns through both", () => {
  const plan = planSubset({
    job: "j",
    schema: "s",
    tables: [
      table("a", ["id"], { where: "true" }),
      table("b", ["id", "a_id", "c_id"]),
      table("c", ["id", "a_id", "b_id"]),
      table("d", ["id", "b_id", "c_id"]),
    ],
    keys: [
      key("b_a", "b", ["a_id"], "a"),
      key("c_a", "c", ["a_id"], "a"),
      key("b_c", "b", ["c_id"], "c"),
      key("c_b", "c", ["b_id"], "b"),
      key("d_b", "d", ["b_id"], "b"),
      key("d_c", "d", ["c_id"], "c"),
    ],
  });
  const down = plan.keys.filter((k) => k.down).map((k) => k.name);
  assertEquals(down, ["b_a", "c_a", "d_b", "d_c"]);
  assertEquals(plan.tables.map((t) => t.distance), [0, 1, 1, 2]);
  assertStringIncludes(plan.tables[3].keep!, " OR ");
});

Deno.test('rows: "all" stops ownership; composite keys map columns by position', () => {
  const plan = planSubset({
    job: "j",
    schema: "s",
    tables: [
      table("account", ["tenant", "code"], { where: "tenant = 1" }),
      table("invoice", ["id", "t", "c"], { rows: "all" }),
      table("line", ["id", "invoice_id"]),
    ],
    keys: [
      key("invoice_account", "invoice", ["t", "c"], "account", ["tenant", "code"]),
      key("line_invoice", "line", ["invoice_id"], "invoice"),
    ],
  });
  assertEquals(plan.tables.map((t) => t.role), ["seed", "whole", "whole"]);
  assertStringIncludes(
    plan.tables[0].keep!,
    '("s"."account"."tenant", "s"."account"."code") IN (SELECT (_k._v[1])::integer, (_k._v[2])::integer FROM _xmat_k _k WHERE _k._t = 1)',
  );
  assertStringIncludes(
    plan.tables[0].with!,
    'ARRAY["s"."invoice"."t"::text, "s"."invoice"."c"::text]',
  );
});

Deno.test('keys: "null" wraps the columns, "drop" leaves the key out; both stop following', () => {
  const plan = planSubset({
    ...SHOP,
    tables: SHOP.tables.map((t) =>
      t.name === "customer"
        ? { ...t, keys: { customer_referrer: "null" as const } }
        : t.name === "employee"
        ? { ...t, keys: { employee_address: "drop" as const } }
        : t
    ),
  });
  const customer = plan.tables[0];
  assertStringIncludes(customer.nulled!.referrer, "EXISTS (SELECT 1 FROM ONLY");
  assertStringIncludes(customer.nulled!.referrer, ' _q WHERE _q."id" = "s"."customer"."referrer"');
  assertEquals(customer.with, undefined);
  assertEquals(plan.dropped, ["employee_address".length]);
  assertEquals(plan.keys.find((k) => k.name === "employee_address")?.option, "drop");
  // Nothing references addresses any more: they keep no row.
  assertEquals(plan.tables[4].keep, "false");
});

Deno.test("plan errors: a key out of the job, an unknown key, NULL into NOT NULL", () => {
  const error = assertThrows(
    () =>
      planSubset({
        job: "dev",
        schema: "s",
        tables: [
          table("rental", ["id", "staff_id"], { keys: { nope: "drop", rental_id: "null" } }),
        ],
        keys: [
          key("rental_staff", "rental", ["staff_id"], undefined),
          key("rental_id", "rental", ["id"], "rental"),
        ],
      }),
    ConfigError,
  );
  assertStringIncludes(
    error.message,
    'foreign key "rental_staff" of table "rental" references "s"."elsewhere", which the job does not copy: ' +
      'add that table to the job, or set `keys: { "rental_staff": "drop" }` on table "rental"',
  );
  assertStringIncludes(error.message, 'tables.rental.keys.nope: table "rental" has no foreign key');
  assertStringIncludes(error.message, '"null" cannot set "id" NULL (NOT NULL): use "drop"');
});

Deno.test("subsetKeys: a partition's key is its parent's; another schema's table is outside", () => {
  const t = (oid: number, name: string, parentOid?: number): Table => ({
    oid,
    name,
    partitioned: parentOid === undefined && name === "payment",
    parentOid,
    owner: "o",
    rows: 0,
    bytes: 0,
    pages: 0,
    readLocks: 4,
    rowSecurity: false,
    columns: [],
  });
  const catalog: SchemaCatalog = {
    schema: "s",
    oid: 1,
    serverVersion: 150000,
    tables: [t(1, "payment"), t(2, "payment_2024", 1), t(3, "customer")],
  };
  const fk = (name: string, table: string, refSchema: string, refTable: string): ForeignKey => ({
    oid: 9,
    name,
    table,
    tablePartitioned: false,
    columns: ["customer_id"],
    refSchema,
    refTable,
    refColumns: ["id"],
    inJob: true,
    validated: true,
    definition: "",
  });
  const keys = subsetKeys(
    [fk("p24", "payment_2024", "s", "customer"), fk("x", "customer", "other", "customer")],
    catalog,
    ["payment", "customer"],
  );
  assertEquals(keys.map((k) => [k.table, k.declaredOn, k.refTable]), [
    ["payment", "payment_2024", "customer"],
    ["customer", "customer", undefined],
  ]);
});

Deno.test("resolveTimes: transaction time once, outside literals and comments", () => {
  const values = {
    now: "'T'::timestamptz",
    current_date: "'D'::date",
    current_time: "'t'::timetz",
    localtime: "'l'::time",
    localtimestamp: "'L'::timestamp",
  };
  const r = resolveTimes(
    "a > NOW( ) - interval '1 day' AND b = current_date AND c <> 'now()' /* now() */ AND " +
      `"now" = transaction_timestamp() AND lower(x) = $$current_date$$ -- now()\n AND y < CURRENT_TIMESTAMP`,
    values,
  );
  assertEquals(
    r.sql,
    "a > ('T'::timestamptz) - interval '1 day' AND b = ('D'::date) AND c <> 'now()' /* now() */ AND " +
      `"now" = ('T'::timestamptz) AND lower(x) = $$current_date$$ -- now()\n AND y < ('T'::timestamptz)`,
  );
  assertEquals(r.calls, ["lower"]);
  assertEquals(r.problems, []);
  const bad = resolveTimes(
    "a > current_timestamp(3) OR b > pg_catalog.now() OR c = 'Today'",
    values,
  );
  assertEquals(bad.problems.length, 3);
  assertStringIncludes(bad.problems[0], "'Today' is read as each table's transaction time");
  assertStringIncludes(bad.problems[1], "resolves once");
  assertEquals(sqlWords("E'it\\'s now()' AND x").map((w) => w.name), ["and", "x"]);
});

Deno.test("config: rows and keys need subset, not on the wildcard, rows not with where", () => {
  const base = {
    source: { database: "postgres://localhost/a", schema: "s" },
    target: { database: "postgres://localhost/b", schema: "t" },
  };
  const error = assertThrows(
    () =>
      validateJobs({
        a: { ...base, tables: { x: { rows: "all" }, y: { keys: { k: "null" } } } },
        b: {
          ...base,
          subset: true,
          tables: {
            "*": { rows: "all" },
            x: { rows: "every" },
            y: { where: { id: 1 }, rows: "referenced" },
          },
        },
        c: { ...base, subset: "yes", tables: { x: { keys: { k: "keep" } } } },
      }),
    ConfigError,
  );
  const text = (error as ConfigError).issues.join("\n");
  for (
    const expected of [
      'jobs["a"].tables.x.rows: applies to a subset only: set `subset: true` on the job',
      'jobs["a"].tables.y.keys: applies to a subset only',
      'jobs["b"].tables["*"].rows: applies to a named table, not to the wildcard',
      'jobs["b"].tables.x.rows: must be "all" or "referenced", got "every"',
      'jobs["b"].tables.y.rows: a table with a where of its own is a seed',
      'jobs["c"].subset: must be true or false, got "yes"',
      'jobs["c"].tables.x.keys.k: must be "null" or "drop", got "keep"',
    ]
  ) assertStringIncludes(text, expected);
  assertOk(
    validateJobs({ d: { ...base, subset: true, tables: { x: { rows: "all" } } } })[0].subset,
  );
});
