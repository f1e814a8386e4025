/**
 * Example jobs, run by `deno task demo` against two throwaway servers loaded with
 * `jobs/sample.sql`, and by `tests/examples_test.ts`, which checks what each made. Each job shows
 * one use case: a subset, an anonymised copy, time-shifted test data, one tenant's data.
 *
 *   pg-xmat --list -c jobs/example.ts                   the jobs, source → target
 *   pg-xmat demo:tenant --dry-run -c jobs/example.ts    one job's plan, writing nothing
 *
 * The URLs come from the environment, so no password is written in the file.
 */
import type { Jobs } from "../lib/types.ts"; // type-only: erased at run time

const SOURCE = Deno.env.get("SOURCE_DB_URL")!;
const TARGET = Deno.env.get("TARGET_DB_URL")!;

export const JOBS = {
  // Five customers and everything that belongs to them: a subset closed under the foreign
  // keys, so every key is created VALID on the target.
  "demo:subset": {
    source: { database: SOURCE, schema: "shop" },
    target: { database: TARGET, schema: "shop_subset" },
    subset: true,
    tables: {
      customers: { where: { id: { lte: 5 } } }, // the seed
      orders: {}, // owned: the orders of those customers
      "Order Items": {}, // owned: the items of those orders
      products: { rows: "referenced" }, // only the products those items name
    },
  },
  // Everything, with personal data masked on the source. The salt (PGXMAT_SALT, else a random
  // one per run) keys the masks: the same email gives the same masked email in every table.
  "demo:anonymised": {
    source: { database: SOURCE, schema: "shop" },
    target: { database: TARGET, schema: "shop_anon" },
    // A column that looks like personal data and is neither masked nor marked clear fails the plan.
    pii: "fail",
    tables: {
      "*": {},
      customers: {
        select: {
          email: { mask: "email" },
          full_name: { mask: "name" },
          phone: { mask: "phone" },
          signed_up_at: { mask: "date", days: 30 },
        },
      },
      // A product's name is no person's.
      products: { select: { name: { clear: true } } },
    },
  },
  // Test data moved so that the newest order is today.
  "demo:recent": {
    source: { database: SOURCE, schema: "shop" },
    target: { database: TARGET, schema: "shop_recent" },
    tables: {
      "*": {},
      orders: {
        select: { placed_at: "{column_name} + (now() - (SELECT max(placed_at) FROM shop.orders))" },
      },
    },
  },
  // One tenant: the wildcard's where applies to every table with a tenant_id column.
  "demo:tenant": {
    source: { database: SOURCE, schema: "shop" },
    target: { database: TARGET, schema: "tenant_2" },
    tables: { "*": { where: { tenant_id: 2 } } },
  },
} satisfies Jobs;
