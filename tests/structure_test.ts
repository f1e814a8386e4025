/**
 * What the structure step restores beyond tables and indexes: row-level security switched on as
 * on the source, and a source schema whose name needs quotes with its own types, domains,
 * functions, collations and sequences.
 */

import { assertEquals, assertOk, assertRejects } from "./_assert.ts";
import { freshPair, tableText, withSource } from "./_servers.ts";
import { parseConnUrl } from "../lib/conninfo.ts";
import { ToolFailed } from "../lib/errors.ts";
import { findClientTools } from "../lib/pg_tools.ts";
import { runJob } from "../lib/run.ts";
import {
  exactPattern,
  failedObject,
  psqlError,
  runScript,
  transactions,
} from "../lib/structure.ts";

Deno.test("failedObject names the object whose statement psql stopped at; pg-xmat's own statements name none", () => {
  const sql = [
    "--",
    "-- Name: order_totals; Type: VIEW; Schema: shop; Owner: -",
    "--",
    "",
    "CREATE VIEW shop.order_totals AS",
    " SELECT 1;",
    "",
    "--",
    "-- Name: orders orders_pkey; Type: CONSTRAINT; Schema: shop; Owner: -",
    "ALTER TABLE shop.orders ADD PRIMARY KEY (id);",
  ].join("\n");
  const full = transactions([{
    before: ["SET lock_timeout = 1"],
    body: sql,
    after: [
      "-- Name: mv; Type: MATERIALIZED VIEW DATA; Schema: shop\nREFRESH MATERIALIZED VIEW shop.mv",
      "ANALYZE shop.orders",
    ],
  }]);
  const lineOf = (text: string) => full.split("\n").findIndex((l) => l.includes(text)) + 1;
  const at = (text: string) => failedObject(full, `psql:<stdin>:${lineOf(text)}: ERROR:  boom`);
  assertEquals(at("SELECT 1;"), "creating VIEW shop.order_totals");
  assertEquals(at("ADD PRIMARY KEY"), "creating CONSTRAINT shop.orders orders_pkey");
  assertEquals(at("REFRESH"), "filling MATERIALIZED VIEW shop.mv");
  assertEquals(at("ANALYZE"), undefined, "pg-xmat's own statement is no object's");
  assertEquals(at("SET lock_timeout"), undefined);
  assertEquals(failedObject(full, "psql: error: connection refused"), undefined);
});

Deno.test("runScript tells each commit as psql makes it; none after a failed transaction", async () => {
  const pair = await freshPair("st-commits");
  try {
    const [{ v }] = await pair.target`SELECT current_setting('server_version_num')::int AS v`;
    const tools = await findClientTools(Math.floor(v / 10000));
    const target = parseConnUrl(pair.targetUrl);
    const told: { index: number; at: number }[] = [];
    const started = performance.now();
    const onCommit = (index: number) => told.push({ index, at: performance.now() - started });
    await runScript(
      tools,
      target,
      transactions([
        { before: ["CREATE TABLE a (id int)"] },
        { before: ["CREATE TABLE b (id int)", "SELECT pg_sleep(0.5)"] },
        { before: ["CREATE TABLE c (id int)"] },
      ]),
      { onCommit },
    );
    const ended = performance.now() - started;
    assertEquals(told.map((t) => t.index), [0, 1, 2]);
    assertOk(ended - told[0].at >= 400, `the first commit told before the script ended: ${ended}`);
    told.length = 0;
    await assertRejects(
      () =>
        runScript(
          tools,
          target,
          transactions([
            { before: ["CREATE TABLE d (id int)"] },
            { before: ["CREATE TABLE e (id int)", "SELECT 1/0"] },
            { before: ["CREATE TABLE f (id int)"] },
          ]),
          { onCommit },
        ),
      ToolFailed,
      "division by zero",
    );
    assertEquals(told.map((t) => t.index), [0]);
    const tables = await pair.target`SELECT relname FROM pg_class WHERE relname IN ('d', 'e', 'f')`;
    assertEquals(tables.map((t) => t.relname), ["d"]);
  } finally {
    await pair.close();
  }
});

Deno.test("row-level security stays switched on (and forced) with its policy", async () => {
  await withSource(
    "st-rls",
    `
      CREATE SCHEMA rls;
      CREATE TABLE rls.t (id int PRIMARY KEY, owner text);
      ALTER TABLE rls.t ENABLE ROW LEVEL SECURITY;
      ALTER TABLE rls.t FORCE ROW LEVEL SECURITY;
      CREATE POLICY p ON rls.t USING (owner = current_user);
      CREATE TABLE rls.open (id int PRIMARY KEY);
      INSERT INTO rls.t VALUES (1, 'alice'), (2, 'bob');`,
    async (pair) => {
      // pg_dump writes ENABLE ROW LEVEL SECURITY as an entry without a catalog OID: it was
      // never selected, and the policy arrived on a table that ignored it.
      await runJob({
        source: { database: pair.sourceUrl, schema: "rls" },
        target: { database: pair.targetUrl, schema: "rls" },
        tables: { "*": {} },
      }, { name: "rls" });
      const rows = await pair.target`
        SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class
         WHERE relnamespace = 'rls'::regnamespace AND relkind = 'r' ORDER BY 1`;
      assertEquals(rows.map((r) => [r.relname, r.relrowsecurity, r.relforcerowsecurity]), [
        ["open", false, false],
        ["t", true, true],
      ]);
      const [policy] = await pair.target`SELECT polname FROM pg_policy`;
      assertEquals(policy.polname, "p");
    },
  );
});

for (const schema of ["HRData", "hr data"]) {
  Deno.test(`a schema named ${schema} with its own types, domain, function, collation and sequence`, async () => {
    const q = `"${schema}"`;
    await withSource(
      `st-quoted`,
      `
        CREATE SCHEMA ${q};
        CREATE TYPE ${q}.mood AS ENUM ('a', 'b');
        CREATE DOMAIN ${q}.posint AS int CHECK (VALUE > 0);
        CREATE FUNCTION ${q}.twice(x int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT x * 2';
        CREATE COLLATION ${q}.c (locale = 'C');
        CREATE SEQUENCE ${q}.ids START 100;
        CREATE TABLE ${q}.t (
          id int PRIMARY KEY DEFAULT nextval('${q}.ids'),
          m ${q}.mood,
          n ${q}.posint,
          d int GENERATED ALWAYS AS (${q}.twice(n)) STORED,
          s text COLLATE ${q}.c
        );
        INSERT INTO ${q}.t (m, n, s) VALUES ('a', 1, 'x'), ('b', 2, 'y');`,
      async (pair) => {
        // pg_identify_object() gave the schema as "HRData", compared with HRData: the types
        // were taken for another schema's, and the restore failed.
        const report = await runJob({
          source: { database: pair.sourceUrl, schema },
          target: { database: pair.targetUrl, schema: "staging" },
          tables: { t: {} },
        }, { name: "quoted" });
        assertEquals(report.warnings, []);
        assertEquals(
          await tableText(pair.target, "staging", "t"),
          "100\ta\t1\t2\tx\n101\tb\t2\t4\ty\n",
        );
        const [next] = await pair.target`SELECT nextval('staging.ids')::int AS n`;
        assertEquals(next.n, 102);
      },
    );
  });
}

Deno.test("the client tools' text: exact pg_dump patterns, psql's error", () => {
  assertEquals(exactPattern("My.Schema"), '"My.Schema"');
  assertEquals(exactPattern("acme", 'Order "Items"*'), '"acme"."Order ""Items""*"');
  assertEquals(
    psqlError(
      'psql:<stdin>:1: NOTICE:  x\npsql:<stdin>:12: ERROR:  type "x" does not exist\nLINE 3: a x\n',
    ),
    'ERROR:  type "x" does not exist\nLINE 3: a x',
  );
  assertEquals(psqlError("psql: error: connection refused"), "psql: error: connection refused");
});
