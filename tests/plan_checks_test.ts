/**
 * The plan step's checks of what a row copy would get wrong without a word: large object OIDs
 * (refused) and columns a trigger derives from a transformed column (warned).
 */

import { assertEquals, assertOk, assertRejects, assertStringIncludes } from "./_assert.ts";
import { schemaNames, withSource } from "./_servers.ts";
import { planJob, runJob } from "../lib/run.ts";
import { JobError } from "../lib/errors.ts";
import type { TablePlan } from "../lib/plan.ts";
import { largeObjectRefusal, triggerColumns, triggerLeaks } from "../lib/plan_checks.ts";

/** The parts of a plan the checks read. */
function plan(table: string, columns: string[], select?: Record<string, string>): TablePlan {
  return { table: { name: table }, spec: { select }, columns } as unknown as TablePlan;
}

Deno.test("triggerColumns: tsvector_update_trigger's arguments, NEW.column in a function body", () => {
  assertEquals(
    triggerColumns(
      "u",
      "t",
      "tsvector_update_trigger",
      true,
      "",
      "search\\000pg_catalog.simple\\000email\\000name\\000",
      ["email", "name", "search"],
    ),
    {
      table: "u",
      trigger: "t",
      function: "tsvector_update_trigger",
      writes: ["search"],
      reads: ["email", "name"],
    },
  );
  const body =
    `BEGIN NEW."Search" := to_tsvector(new.email); NEW.n = 1; IF NEW.name = 'x' THEN END IF; RETURN NEW; END`;
  assertEquals(
    triggerColumns("u", "t", "f", false, body, "", ["email", "emails", "name", "n", "Search"]),
    {
      table: "u",
      trigger: "t",
      function: "f",
      writes: ["n", "Search"],
      reads: ["email", "name", "n", "Search"],
    },
  );
});

Deno.test("triggerLeaks warns when a transformed column feeds a column copied as it is", () => {
  const trigger = { table: "u", trigger: "t", function: "f", reads: ["email"], writes: ["search"] };
  const [warning] = triggerLeaks([trigger], [plan("u", ["email", "search"], { email: "'x'" })]);
  assertStringIncludes(warning, 'table "u": trigger "t" (f) keeps column "search" from "email"');
  assertEquals(triggerLeaks([trigger], [plan("u", ["email", "search"])]), []);
  assertEquals(
    triggerLeaks([trigger], [plan("u", ["email", "search"], { email: "'x'", search: "NULL" })]),
    [],
  );
});

Deno.test("largeObjectRefusal names each column and a select that leaves it out", () => {
  const text = largeObjectRefusal([{ table: "docs", column: "body" }]);
  assertStringIncludes(text, 'table "docs", column "body" holds large object OIDs');
  assertStringIncludes(text, '"docs": { select: { "body": "NULL" } }');
});

Deno.test("large objects: a job copying their OIDs is refused in the plan, nothing written", async () => {
  await withSource(
    "pc-lo",
    `
      CREATE SCHEMA s;
      CREATE DOMAIN s.lo AS oid;
      CREATE TABLE s.docs (id int PRIMARY KEY, body oid, thumb s.lo);
      INSERT INTO s.docs VALUES (1, lo_from_bytea(0, 'hello'), NULL), (2, NULL, lo_from_bytea(0, 'x'));
      CREATE TABLE s.plain (id int PRIMARY KEY, ref oid);
      INSERT INTO s.plain VALUES (1, 12345);`,
    async (pair) => {
      const job = (select?: Record<string, string>) => ({
        source: { database: pair.sourceUrl, schema: "s" },
        target: { database: pair.targetUrl, schema: "staging" },
        tables: { docs: { select }, plain: {} },
      });
      // The numbers were copied and lo_get() failed on the target, without a word.
      const error = await assertRejects(() => runJob(job(), { name: "lo" }), JobError) as JobError;
      assertStringIncludes(error.message, 'job "lo", step plan (source)');
      assertStringIncludes(
        error.message,
        'table "docs", column "body"; table "docs", column "thumb"',
      );
      assertEquals(await schemaNames(pair.target), ["public"]);
      await assertRejects(() => planJob(job(), { name: "lo" }), JobError);
      // Left out by a select, the job runs; an oid column naming no large object is copied.
      await runJob(job({ body: "NULL", thumb: "NULL" }), { name: "lo" });
      const [row] = await pair.target`SELECT count(body)::int AS n FROM staging.docs`;
      assertEquals(row.n, 0);
    },
  );
});

Deno.test("a trigger-kept column fed by a transformed column is warned about, in the run and the dry run", async () => {
  await withSource(
    "pc-trigger",
    `
      CREATE SCHEMA s;
      CREATE TABLE s.users (id int PRIMARY KEY, email text, search tsvector);
      CREATE TRIGGER users_search BEFORE INSERT OR UPDATE ON s.users FOR EACH ROW
        EXECUTE FUNCTION tsvector_update_trigger(search, 'pg_catalog.simple', email);
      INSERT INTO s.users (id, email) VALUES (1, 'alice@x.com');`,
    async (pair) => {
      const job = {
        source: { database: pair.sourceUrl, schema: "s" },
        target: { database: pair.targetUrl, schema: "staging" },
        tables: { users: { select: { email: "'user' || id || '@example.com'" } } },
      };
      const expected =
        'table "users": trigger "users_search" (tsvector_update_trigger) keeps column "search" from "email"';
      const plan = await planJob(job, { name: "mask" });
      assertOk(plan.warnings.some((w) => w.startsWith(expected)), plan.warnings.join("\n"));
      const report = await runJob(job, { name: "mask" });
      assertOk(report.warnings.some((w) => w.startsWith(expected)), report.warnings.join("\n"));
      // What the warning is about: the source's email survives in the copied search column.
      const [row] = await pair.target`SELECT email, search::text FROM staging.users`;
      assertEquals([row.email, row.search], ["user1@example.com", "'alice@x.com':1"]);
    },
  );
});
