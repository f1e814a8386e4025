/**
 * The post-data step (`lib/steps/post_data.ts`) on real servers, with the `ACME` fixture, after
 * the copy: keys, indexes, triggers, comments and sequence values in the shadow schema; a key
 * whose rows the filters orphaned counted and created NOT VALID with a warning, or the job
 * failed with `orphans: "fail"`; the step's line (`postDataDetail`).
 */

import { assertEquals, assertRejects, assertStringIncludes } from "./_assert.ts";
import { ACME } from "./_fixtures.ts";
import { withSource } from "./_servers.ts";
import { pairJob, withSteps } from "./_steps.ts";
import { JobError } from "../lib/errors.ts";
import { postDataDetail } from "../lib/steps/post_data.ts";
import type { TableSpec } from "../lib/types.ts";

const TABLES: Record<string, TableSpec> = { users: { where: { active: true } }, "Order Items": {} };

Deno.test("post-data: keys, indexes, triggers, sequences in the shadow; orphans make a key NOT VALID", async () => {
  await withSource("step-post-data", ACME, async (pair) => {
    await withSteps(pairJob(pair, "acme", "staging", { tables: TABLES }), async (steps) => {
      await steps.copy();
      const { plan } = await steps.plan();
      const { archive } = await steps.structure();
      assertEquals(
        postDataDetail(plan, archive, "acme"),
        "3 constraints, 1 foreign key, 1 trigger, ANALYZE of 1 table",
      );
      const planned = steps.ctx.warnings.length;
      await steps.postData();
      const shadow = steps.names.shadow;
      const constraints = await pair.target`
        SELECT conname, contype::text AS type, convalidated AS valid FROM pg_constraint
         WHERE connamespace = ${shadow}::regnamespace AND conrelid <> 0 ORDER BY 1`;
      assertEquals(constraints.map((c) => [c.conname, c.type, c.valid]), [
        ["Order Items_pkey", "p", true],
        ["Order Items_user_id_fkey", "f", false],
        ["users_email_key", "u", true],
        ["users_pkey", "p", true],
        ["users_score_check", "c", true],
      ]);
      assertEquals(steps.ctx.warnings.slice(planned), [
        'foreign key "Order Items_user_id_fkey" of table "Order Items": 2 rows reference rows of ' +
        '"users" that the filters left out; the key is created NOT VALID (it checks new rows only)',
      ]);
      const [state] = await pair.target`
        SELECT (SELECT last_value FROM ${pair.target(shadow)}.legacy_seq)::int AS legacy,
               (SELECT count(*)::int FROM pg_trigger
                 WHERE tgrelid = ${`${shadow}.users`}::regclass AND NOT tgisinternal) AS triggers,
               to_regclass(${`${shadow}.users_name_lower`}) IS NOT NULL AS "index",
               EXISTS (SELECT FROM pg_statistic
                        WHERE starelid = ${`${shadow}.users`}::regclass) AS analysed`;
      assertEquals(state, { legacy: 114, triggers: 1, index: true, analysed: true });
    });
  });
});

Deno.test('post-data: orphans with orphans: "fail" fail the step, naming the table', async () => {
  await withSource("step-post-data-fail", ACME, async (pair) => {
    const job = pairJob(pair, "acme", "staging", { tables: TABLES, orphans: "fail" });
    await withSteps(job, async (steps) => {
      await steps.copy();
      const error = await assertRejects(() => steps.postData(), JobError) as JobError;
      assertEquals([error.place.step, error.place.table], ["post-data", "Order Items"]);
      assertStringIncludes(error.message, '2 rows reference rows of "users"');
    });
  });
});
