/**
 * Whole jobs on two real servers: structure, data byte for byte, sequences, every `where` and
 * `select` form, the wildcard, renamed and same-named target schemas, re-runs.
 */

import { assertEquals, assertOk, assertRejects, assertStringIncludes } from "./_assert.ts";
import { ACME, ACME_TABLES } from "./_fixtures.ts";
import {
  describeSchema,
  exec,
  freshPair,
  type Pair,
  schemaNames,
  tableText,
  withSource,
} from "./_servers.ts";
import { runJob } from "../lib/run.ts";
import { ConfigError, JobError } from "../lib/errors.ts";
import type { Job, RunEvent, TableSpec } from "../lib/mod.ts";

function job(pair: Pair, tables: Record<string, TableSpec>, extra: Partial<Job> = {}): Job {
  return {
    source: { database: pair.sourceUrl, schema: "acme" },
    target: { database: pair.targetUrl, schema: "staging" },
    tables,
    ...extra,
  };
}

function withAcme(name: string, fn: (pair: Pair) => Promise<void>): Promise<void> {
  return withSource(name, ACME, fn);
}

async function ids(pair: Pair, table: string, schema = "staging"): Promise<number[]> {
  const rows = await pair.target.unsafe(`SELECT id FROM "${schema}"."${table}" ORDER BY id`);
  return rows.map((r) => Number(r.id));
}

Deno.test("a wildcard job rebuilds the schema: structure, data byte for byte, sequences", async () => {
  await withAcme("faithful", async (pair) => {
    const events: RunEvent[] = [];
    const report = await runJob(job(pair, { "*": {} }), {
      name: "export:acme",
      onEvent: (e) => events.push(e),
    });
    assertEquals(report.tables.map((t) => t.table).sort(), Object.keys(ACME_TABLES).sort());
    assertEquals(report.tables.find((t) => t.table === "users")?.rows, 5);

    const source = await describeSchema(pair.source, "acme");
    const target = await describeSchema(pair.target, "staging");
    for (const key of Object.keys(source)) {
      assertEquals(target[key], source[key], `structure: ${key}`);
    }

    for (const [table, order] of Object.entries(ACME_TABLES)) {
      assertEquals(
        await tableText(pair.target, "staging", table, order),
        await tableText(pair.source, "acme", table, order),
        table,
      );
    }
    // Sequences continue where the source's are, owned or not.
    const [s] = await pair
      .target`SELECT nextval('staging.legacy_seq') AS legacy, nextval('staging."Order Items_id_seq"') AS items`;
    assertEquals([Number(s.legacy), Number(s.items)], [115, 51]);
    const [u] = await pair.target.unsafe(
      `INSERT INTO staging.users (email) VALUES ('new@x') RETURNING id, doubled`,
    );
    assertEquals([Number(u.id), u.doubled], [6, 0]);
    // Extension types resolve on the target; citext compares case-insensitively.
    const [c] = await pair
      .target`SELECT count(*)::int AS n FROM staging.users WHERE email = 'ANN@EXAMPLE.COM'`;
    assertEquals(c.n, 1);
    assertEquals(await schemaNames(pair.target), ["public", "staging"]);
    assertOk(events.some((e) => e.kind === "step-start" && e.step === "swap"));
  });
});

Deno.test("every where form", async () => {
  await withAcme("where", async (pair) => {
    const cases: [TableSpec["where"], number[]][] = [
      [{ active: true }, [1, 3, 4]],
      [{ active: false, tenant_id: 3 }, [5]],
      [{ name: "O'Brien" }, [4]],
      [{ name: "tab\there" }, [3]],
      [{ id: [1, 2, 5] }, [1, 2, 5]],
      [{ id: [] }, []],
      [{ name: null }, [5]],
      [{ mood: ["ok", null] }, [3, 5]],
      [{ score: { gte: 5, lte: 999 } }, [1, 3, 4]],
      [{ score: { gt: 5, lt: 999 } }, [3]],
      [{ score: { ne: 5 } }, [3, 4, 5]],
      [{ score: { ne: null } }, [1, 3, 4, 5]],
      [{ id: { in: [2, 3] } }, [2, 3]],
      [{ id: { notIn: [2, 3] } }, [1, 4, 5]],
      [{ name: { like: "%e%" } }, [3, 4]],
      [{ score: { isNull: true } }, [2]],
      [{ score: { isNull: false }, tenant_id: { in: [2] } }, [3, 4]],
      [{ created_at: { gte: new Date("2024-03-01T00:00:00Z") } }, [3, 4, 5]],
      [{ created_at: { lt: "2024-02-10" } }, [1, 2]],
      [{ id: { gte: 2n, lte: 3n } }, [2, 3]],
      ["id % 2 = 1 OR name = 'Bob'", [1, 2, 3, 5]],
    ];
    for (const [where, expected] of cases) {
      await runJob(job(pair, { users: { where } }), { name: "where" });
      assertEquals(
        await ids(pair, "users"),
        expected,
        JSON.stringify(where, (_, v) => typeof v === "bigint" ? `${v}n` : v),
      );
    }
  });
});

Deno.test("select: placeholder, constants, expressions of another type, unlisted columns", async () => {
  await withAcme("select", async (pair) => {
    const day = async () => (await pair.source`SELECT current_date::text AS d`)[0].d;
    const today = { before: await day(), after: "" };
    await runJob(
      job(pair, {
        users: {
          select: {
            email: "'user' || id || '@example.com'",
            name: "upper({column_name})",
            created_at: "{column_name} + interval '1 day'",
            score: "'42'", // text literal into a domain over integer
          },
        },
        "Order Items": { select: { created: "now()", "Quantity": "{column_name} * 10" } }, // timestamptz into date
      }),
      { name: "select" },
    );
    today.after = await day();
    const rows = await pair
      .target`SELECT id, email::text, name, score, created_at, mood::text FROM staging.users ORDER BY id`;
    assertEquals(rows[0].email, "user1@example.com");
    assertEquals(rows[1].name, "BOB");
    assertEquals(rows[4].name, null);
    assertEquals(rows[2].score, 42);
    assertEquals(rows[0].created_at.toISOString(), "2024-01-06T10:00:00.000Z");
    assertEquals(rows[3].mood, `it's "fine"`);
    const items = await pair
      .target`SELECT "Quantity" AS q, created::text FROM staging."Order Items" ORDER BY id`;
    assertEquals(items.map((r) => r.q), [10, 20, 30, 40, 50, 60]);
    // The day of the run: the one before it started or after it ended (midnight may fall between).
    assertOk(
      items.every((r) => r.created >= today.before && r.created <= today.after),
      items[0].created,
    );
  });
});

Deno.test("tenant export with the wildcard: keys apply only where the column exists", async () => {
  await withAcme("tenant", async (pair) => {
    const report = await runJob(
      job(pair, {
        "*": { where: { tenant_id: 2 } },
        users: {},
        "Order Items": {},
        events: {},
      }),
      { name: "tenant" },
    );
    assertEquals(await ids(pair, "users"), [3, 4]);
    assertEquals(await ids(pair, "Order Items"), [4, 5]);
    assertEquals(await ids(pair, "events"), [1, 2, 3]);
    assertEquals(report.tables.length, 5);
  });
});

Deno.test("same schema name on both sides, re-run twice, extension in the schema set aside", async () => {
  const pair = await freshPair("public");
  try {
    await exec(
      pair.source,
      `
      CREATE EXTENSION citext;
      CREATE TYPE public.kind AS ENUM ('a', 'b');
      CREATE TABLE public.things (id int PRIMARY KEY, name citext, k public.kind);
      INSERT INTO public.things VALUES (1, 'One', 'a'), (2, 'Two', 'b');`,
    );
    await exec(
      pair.target,
      `CREATE EXTENSION citext; CREATE TABLE public.mine (x int); INSERT INTO public.mine VALUES (7);`,
    );
    const j: Job = {
      source: { database: pair.sourceUrl, schema: "public" },
      target: { database: pair.targetUrl, schema: "public" },
      tables: { things: {} },
    };
    for (let i = 0; i < 2; i++) await runJob(j, { name: "public" });
    assertEquals(await tableText(pair.target, "public", "things"), "1\tOne\ta\n2\tTwo\tb\n");
    // The old public schema (and the user's table in it) is replaced; citext survives the swap.
    const [ext] = await pair
      .target`SELECT n.nspname FROM pg_extension x JOIN pg_namespace n ON n.oid = x.extnamespace WHERE extname = 'citext'`;
    assertEquals(ext.nspname, "public");
    const [t] = await pair.target`SELECT to_regclass('public.mine') IS NULL AS gone`;
    assertOk(t.gone);
    assertEquals(await schemaNames(pair.target), ["public"]);
    // A copy into another schema while the target has a "public" of its own.
    await runJob({ ...j, target: { database: pair.targetUrl, schema: "Copy Of Public" } }, {
      name: "renamed",
    });
    assertEquals(
      await tableText(pair.target, "Copy Of Public", "things"),
      "1\tOne\ta\n2\tTwo\tb\n",
    );
    assertEquals(await schemaNames(pair.target), ["Copy Of Public", "public"]);
  } finally {
    await pair.close();
  }
});

Deno.test("a refresh keeps the privileges and default privileges users gave on the target schema", async () => {
  await withAcme("grants", async (pair) => {
    const role = `app_${pair.name}`.slice(0, 60);
    const j = job(pair, { users: {}, "Order Items": {} });
    await runJob(j, { name: "first" });
    await exec(
      pair.target,
      `CREATE ROLE "${role}";
      GRANT USAGE ON SCHEMA staging TO "${role}";
      GRANT SELECT, UPDATE ON staging.users TO "${role}";
      GRANT USAGE ON SEQUENCE staging."Order Items_id_seq" TO "${role}";
      ALTER DEFAULT PRIVILEGES IN SCHEMA staging GRANT SELECT, INSERT ON TABLES TO "${role}";
      ALTER DEFAULT PRIVILEGES IN SCHEMA staging GRANT USAGE ON SEQUENCES TO PUBLIC;
      ALTER DEFAULT PRIVILEGES FOR ROLE "${role}" IN SCHEMA staging
        GRANT EXECUTE ON FUNCTIONS TO "${role}" WITH GRANT OPTION;
      COMMENT ON SCHEMA staging IS 'refreshed nightly';`,
    );
    const defaults = () =>
      pair.target.unsafe(`SELECT pg_get_userbyid(defaclrole) AS role, defaclobjtype AS kind,
                                 defaclacl::text AS acl
                            FROM pg_default_acl WHERE defaclnamespace = 'staging'::regnamespace
                           ORDER BY 1, 2`).then((rows) => rows.map((r) => ({ ...r })));
    const before = await defaults();
    assertEquals(before.length, 3);
    try {
      await runJob(j, { name: "again" });
      assertEquals(await defaults(), before);
      const [p] = await pair.target.unsafe(`SELECT
        has_schema_privilege('${role}', 'staging', 'USAGE') AS usage,
        has_table_privilege('${role}', 'staging.users', 'SELECT') AS sel,
        has_table_privilege('${role}', 'staging.users', 'UPDATE') AS upd,
        has_table_privilege('${role}', 'staging."Order Items"', 'SELECT') AS other,
        has_sequence_privilege('${role}', 'staging."Order Items_id_seq"', 'USAGE') AS seq,
        obj_description('staging'::regnamespace, 'pg_namespace') AS comment`);
      assertEquals({ ...p }, {
        usage: true,
        sel: true,
        upd: true,
        other: false,
        seq: true,
        comment: "refreshed nightly",
      });
    } finally {
      await pair.target.unsafe(`DROP OWNED BY "${role}"; DROP ROLE "${role}"`).simple();
    }
  });
});

Deno.test("URL parameters reach every connection: options, application_name", async () => {
  await withAcme("params", async (pair) => {
    // The session's search_path comes from `options`: an unqualified function resolves.
    const source = `${pair.sourceUrl}?application_name=xmat-test&options=${
      encodeURIComponent("-c search_path=acme,public")
    }`;
    await runJob({
      ...job(pair, { users: { select: { score: "twice({column_name}) % 1000" } } }),
      source: { database: source, schema: "acme" },
    }, { name: "params" });
    const rows = await pair.target`SELECT score FROM staging.users ORDER BY id`;
    assertEquals(rows.map((r) => r.score), [10, null, 14, 998, 2]);
    // …and the client tools get them too: a read-only target session refuses the structure.
    const readOnly = `${pair.targetUrl}?options=${
      encodeURIComponent("-c default_transaction_read_only=on")
    }`;
    await assertRejects(
      () =>
        runJob({ ...job(pair, { users: {} }), target: { database: readOnly, schema: "other" } }, {
          name: "params",
        }),
      JobError,
      "read-only transaction",
    );
    assertEquals(await schemaNames(pair.target), ["public", "staging"]);
  });
});

Deno.test("a foreign key to a table outside the job is left out with a warning", async () => {
  await withAcme("fk-outside", async (pair) => {
    const report = await runJob(job(pair, { "Order Items": {} }), { name: "fk" });
    const keys = report.warnings.filter((w) => w.startsWith("foreign key"));
    assertEquals(keys.length, 1);
    assertStringIncludes(
      keys[0],
      'foreign key "Order Items_user_id_fkey" of table "Order Items" references "acme"."users"',
    );
    const fks = await pair
      .target`SELECT count(*)::int AS n FROM pg_constraint WHERE contype = 'f' AND connamespace = 'staging'::regnamespace`;
    assertEquals(fks[0].n, 0);
    assertEquals(await ids(pair, "Order Items"), [1, 2, 3, 4, 5, 6]);
  });
});

Deno.test("unknown tables and columns fail before anything is written", async () => {
  await withAcme("bad-names", async (pair) => {
    const error = await assertRejects(
      () => runJob(job(pair, { Users: {}, users: { select: { emial: "'x'" } } }), { name: "bad" }),
      ConfigError,
    ) as ConfigError;
    assertStringIncludes(
      error.message,
      'no table "Users" in schema "acme" of the source (did you mean "users"?)',
    );
    assertStringIncludes(
      error.message,
      'no column "emial" in table "users" (columns: id, email, name,',
    );
    await assertRejects(
      () =>
        runJob({
          ...job(pair, { users: {} }),
          source: { database: pair.sourceUrl, schema: "nope" },
        }, { name: "bad" }),
      JobError,
      'schema "nope" does not exist on the source',
    );
    assertEquals(await schemaNames(pair.target), ["public"]);
  });
});
