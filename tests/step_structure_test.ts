/**
 * The structure step (`lib/steps/structure.ts`) on real servers, with the `ACME` fixture: the
 * dump holds the job's objects and is removed at the end; the pre-data restored into a marked
 * shadow schema (tables, types, sequences, no rows, no keys yet), the target schema untouched.
 */

import { assertEquals, assertOk } from "./_assert.ts";
import { ACME } from "./_fixtures.ts";
import { exec, schemaNames, withSource } from "./_servers.ts";
import { pairJob, withSteps } from "./_steps.ts";
import { parseMarker } from "../lib/shadow.ts";
import { removeArchive } from "../lib/steps/structure.ts";
import { SPREAD_ENTRIES } from "../lib/structure.ts";
import { describeEntry } from "../lib/toc.ts";

Deno.test("structure: the dump of the job's objects; pre-data in a marked shadow schema, the target untouched", async () => {
  await withSource("step-structure", ACME, async (pair) => {
    await exec(pair.target, "CREATE SCHEMA staging; CREATE TABLE staging.kept (id int);");
    const job = pairJob(pair, "acme", "staging", {
      tables: { users: {}, "Order Items": {} },
    });
    await withSteps(job, async (steps) => {
      const { archive, shadowState } = await steps.structure();
      const dumped = archive.toc.map((e) => describeEntry(e, "acme", ["users", "Order Items"]));
      const tables = dumped.filter((e) => e.type === "TABLE").map((e) => e.name).sort();
      assertEquals(tables, ["Order Items", "users"], "tables the job does not copy are not dumped");
      assertOk(dumped.some((e) => e.type === "TYPE" && e.name === "mood"));
      assertOk((await Deno.stat(archive.dir)).isDirectory);

      const shadow = steps.names.shadow;
      assertEquals(shadowState.schemas.has(shadow), true);
      const [marked] = await pair.target`
        SELECT obj_description(${shadow}::regnamespace, 'pg_namespace') AS comment`;
      assertEquals(parseMarker(marked.comment)?.target, "staging");
      const relations = await pair.target`
        SELECT c.relname, c.relkind::text AS kind FROM pg_class c
         WHERE c.relnamespace = ${shadow}::regnamespace AND c.relkind IN ('r', 'S') ORDER BY 1`;
      assertEquals(relations.map((r) => `${r.kind} ${r.relname}`), [
        "r Order Items",
        "S Order Items_id_seq",
        "S legacy_seq",
        "r users",
        "S users_id_seq",
      ]);
      const [state] = await pair.target`
        SELECT (SELECT count(*)::int FROM ${pair.target(shadow)}.users) AS rows,
               (SELECT count(*)::int FROM pg_constraint
                 WHERE connamespace = ${shadow}::regnamespace AND contype IN ('p', 'f', 'u')) AS keys,
               to_regtype(${`${shadow}.mood`}) IS NOT NULL AS mood,
               to_regclass('staging.kept') IS NOT NULL AS kept`;
      assertEquals(state, { rows: 0, keys: 0, mood: true, kept: true });
      assertEquals((await schemaNames(pair.target)).includes("acme"), false);

      await removeArchive(archive);
      assertEquals(await Deno.stat(archive.dir).then(() => true, () => false), false);
    });
  });
});

Deno.test("structure in several transactions: an extension it creates stays where the source has it", async () => {
  // More entries than one transaction takes: the shadow is built in several. The first creates
  // citext in public, as the source has it; the next ones took it for the shadow's and moved it
  // there.
  const tables = Array.from(
    { length: SPREAD_ENTRIES + 5 },
    (_, i) => `CREATE TABLE s.t${i} (e citext);`,
  );
  await withSource(
    "step-structure-ext",
    `CREATE EXTENSION citext WITH SCHEMA public; CREATE SCHEMA s; ${tables.join("\n")}`,
    async (pair) => {
      await withSteps(pairJob(pair, "s", "s", { tables: { "*": {} } }), async (steps) => {
        const { shadowState } = await steps.structure();
        const placed = await pair.target`
          SELECT n.nspname FROM pg_extension x JOIN pg_namespace n ON n.oid = x.extnamespace
           WHERE x.extname = 'citext'`;
        assertEquals(placed.map((r) => r.nspname), ["public"]);
        assertEquals(shadowState.extensions.get("citext"), "public");
      });
    },
  );
});
