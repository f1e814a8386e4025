/**
 * The ready examples of `jobs/example.ts`, one per use case of the seed (a migration subset, an
 * anonymised copy, time-shifted test data, one tenant's export), run through the CLI against
 * `jobs/sample.sql`, each checked on the target.
 */

import { assertEquals, assertOk } from "./_assert.ts";
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

    await t.step("subset: five customers and what belongs to them, every key VALID", async () => {
      assertEquals(await count("SELECT count(*) AS n FROM shop_subset.customers"), 5);
      assertEquals(
        await count("SELECT count(*) AS n FROM shop_subset.orders"),
        await source("SELECT count(*) AS n FROM shop.orders WHERE customer_id <= 5"),
      );
      assertEquals(
        await count('SELECT count(*) AS n FROM shop_subset."Order Items"'),
        await source(
          'SELECT count(*) AS n FROM shop."Order Items" i JOIN shop.orders o ON o.id = i.order_id WHERE o.customer_id <= 5',
        ),
      );
      assertEquals(
        await count("SELECT count(*) AS n FROM shop_subset.products"),
        await source(
          'SELECT count(DISTINCT product_id) AS n FROM shop."Order Items" i JOIN shop.orders o ON o.id = i.order_id WHERE o.customer_id <= 5',
        ),
      );
      const keys = await pair.target`
        SELECT conname, convalidated FROM pg_constraint WHERE contype = 'f'
           AND connamespace = 'shop_subset'::regnamespace`;
      assertEquals(keys.length, 3);
      assertOk(keys.every((k) => k.convalidated));
      // No key left out or NOT VALID, no orphans counted.
      assertEquals(
        report.jobs[0].warnings.filter((w) => /NOT VALID|left out|reference rows/.test(w)),
        [],
      );
    });

    await t.step("anonymised: every row, no personal data left", async () => {
      for (const table of ["customers", "orders", "products", "Order Items"]) {
        assertEquals(
          await count(`SELECT count(*) AS n FROM shop_anon."${table}"`),
          await source(`SELECT count(*) AS n FROM shop."${table}"`),
          table,
        );
      }
      const anon = await pair.target.unsafe(
        `SELECT email::text, full_name, phone, signed_up_at FROM shop_anon.customers ORDER BY id`,
      );
      const real = await pair.source.unsafe(
        `SELECT email::text, full_name, phone, signed_up_at FROM shop.customers ORDER BY id`,
      );
      for (const column of ["email", "full_name", "phone"]) {
        const before = new Set(real.map((r) => r[column]).filter((v) => v !== null));
        assertEquals(anon.filter((r) => before.has(r[column])).length, 0, column);
      }
      for (const [i, r] of anon.entries()) {
        assertOk(/^[0-9a-f]{24}@example\.com$/.test(r.email), r.email);
        assertOk(/^[A-Z][a-z]+ [A-Z][a-z]+$/.test(r.full_name), r.full_name);
        assertEquals(r.phone?.replace(/\d/g, "9"), real[i].phone?.replace(/\d/g, "9"));
        const days = Math.abs(r.signed_up_at - real[i].signed_up_at) / 86_400_000;
        // Whole days (an hour more or less across a daylight saving change in the source's zone).
        assertOk(days > 0.9 && days < 30.1 && Math.abs(days - Math.round(days)) < 0.05, `${days}`);
      }
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
