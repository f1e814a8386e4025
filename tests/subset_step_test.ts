/**
 * The plan step's part for a subset (`lib/subset_step.ts`) on a real source, with the `SUBSET`
 * fixture, on the tables the plan step read in its snapshot: the transaction time a seed's
 * `where` reads resolved once into a literal, each table given its subset query and role; a
 * volatile function in a `where` refused, naming where it is.
 */

import { assertEquals, assertOk, assertRejects, assertStringIncludes } from "./_assert.ts";
import { SUBSET } from "./_fixtures.ts";
import { withSource } from "./_servers.ts";
import { pairJob, type Steps, withSteps } from "./_steps.ts";
import { ConfigError } from "../lib/errors.ts";
import { subsetStep } from "../lib/subset_step.ts";
import type { TableSpec } from "../lib/types.ts";

/** `subsetStep` on what the (plain) plan step read of `tables`. */
async function planSubsetOf(steps: Steps) {
  const { plan } = await steps.plan();
  const snapshot = await steps.snapshot();
  const config = { ...steps.ctx.config, subset: true };
  return await subsetStep(
    snapshot.conn,
    config,
    plan.catalog,
    plan.tables,
    plan.structure.foreignKeys,
  );
}

function job(pair: Parameters<typeof pairJob>[0], where: string) {
  const tables: Record<string, TableSpec> = {
    customer: { where },
    rental: {},
    store: {},
    staff: {},
    address: {},
    city: {},
    country: {},
  };
  return pairJob(pair, "sub", "staging", { tables });
}

Deno.test("subsetStep: now() resolved once into a literal; seeds and owned tables get their queries", async () => {
  await withSource("subset-step", SUBSET, async (pair) => {
    await withSteps(job(pair, "created_at <= now()"), async (steps) => {
      const { plans, subset } = await planSubsetOf(steps);
      const roles = Object.fromEntries(subset.tables.map((t) => [t.table, t.role]));
      assertEquals(roles.customer, "seed");
      assertEquals(roles.rental, "owned");
      assertEquals(roles.country, "whole");
      const byName = new Map(plans.map((p) => [p.table.name, p]));
      const customer = byName.get("customer")!;
      assertEquals(customer.select.includes("now()"), false, customer.select);
      assertOk(
        /created_at <= \('\d{4}-\d\d-\d\d [^']+'::timestamptz\)/.test(customer.select),
        customer.select,
      );
      const rental = byName.get("rental")!;
      assertOk(rental.copyOut.startsWith("COPY (WITH RECURSIVE _xmat_d"), rental.copyOut);
      assertStringIncludes(rental.select, '"customer_id" IN (SELECT');
      assertEquals(rental.copyOut, `COPY (${rental.select}) TO STDOUT (FORMAT ${rental.format})`);
      // A whole table not referenced by kept rows keeps its plain query.
      const plain = (await steps.plan()).plan.tables.find((p) => p.table.name === "country")!;
      assertEquals(byName.get("country")!.select, plain.select);
    });
  });
});

Deno.test("subsetStep: a volatile function in a where is refused, naming the where", async () => {
  await withSource("subset-step-volatile", SUBSET, async (pair) => {
    await withSteps(job(pair, "created_at <= clock_timestamp()"), async (steps) => {
      const error = await assertRejects(() => planSubsetOf(steps), ConfigError) as ConfigError;
      assertEquals(error.issues.length, 1);
      assertStringIncludes(
        error.issues[0],
        'jobs["steps"].tables.customer.where: clock_timestamp() is volatile',
      );
    });
  });
});
