/**
 * The copy step (`lib/steps/copy.ts`) on real servers, with the `ACME` fixture: one report per
 * table with the rows its query keeps, the rows in the shadow schema, each table's indexes built
 * and `ANALYZE` run as it is loaded (those the plan leaves to post-data, later). A table that
 * fails is `fault_test.ts`'s.
 */

import { assertEquals } from "./_assert.ts";
import { ACME } from "./_fixtures.ts";
import { withSource } from "./_servers.ts";
import { pairJob, withSteps } from "./_steps.ts";

Deno.test("copy: a report per table with its rows, loaded into the shadow with its indexes, analysed", async () => {
  await withSource("step-copy", ACME, async (pair) => {
    const job = pairJob(pair, "acme", "staging", {
      tables: { users: { where: { active: true } }, "Order Items": {}, events: {} },
    });
    await withSteps(job, async (steps) => {
      const { tables: reports, work } = await steps.copy();
      assertEquals(work.workers, 2);
      assertEquals(work.copying > 0 && work.seconds > 0, true, JSON.stringify(work));
      assertEquals(
        reports.map((r) => [r.table, r.rows]).sort(),
        [["Order Items", 6], ["events", 3], ["users", 3]],
      );
      for (const r of reports) assertEquals(r.bytes > 0 && r.seconds >= 0, true, r.table);
      const shadow = steps.names.shadow;
      const [rows] = await pair.target`
        SELECT (SELECT count(*)::int FROM ${pair.target(shadow)}.users) AS users,
               (SELECT count(*)::int FROM ${pair.target(shadow)}.events) AS events,
               (SELECT string_agg(name, ',' ORDER BY id) FROM ${
        pair.target(shadow)
      }.users) AS names`;
      assertEquals(rows, { users: 3, events: 3, names: "Ann,tab\there,O'Brien" });
      const { plan } = await steps.plan();
      const built = plan.indexBuilds.filter((b) => b.table === "users").map((b) => b.index);
      const indexes = await pair.target`
        SELECT indexrelid::regclass::text AS name FROM pg_index
         WHERE indrelid = ${`${shadow}.users`}::regclass ORDER BY 1`;
      assertEquals(indexes.map((i) => i.name.split(".")[1]), built.sort());
      // ANALYZE fills pg_statistic (an index build sets reltuples too, so that proves nothing).
      const analysed = await pair.target`
        SELECT c.relname, EXISTS (SELECT FROM pg_statistic s WHERE s.starelid = c.oid) AS analysed
          FROM pg_class c
         WHERE c.relnamespace = ${shadow}::regnamespace AND c.relname IN ('users', 'Order Items')
         ORDER BY 1`;
      assertEquals([...plan.analyzedInCopy].sort(), ["Order Items"]);
      assertEquals(analysed.map((r) => [r.relname, r.analysed]), [
        ["Order Items", true],
        ["users", false],
      ]);
    });
  });
});
