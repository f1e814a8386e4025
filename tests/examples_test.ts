/**
 * The ready examples of `jobs/example.ts`, one per use case of the seed (a migration subset, an
 * anonymised copy, time-shifted test data, one tenant's export), run through the CLI against
 * `jobs/sample.sql`, each checked on the target.
 */

import { assertEquals, assertOk, assertStringIncludes } from "./_assert.ts";
import { exec, freshPair, runCli } from "./_servers.ts";
import type { RunDocument } from "../cli/report.ts";

const ROOT = new URL("../", import.meta.url).pathname;

Deno.test("jobs/example.ts: subset, anonymised, time-shifted and tenant jobs do what they say", async (t) => {
  const pair = await freshPair("examples");
  try {
    await exec(pair.source, await Deno.readTextFile(`${ROOT}jobs/sample.sql`));
    const r = await runCli(["demo:*", "-c", "jobs/example.ts", "--json"], {
      cwd: ROOT,
      env: { SOURCE_DB_URL: pair.sourceUrl, TARGET_DB_URL: pair.targetUrl },
    });
    assertEquals(r.code, 0, r.stderr);
    const report: RunDocument = JSON.parse(r.stdout);
    assertEquals(report.jobs.map((j) => [j.job, j.status]), [
      ["demo:subset", "ok"],
      ["demo:anonymised", "ok"],
      ["demo:recent", "ok"],
      ["demo:tenant", "ok"],
    ]);
    const count = async (sql: string) => Number((await pair.target.unsafe(sql))[0].n);
    const source = async (sql: string) => Number((await pair.source.unsafe(sql))[0].n);

    await t.step(
      "subset: active customers, June to September orders, orphans kept NOT VALID",
      async () => {
        assertEquals(
          await count("SELECT count(*) AS n FROM shop_subset.customers"),
          await source("SELECT count(*) AS n FROM shop.customers WHERE active"),
        );
        assertEquals(
          await count("SELECT count(*) AS n FROM shop_subset.customers WHERE NOT active"),
          0,
        );
        assertEquals(
          await count(
            "SELECT count(*) AS n FROM shop_subset.orders WHERE placed_at < '2024-06-01' OR placed_at >= '2024-10-01'",
          ),
          0,
        );
        assertOk(await count("SELECT count(*) AS n FROM shop_subset.orders") > 0);
        const [fk] = await pair.target`
        SELECT convalidated FROM pg_constraint WHERE conname = 'orders_customer_id_fkey'
           AND connamespace = 'shop_subset'::regnamespace`;
        assertEquals(fk.convalidated, false);
        assertStringIncludes(report.jobs[0].warnings.join("\n"), "the key is created NOT VALID");
      },
    );

    await t.step("anonymised: every row, no personal data left", async () => {
      for (const table of ["customers", "orders", "products", "Order Items"]) {
        assertEquals(
          await count(`SELECT count(*) AS n FROM shop_anon."${table}"`),
          await source(`SELECT count(*) AS n FROM shop."${table}"`),
          table,
        );
      }
      assertEquals(
        await count(
          `SELECT count(*) AS n FROM shop_anon.customers
            WHERE email::text NOT LIKE '%@example.invalid' OR full_name <> 'Customer ' || id
               OR (phone IS NOT NULL AND phone <> '+00 0000 000000')`,
        ),
        0,
      );
    });

    await t.step(
      "time-shifted: the newest order is now, the gaps between orders kept",
      async () => {
        const [shifted] = await pair.target`
        SELECT extract(epoch FROM now() - max(placed_at)) AS lag,
               extract(epoch FROM max(placed_at) - min(placed_at)) AS span
          FROM shop_recent.orders`;
        const [original] = await pair.source`
        SELECT extract(epoch FROM max(placed_at) - min(placed_at)) AS span FROM shop.orders`;
        assertOk(Math.abs(Number(shifted.lag)) < 600, `newest order ${shifted.lag}s ago`);
        assertEquals(Number(shifted.span), Number(original.span));
      },
    );

    await t.step("tenant: only tenant 2's rows, in every table", async () => {
      for (const table of ["customers", "orders", "products", "Order Items"]) {
        assertEquals(
          await count(`SELECT count(*) AS n FROM tenant_2."${table}" WHERE tenant_id <> 2`),
          0,
          table,
        );
        assertEquals(
          await count(`SELECT count(*) AS n FROM tenant_2."${table}"`),
          await source(`SELECT count(*) AS n FROM shop."${table}" WHERE tenant_id = 2`),
          table,
        );
      }
    });
  } finally {
    await pair.close();
  }
});
