/**
 * Edge cases of schemas and job files beyond the fixture's: mixed-case schemas, tables without
 * copyable columns, `char(n)` and `bit(n)` under a `select`, column names that are also
 * `Object.prototype` keys, extended statistics, and target schemas that hold collations, text
 * search configurations or operators other schemas use.
 */

import {
  assertEquals,
  assertNotIncludes,
  assertOk,
  assertRejects,
  assertStringIncludes,
} from "./_assert.ts";
import { dumpDatabase, exec, type Pair, tableText, withPair, withSource } from "./_servers.ts";
import { runJob } from "../lib/run.ts";
import { ConfigError, JobError } from "../lib/errors.ts";
import type { Job, TableSpec } from "../lib/mod.ts";

function job(pair: Pair, schema: string, tables: Record<string, TableSpec>): Job {
  return {
    source: { database: pair.sourceUrl, schema },
    target: { database: pair.targetUrl, schema: "staging" },
    tables,
  };
}

Deno.test("a mixed-case source schema: a foreign key the filters orphan is made NOT VALID", async () => {
  await withSource(
    "e-mixed",
    `
      CREATE SCHEMA "Acme";
      CREATE TABLE "Acme".parent (id int PRIMARY KEY);
      CREATE TABLE "Acme".child (id int PRIMARY KEY, parent_id int REFERENCES "Acme".parent);
      INSERT INTO "Acme".parent VALUES (1), (2);
      INSERT INTO "Acme".child VALUES (1, 1), (2, 2);`,
    async (pair) => {
      // The key's definition is read with the source schema on the search path: unquoted there,
      // "Acme" named no schema and the key came back qualified with the source's name.
      const report = await runJob(
        job(pair, "Acme", { parent: { where: { id: 1 } }, child: {} }),
        { name: "mixed" },
      );
      assertOk(report.warnings.some((w) => w.includes("created NOT VALID")));
      const [fk] = await pair.target`
      SELECT pg_get_constraintdef(oid) AS def, convalidated FROM pg_constraint WHERE contype = 'f'`;
      assertEquals([fk.def, fk.convalidated], [
        "FOREIGN KEY (parent_id) REFERENCES staging.parent(id) NOT VALID",
        false,
      ]);
    },
  );
});

Deno.test("tables without a column to copy: all generated, or none at all", async () => {
  await withSource(
    "e-nocols",
    `
      CREATE SCHEMA s;
      CREATE TABLE s.only_generated (a int GENERATED ALWAYS AS (1) STORED);
      INSERT INTO s.only_generated DEFAULT VALUES;
      INSERT INTO s.only_generated DEFAULT VALUES;
      CREATE TABLE s.no_columns ();
      INSERT INTO s.no_columns DEFAULT VALUES;`,
    async (pair) => {
      for (const format of ["binary", "text"] as const) {
        const report = await runJob(job(pair, "s", { "*": {} }), { name: "nocols", format });
        assertEquals(
          report.tables.map((t) => `${t.table}:${t.rows}`).sort(),
          ["no_columns:1", "only_generated:2"],
        );
        assertEquals(await tableText(pair.target, "staging", "only_generated"), "1\n1\n");
        const [n] = await pair.target`SELECT count(*)::int AS n FROM staging.no_columns`;
        assertEquals(n.n, 1);
      }
    },
  );
});

Deno.test("select on char(n), bit(n) and char(n)[] columns keeps their length", async () => {
  await withSource(
    "e-char",
    `
      CREATE SCHEMA s;
      CREATE TABLE s.t (id int PRIMARY KEY, code char(5), bits bit(4), codes char(3)[]);
      INSERT INTO s.t VALUES (1, 'abcde', B'1011', '{abc,de}');`,
    async (pair) => {
      // Cast to "character" and "bit", the values became char(1) and bit(1): 'abcde' was cut to
      // 'A' without a word, and the bits failed the target's COPY.
      const select = {
        code: "upper({column_name})",
        bits: "{column_name}",
        codes: "{column_name}",
      };
      await runJob(job(pair, "s", { t: { select } }), { name: "char" });
      assertEquals(await tableText(pair.target, "staging", "t"), '1\tABCDE\t1011\t{abc,"de "}\n');
    },
  );
});

Deno.test("a select on a table with a column named like an Object.prototype key", async () => {
  await withSource(
    "e-proto",
    `
      CREATE SCHEMA s;
      CREATE TABLE s.cars (id int PRIMARY KEY, "constructor" text, "toString" text);
      INSERT INTO s.cars VALUES (1, 'Ferrari', 'x');`,
    async (pair) => {
      await runJob(job(pair, "s", { cars: { select: { id: "{column_name} + 10" } } }), {
        name: "proto",
      });
      assertEquals(await tableText(pair.target, "staging", "cars"), "11\tFerrari\tx\n");
    },
  );
});

Deno.test("extended statistics come along and are built", async () => {
  await withSource(
    "e-stats",
    `
      CREATE SCHEMA s;
      CREATE TABLE s.t (id int PRIMARY KEY, a int, b int);
      CREATE STATISTICS s.t_ab (ndistinct, dependencies) ON a, b FROM s.t;
      INSERT INTO s.t SELECT i, i % 10, i % 10 FROM generate_series(1, 500) i;`,
    async (pair) => {
      await runJob(job(pair, "s", { t: {} }), { name: "stats" });
      const rows = await pair.target`
      SELECT e.stxname, e.stxnamespace::regnamespace::text AS schema,
             EXISTS (SELECT 1 FROM pg_statistic_ext_data d
                      WHERE d.stxoid = e.oid AND d.stxdndistinct IS NOT NULL) AS built
        FROM pg_statistic_ext e`;
      assertEquals(rows.map((r) => ({ ...r })), [{
        stxname: "t_ab",
        schema: "staging",
        built: true,
      }]);
    },
  );
});

Deno.test("dependents of a target schema's collation, text search configuration, operator", async () => {
  await withSource(
    "e-deps",
    `CREATE SCHEMA s; CREATE TABLE s.t (id int PRIMARY KEY); INSERT INTO s.t VALUES (1);`,
    async (pair) => {
      await exec(
        pair.target,
        `
      CREATE SCHEMA staging;
      CREATE COLLATION staging.ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
      CREATE TEXT SEARCH CONFIGURATION staging.cfg (COPY = english);
      CREATE FUNCTION public.same(int, int) RETURNS bool LANGUAGE sql IMMUTABLE AS 'SELECT $1 = $2';
      CREATE OPERATOR staging.=== (LEFTARG = int, RIGHTARG = int, FUNCTION = public.same);
      CREATE TABLE public.people (id int, name text COLLATE staging.ci);
      INSERT INTO public.people VALUES (1, 'Ann');
      CREATE INDEX people_fts ON public.people USING gin (to_tsvector('staging.cfg', name));
      CREATE VIEW public.v AS SELECT 1 OPERATOR(staging.===) 1 AS x;`,
      );
      // The swap's DROP SCHEMA … CASCADE dropped the column people.name, the index and the view.
      const before = await dumpDatabase(pair.targetUrl);
      const refused = await assertRejects(
        () => runJob(job(pair, "s", { t: {} }), { name: "deps" }),
        JobError,
      ) as JobError;
      for (
        const expected of [
          "table people (depends on collation staging.ci)",
          "index people_fts (depends on text search configuration staging.cfg)",
          "view v (depends on operator staging.===(integer,integer))",
        ]
      ) assertStringIncludes(refused.message, expected);
      assertEquals(await dumpDatabase(pair.targetUrl), before);
    },
  );
});

Deno.test("an extension type in the target schema: what uses it elsewhere is not a dependent", async () => {
  await withSource(
    "e-ext",
    `CREATE SCHEMA s; CREATE TABLE s.t (id int PRIMARY KEY); INSERT INTO s.t VALUES (1);`,
    async (pair) => {
      await exec(
        pair.target,
        `
      CREATE SCHEMA staging;
      CREATE EXTENSION citext WITH SCHEMA staging;
      CREATE TABLE public.keep (id int, name staging.citext);
      INSERT INTO public.keep VALUES (1, 'Ann');`,
      );
      // citext moves into the new schema: the job was refused for a column that stays.
      const report = await runJob(job(pair, "s", { t: {} }), { name: "ext" });
      assertEquals(report.warnings, []);
      assertEquals(await tableText(pair.target, "public", "keep"), "1\tAnn\n");
      const [c] = await pair.target`
      SELECT count(*)::int AS n FROM public.keep WHERE name OPERATOR(staging.=) 'ANN'`;
      assertEquals(c.n, 1);
    },
  );
});

Deno.test("a domain's constraints: one calling a function of the schema, one NOT VALID", async () => {
  await withSource(
    "e-domain",
    `
      CREATE SCHEMA s;
      CREATE FUNCTION s.positive(int) RETURNS bool LANGUAGE sql IMMUTABLE AS 'SELECT $1 > 0';
      CREATE DOMAIN s.pos AS int CONSTRAINT pos_ok CHECK (s.positive(VALUE));
      CREATE DOMAIN s.small AS int;
      CREATE TABLE s.t (id int PRIMARY KEY, p s.pos, sm s.small);
      INSERT INTO s.t VALUES (1, 5, 500);
      ALTER DOMAIN s.small ADD CONSTRAINT small_lt CHECK (VALUE < 100) NOT VALID;`,
    async (pair) => {
      // The function was left out (the restore failed), and the NOT VALID constraint silently.
      await runJob(job(pair, "s", { t: {} }), { name: "domain" });
      const rows = await pair.target`
      SELECT conname, pg_get_constraintdef(oid) AS def FROM pg_constraint
       WHERE contypid IN ('staging.pos'::regtype, 'staging.small'::regtype) ORDER BY 1`;
      assertEquals(rows.map((r) => `${r.conname}: ${r.def}`), [
        "pos_ok: CHECK (staging.positive(VALUE))",
        "small_lt: CHECK ((VALUE < 100)) NOT VALID",
      ]);
      assertEquals(await tableText(pair.target, "staging", "t"), "1\t5\t500\n");
    },
  );
});

Deno.test("tables the chosen ones cannot be created without: refused in the plan, named", async () => {
  await withSource(
    "e-needs",
    `
      CREATE SCHEMA s;
      CREATE TABLE s.base (id int PRIMARY KEY, v text);
      CREATE TABLE s.kid (extra int) INHERITS (s.base);
      INSERT INTO s.base VALUES (1, 'b');
      INSERT INTO s.kid VALUES (2, 'k', 9);
      CREATE TABLE s.allowed (id int);
      CREATE TABLE s.secret (id int PRIMARY KEY);
      ALTER TABLE s.secret ENABLE ROW LEVEL SECURITY;
      CREATE POLICY p ON s.secret USING (id IN (SELECT id FROM s.allowed));
      CREATE TABLE s.a (id int GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY);
      CREATE TABLE s.b (id int PRIMARY KEY DEFAULT nextval('s.a_id_seq'));
      INSERT INTO s.b DEFAULT VALUES;
      CREATE VIEW s.open_ids AS SELECT 1 AS id;
      CREATE TABLE s.shown (id int PRIMARY KEY);
      ALTER TABLE s.shown ENABLE ROW LEVEL SECURITY;
      CREATE POLICY q ON s.shown USING (id IN (SELECT id FROM s.open_ids));`,
    async (pair) => {
      // The restore failed on the missing table ("relation s.base does not exist"), the policy's
      // only after every table was copied.
      const refused = await assertRejects(
        () => runJob(job(pair, "s", { kid: {}, secret: {}, b: {}, shown: {} }), { name: "needs" }),
        JobError,
      ) as JobError;
      assertEquals(refused.place.step, "plan");
      for (
        const expected of [
          'table s.kid needs table "base"',
          'policy p on s.secret needs table "allowed"',
          'sequence s.a_id_seq needs table "a"',
        ]
      ) assertStringIncludes(refused.message, expected);
      // The view a policy reads comes along (it reads no table the job leaves out), unless the
      // job brings tables only.
      assertNotIncludes(refused.message, "open_ids");
      const tablesOnly = await assertRejects(
        () => runJob({ ...job(pair, "s", { shown: {} }), objects: "tables" }, { name: "needs" }),
        JobError,
      ) as JobError;
      assertStringIncludes(tablesOnly.message, 'policy q on s.shown needs view "open_ids"');
      assertStringIncludes(tablesOnly.message, '`objects: "dependent"`');
      const none = { where: "false" };
      await runJob(
        job(pair, "s", {
          kid: {},
          secret: {},
          b: {},
          shown: {},
          base: none,
          allowed: none,
          a: none,
        }),
        { name: "needs" },
      );
      const [policy] = await pair.target`
        SELECT pg_get_expr(polqual, polrelid) AS qual FROM pg_policy WHERE polname = 'q'`;
      assertStringIncludes(policy.qual, "staging.open_ids");
      assertEquals(await tableText(pair.target, "staging", "kid"), "2\tk\t9\n");
      const [b] = await pair.target`INSERT INTO staging.b DEFAULT VALUES RETURNING id`;
      assertEquals(b.id, 2);
    },
  );
});

Deno.test("a where or select on a partition copied through its parent is refused", async () => {
  await withSource(
    "e-part",
    `
      CREATE SCHEMA s;
      CREATE TABLE s.users (id int, region text, email text) PARTITION BY LIST (region);
      CREATE TABLE s.users_eu PARTITION OF s.users FOR VALUES IN ('eu');
      CREATE TABLE s.users_us PARTITION OF s.users FOR VALUES IN ('us');
      INSERT INTO s.users VALUES (1, 'eu', 'ann@example.com'), (2, 'us', 'bob@example.com');`,
    async (pair) => {
      // The partition's rows came through the parent's query: the emails were copied as they are.
      const error = await assertRejects(
        () =>
          runJob(job(pair, "s", { "*": {}, users_eu: { select: { email: "'hidden'" } } }), {
            name: "part",
          }),
        ConfigError,
      ) as ConfigError;
      assertEquals(error.issues, [
        'jobs["part"].tables.users_eu: partition "users_eu" is copied through "users", so its own ' +
        'where and select would not apply: give them to "users", or name the partitions without ' +
        "their parent",
      ]);
      // Named alone, the partitions take their own.
      await runJob(
        job(pair, "s", { users_eu: { select: { email: "'hidden'" } }, users_us: {} }),
        { name: "part" },
      );
      assertEquals(await tableText(pair.target, "staging", "users_eu"), "1\teu\thidden\n");
    },
  );
});

Deno.test("text COPY is not read differently: the source database's DateStyle, IntervalStyle, float digits", async () => {
  await withPair("e-styles", async (pair) => {
    await exec(
      pair.source,
      `
      ALTER DATABASE "${pair.name}" SET DateStyle = 'German, DMY';
      ALTER DATABASE "${pair.name}" SET IntervalStyle = 'sql_standard';
      ALTER DATABASE "${pair.name}" SET extra_float_digits = 0;
      CREATE SCHEMA s;
      CREATE TABLE s.t (id int PRIMARY KEY, d date, f float8, i interval);
      INSERT INTO s.t VALUES (1, '2024-11-05', 0.1::float8 + 0.2::float8, '-1 day -02:03:04');`,
    );
    // The target read "05.11.2024" as May 11, "0.3" for 0.30000000000000004, and
    // "-1 2:03:04" as -1 day +02:03:04. The job's own literal keeps the database's order.
    await runJob(job(pair, "s", { t: { where: "d = '05.11.2024'" } }), {
      name: "styles",
      format: "text",
    });
    assertEquals(
      await tableText(pair.target, "staging", "t"),
      "1\t2024-11-05\t0.30000000000000004\t-1 days -02:03:04\n",
    );
  });
});

Deno.test("XML content loads into a target database whose xmloption is document", async () => {
  await withPair("e-xml", async (pair) => {
    await exec(pair.target, `ALTER DATABASE "${pair.name}" SET xmloption = document`);
    await exec(
      pair.source,
      `
      CREATE SCHEMA s;
      CREATE TABLE s.t (id int PRIMARY KEY, x xml);
      INSERT INTO s.t VALUES (1, 'text &amp; <b>fragment</b>'), (2, '<a/>');`,
    );
    // "invalid XML document", in either format.
    for (const format of ["text", "binary"] as const) {
      await runJob(job(pair, "s", { t: {} }), { name: "xml", format });
      assertEquals(
        await tableText(pair.target, "staging", "t"),
        "1\ttext &amp; <b>fragment</b>\n2\t<a/>\n",
      );
    }
  });
});

Deno.test("timeouts set on the databases do not end a job's sessions", async () => {
  await withPair("e-timeouts", async (pair) => {
    const timeouts = `
      ALTER DATABASE "${pair.name}" SET statement_timeout = '1s';
      ALTER DATABASE "${pair.name}" SET idle_in_transaction_session_timeout = '1s';
      ALTER DATABASE "${pair.name}" SET idle_session_timeout = '1s';`;
    await exec(pair.source, timeouts);
    await exec(pair.target, timeouts);
    await exec(
      pair.source,
      `
      CREATE SCHEMA s;
      CREATE TABLE s.slow (id int PRIMARY KEY, v text);
      INSERT INTO s.slow SELECT i, 'x' FROM generate_series(1, 5) i;`,
    );
    // The copy outlasted them: sessions idle in a transaction (the target's while the source
    // computes rows, the exported snapshot's) were ended and the job failed; with the source's
    // alone, the process crashed in postgres.js when the job committed the snapshot. Idle
    // sessions (the target lock's, the pools' spares) were ended too.
    const report = await runJob(
      job(pair, "s", { slow: { select: { v: "{column_name} || pg_sleep(0.3)::text" } } }),
      { name: "timeouts", jobs: 1 },
    );
    assertEquals(report.tables[0].rows, 5);
    assertOk(report.tables[0].seconds >= 1.5);
  });
});

Deno.test("select on a column whose name holds $$ or $&", async () => {
  await withSource(
    "e-dollar",
    `
      CREATE SCHEMA s;
      CREATE TABLE s.prices (id int PRIMARY KEY, "cost$$usd" int, "cost$usd" int, "a$&b" text);
      INSERT INTO s.prices VALUES (1, 10, 99, 'x');`,
    async (pair) => {
      // "$$" in a replacement string is one "$": the expression read the column "cost$usd".
      const select = { "cost$$usd": "{column_name} * 2", "a$&b": "upper({column_name})" };
      await runJob(job(pair, "s", { prices: { select } }), { name: "dollar" });
      assertEquals(await tableText(pair.target, "staging", "prices"), "1\t20\t99\tX\n");
    },
  );
});

Deno.test("regclass and regtype columns go by name, not by the source's OIDs", async () => {
  await withPair("e-reg", async (pair) => {
    const shared =
      `CREATE SCHEMA shared; CREATE TABLE shared.things (id int); CREATE TYPE shared.kind AS ENUM ('a');`;
    await exec(pair.target, `CREATE TABLE public.shift_oids (id int); ${shared}`);
    await exec(
      pair.source,
      `
      ${shared}
      CREATE SCHEMA s;
      CREATE TABLE s.refs (id int PRIMARY KEY, rel regclass, typ regtype);
      INSERT INTO s.refs VALUES (1, 'shared.things', 'shared.kind'), (2, 'pg_class', 'integer');`,
    );
    // Binary COPY (the default here) carried the source's OIDs: other objects, or none.
    await runJob(job(pair, "s", { refs: {} }), { name: "reg" });
    assertEquals(
      await tableText(pair.target, "staging", "refs"),
      "1\tshared.things\tshared.kind\n2\tpg_class\tinteger\n",
    );
  });
});

Deno.test("during the copy no session of the job idles in a transaction on the source", async () => {
  await withSource(
    "e-idle",
    `CREATE SCHEMA app;
      CREATE TABLE app.slow (id int PRIMARY KEY, v text);
      INSERT INTO app.slow SELECT i, 'v' || i FROM generate_series(1, 400) i;`,
    async (pair) => {
      const running = runJob(
        job(pair, "app", {
          slow: { select: { v: "{column_name} || left(pg_sleep(0.005)::text, 0)" } },
        }),
        { name: "idle", jobs: 1 },
      );
      const deadline = Date.now() + 20_000;
      let copying = false;
      while (!copying && Date.now() < deadline) {
        const [row] = await pair.source`
        SELECT count(*)::int AS n FROM pg_stat_activity
         WHERE datname = ${pair.name} AND state = 'active' AND query LIKE 'COPY (SELECT%'`;
        copying = row.n > 0;
        if (!copying) await new Promise((r) => setTimeout(r, 20));
      }
      assertOk(copying, "the copy did not start");
      // An exporting transaction left open for the whole copy is what an idle-in-transaction
      // timeout or an administrator ends; its session's death then crashed the process.
      const idle = await pair.source`
      SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE datname = ${pair.name} AND application_name = 'pg-xmat'
         AND state = 'idle in transaction'`;
      assertEquals(idle.length, 0);
      const report = await running;
      assertEquals(report.tables[0].rows, 400);
    },
  );
});

Deno.test("a -- comment at the end of a where string or a select expression", async () => {
  await withSource(
    "e-comment",
    `CREATE SCHEMA app;
      CREATE TABLE app.t (id int PRIMARY KEY, v text);
      INSERT INTO app.t VALUES (1, 'a'), (2, 'b'), (3, 'c');`,
    async (pair) => {
      const report = await runJob(
        job(pair, "app", {
          t: {
            where: "id >= 2 -- the recent ones",
            select: { v: "upper({column_name}) -- shout" },
          },
        }),
        { name: "comment" },
      );
      assertEquals(report.tables[0].rows, 2);
      assertEquals(await tableText(pair.target, "staging", "t", "id"), "2\tB\n3\tC\n");
    },
  );
});

Deno.test("orphans are counted with the key's own equality: citext kept off the search_path", async () => {
  await withSource(
    "e-citext-fk",
    `CREATE EXTENSION citext;
    CREATE SCHEMA s;
    CREATE TABLE s.parent (code citext PRIMARY KEY);
    CREATE TABLE s.child (id int PRIMARY KEY, code citext REFERENCES s.parent);
    INSERT INTO s.parent VALUES ('ANN'), ('BOB');
    INSERT INTO s.child VALUES (1, 'ann'), (2, 'bob');`,
    async (pair) => {
      await exec(pair.target, "CREATE SCHEMA staging; CREATE EXTENSION citext WITH SCHEMA staging");
      // Compared as text, 'ann' had no parent 'ANN' either: two orphans instead of one.
      const report = await runJob(
        job(pair, "s", { parent: { where: { code: "ANN" } }, child: {} }),
        { name: "citext-fk" },
      );
      const warning = report.warnings.find((w) => w.includes("child_code_fkey"));
      assertStringIncludes(warning ?? "", ": 1 row reference rows");
    },
  );
});
