/**
 * Orphans with `orphans: "fail"` on real servers: a child row whose key is NULL, wholly or in
 * part (a composite key is only checked when every column has a value, as PostgreSQL's default
 * `MATCH SIMPLE` does), references nothing and is no orphan; a row whose parent the filters left
 * out is, and is counted alone.
 */

import { assertEquals, assertRejects, assertStringIncludes } from "./_assert.ts";
import { withSource } from "./_servers.ts";
import { runJob } from "../lib/run.ts";
import { JobError } from "../lib/errors.ts";
import type { Job } from "../lib/mod.ts";

const SOURCE = `
CREATE SCHEMA s;
CREATE TABLE s.parent (id int PRIMARY KEY, region text NOT NULL, UNIQUE (region, id));
CREATE TABLE s.child (
  id int PRIMARY KEY,
  parent_id int REFERENCES s.parent,
  region text,
  region_parent int,
  FOREIGN KEY (region, region_parent) REFERENCES s.parent (region, id)
);
INSERT INTO s.parent VALUES (1, 'eu'), (2, 'eu'), (3, 'us');
INSERT INTO s.child VALUES
  (1, 1, 'eu', 1),       -- both keys point at parent 1
  (2, NULL, NULL, NULL), -- NULL keys: no parent needed
  (3, NULL, 'us', NULL), -- partly NULL composite key: not checked
  (4, NULL, NULL, 3),    -- the same, the other column
  (5, 3, NULL, NULL);    -- parent 3: orphaned when the filter leaves it out
`;

Deno.test("with orphans: fail, NULL and partly NULL keys are no orphans; a real one is counted alone", async () => {
  await withSource("orphans-null", SOURCE, async (pair) => {
    const job = (parents: number[]): Job => ({
      source: { database: pair.sourceUrl, schema: "s" },
      target: { database: pair.targetUrl, schema: "staging" },
      tables: { parent: { where: { id: parents } }, child: { where: { id: [1, 2, 3, 4] } } },
      orphans: "fail",
    });
    const report = await runJob(job([1]), { name: "nulls" });
    assertEquals(report.warnings, []);
    const keys = await pair.target`
      SELECT conname, convalidated FROM pg_constraint
       WHERE contype = 'f' AND connamespace = 'staging'::regnamespace ORDER BY 1`;
    assertEquals(keys.map((k) => [k.conname, k.convalidated]), [
      ["child_parent_id_fkey", true],
      ["child_region_region_parent_fkey", true],
    ]);
    const [{ n }] = await pair.target`SELECT count(*)::int AS n FROM staging.child`;
    assertEquals(n, 4);

    const all = { ...job([1, 2]), tables: { parent: { where: { id: [1, 2] } }, child: {} } };
    const error = await assertRejects(() => runJob(all, { name: "nulls" }), JobError);
    assertStringIncludes(
      error.message,
      'foreign key "child_parent_id_fkey" of table "child": 1 row reference rows of "parent" ' +
        "that the filters left out",
    );
  });
});
