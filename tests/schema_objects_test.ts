/**
 * The whole schema, not only its tables: which objects a job brings per `objects` mode, what it
 * leaves out and why (warnings, `--dry-run`, `--json`), routines' search paths moved to the
 * target schema (decided in `routines_test.ts`), materialized views filled from the copied rows;
 * pure decisions first, then jobs on real servers with the `SHOP` fixture (every kind of object), into a schema of another name
 * and of the same name.
 */

import {
  assertEquals,
  assertNotIncludes,
  assertOk,
  assertRejects,
  assertStringIncludes,
} from "./_assert.ts";
import { SHOP } from "./_fixtures.ts";
import { dumpDatabase, exec, inDir, type Pair, runCli, withSource } from "./_servers.ts";
import {
  chooseObjects,
  leftOutWarnings,
  type ObjectNode,
  refreshSql,
  unhandledObjects,
} from "../lib/schema_objects.ts";
import { planJob, runJob } from "../lib/run.ts";
import { parseToc } from "../lib/toc.ts";
import { JobError } from "../lib/errors.ts";
import type { Job, ObjectsMode, TableSpec } from "../lib/mod.ts";
import type { RunDocument } from "../cli/report.ts";
import type { DryRunDocument } from "../cli/dry_run.ts";

function node(key: string, identity: string, needs: string[], roots: string[]): ObjectNode {
  return {
    key,
    type: identity.includes("(") ? "function" : key.startsWith("1259:") ? "view" : "type",
    schema: "s",
    inSchema: true,
    identity,
    owned: key.startsWith("1259:"),
    needs: needs.map((n) => ({
      key: `1259:${n}`,
      schema: "s",
      name: `r${n}`,
      kind: Number(n) < 20 ? "table" : "view",
      identity: `s.r${n}`,
    })),
    roots,
  };
}

// Tables 10 (copied) and 11 (skipped); views 20 (reads 10), 21 (reads 11), 22 (reads 21);
// function 1255:1 used by view 20, function 1255:2 takes view 21's row type, type 1247:3 unused.
const GRAPH = {
  schema: "s",
  tables: { roots: new Set(["1259:10"]), relations: new Set(["1259:10"]) },
  relations: ["20", "21", "22"].map((oid) => ({
    key: `1259:${oid}`,
    oid: Number(oid),
    name: `r${oid}`,
    kind: "view" as const,
    populated: true,
  })),
  nodes: [
    node("1259:10", "s.r10", [], ["1259:10"]),
    node("1259:20", "s.r20", ["10"], ["1259:20"]),
    node("1259:21", "s.r21", ["11"], ["1259:21"]),
    node("1259:22", "s.r22", ["21"], ["1259:22"]),
    node("1255:1", "s.f()", [], ["1255:1", "1259:20"]),
    node("1255:2", "s.g(s.r21)", ["21"], ["1255:2"]),
    node("1247:3", "s.unused", [], ["1247:3"]),
  ],
};

function choose(mode: ObjectsMode) {
  return chooseObjects({ ...GRAPH, mode });
}

Deno.test("chooseObjects: a view comes when every relation it reads does, with what it needs", () => {
  const dependent = choose("dependent");
  assertEquals([...dependent.objects].sort(), ["1255:1", "1259:10", "1259:20"]);
  assertEquals(dependent.relations.map((r) => r.name), ["r20"]);
  assertEquals(dependent.missing, []);
  const why = Object.fromEntries(dependent.leftOut.map((o) => [o.name, `${o.reason} | ${o.todo}`]));
  assertEquals(why, {
    "s.r21": 'it needs table "r11", which the job does not copy | add table "r11" to the job ' +
      '(`where: "false"` copies its structure only)',
    // The view a view reads is left out: what to do is what that one needs.
    "s.r22": 'it needs view "r21", which is left out | add table "r11" to the job ' +
      '(`where: "false"` copies its structure only)',
    "s.g(s.r21)":
      'no copied table or view needs it (objects: "dependent") | set `objects: "all"` in the job to bring the whole schema',
    "s.unused":
      'no copied table or view needs it (objects: "dependent") | set `objects: "all"` in the job to bring the whole schema',
  });

  const all = choose("all");
  assertEquals([...all.objects].sort(), ["1247:3", "1255:1", "1259:10", "1259:20"]);
  assertEquals(
    all.leftOut.find((o) => o.name === "s.g(s.r21)")?.reason,
    'it needs view "r21", which is left out',
  );

  const tables = choose("tables");
  assertEquals([...tables.objects], ["1259:10"]);
  assertEquals(
    tables.leftOut.find((o) => o.name === "s.r20")?.reason,
    'the job brings tables only (objects: "tables")',
  );
});

Deno.test("chooseObjects: what a copied table needs that is not brought is missing", () => {
  const graph = {
    ...GRAPH,
    nodes: [...GRAPH.nodes, node("3256:7", "p on s.r10", ["21"], ["1259:10"])],
  };
  assertEquals(chooseObjects({ ...graph, mode: "all" }).missing, [
    'type p on s.r10 needs view "r21"',
  ]);
  const fine = {
    ...graph,
    nodes: [...GRAPH.nodes, node("3256:7", "p on s.r10", ["20"], ["1259:10"])],
  };
  assertEquals(chooseObjects({ ...fine, mode: "dependent" }).missing, []);
  assertEquals(chooseObjects({ ...fine, mode: "tables" }).missing, [
    'type p on s.r10 needs view "r20"',
  ]);
});

Deno.test("refreshSql follows the dump's order, skips what the source left unfilled and what reads it", () => {
  const views = [
    { key: "1259:1", oid: 1, name: "top", kind: "materialized view" as const, populated: true },
    { key: "1259:2", oid: 2, name: "counts", kind: "materialized view" as const, populated: true },
    { key: "1259:3", oid: 3, name: "empty", kind: "materialized view" as const, populated: false },
    { key: "1259:4", oid: 4, name: "v", kind: "view" as const, populated: true },
    { key: "1259:5", oid: 5, name: "over", kind: "materialized view" as const, populated: true },
  ];
  const toc = parseToc([
    "10; 1259 4 VIEW s v o",
    "11; 1259 2 MATERIALIZED VIEW s counts o",
    "12; 1259 3 MATERIALIZED VIEW s empty o",
    "13; 1259 1 MATERIALIZED VIEW s top o",
    ";\tdepends on: 11",
    "14; 1259 6 VIEW s through o",
    ";\tdepends on: 12",
    "15; 1259 5 MATERIALIZED VIEW s over o",
    ";\tdepends on: 14",
  ].join("\n"));
  const refresh = refreshSql(views, toc, "S");
  assertEquals(refresh.statements.map((s) => s.split("\n")[1]), [
    'REFRESH MATERIALIZED VIEW "S"."counts"',
    'REFRESH MATERIALIZED VIEW "S"."top"',
  ]);
  assertEquals(refresh.unfilled, ["over"]);
});

Deno.test("unhandledObjects: what the dump holds that is neither restored nor explained", () => {
  const dumped = [
    { key: "1259:1", type: "TABLE", name: "t" },
    { key: "1255:2", type: "FUNCTION", name: "f()" },
    { key: "3381:3", type: "STATISTICS", name: "st" },
    { key: "0:0", type: "COMMENT", name: "TABLE t" },
    { key: "0:1", type: "ROW SECURITY", name: "t" },
    { key: "2615:9", type: "SCHEMA", name: "s" },
    { key: "826:4", type: "DEFAULT ACL", name: "DEFAULT PRIVILEGES FOR TABLES" },
  ];
  assertEquals(unhandledObjects(dumped, new Set(["1259:1"]), new Set(["1255:2"]), "s"), [{
    type: "STATISTICS",
    name: "s.st",
    reason: "pg-xmat does not handle this kind of object",
    todo: "create it on the target yourself",
  }]);
});

Deno.test("leftOutWarnings: one each, those the mode leaves share a line", () => {
  const warnings = leftOutWarnings([
    { type: "view", name: "s.v", reason: "it needs table", todo: "add it" },
    {
      type: "function",
      name: "s.f()",
      reason: "no copied table or view needs it (x)",
      todo: "all",
    },
    { type: "type", name: "s.t", reason: "no copied table or view needs it (x)", todo: "all" },
  ]);
  assertEquals(warnings, [
    "view s.v is left out: it needs table; add it",
    "left out, as no copied table or view needs it (x): function s.f(), type s.t; all",
  ]);
});

function shopJob(pair: Pair, target: string, tables: Record<string, TableSpec>): Job {
  return {
    source: { database: pair.sourceUrl, schema: "shop" },
    target: { database: pair.targetUrl, schema: target },
    tables,
  };
}

/** Every object of a schema, named without the schema (rendered with it on the search path). */
async function objectsOf(sql: Pair["source"], schema: string): Promise<string[]> {
  return await sql.begin(async (tx) => {
    await tx`SELECT set_config('search_path', ${schema}, true)`;
    const rows = await tx`
      WITH ns AS (SELECT oid FROM pg_namespace WHERE nspname = ${schema})
      SELECT x FROM (
        SELECT relkind::text || ' ' || relname::text AS x FROM pg_class WHERE relnamespace = (TABLE ns)
        UNION ALL SELECT 'routine ' || prokind::text || ' ' || proname || '('
                         || pg_get_function_identity_arguments(oid) || ')'
                    FROM pg_proc WHERE pronamespace = (TABLE ns)
        UNION ALL SELECT 'type ' || typtype::text || ' ' || typname FROM pg_type
                   WHERE typnamespace = (TABLE ns) AND typtype IN ('e', 'd', 'c')
        UNION ALL SELECT 'operator ' || oprname || '(' || oprleft::regtype || ', ' || oprright::regtype || ')'
                    FROM pg_operator
                   WHERE oprnamespace = (TABLE ns)
        UNION ALL SELECT 'opclass ' || opcname FROM pg_opclass WHERE opcnamespace = (TABLE ns)
        UNION ALL SELECT 'opfamily ' || opfname FROM pg_opfamily WHERE opfnamespace = (TABLE ns)
        UNION ALL SELECT 'collation ' || collname FROM pg_collation WHERE collnamespace = (TABLE ns)
        UNION ALL SELECT 'conversion ' || conname FROM pg_conversion WHERE connamespace = (TABLE ns)
        UNION ALL SELECT 'ts config ' || cfgname FROM pg_ts_config WHERE cfgnamespace = (TABLE ns)
        UNION ALL SELECT 'rule ' || rulename FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class
                   WHERE c.relnamespace = (TABLE ns) AND rulename <> '_RETURN'
        UNION ALL SELECT 'policy ' || polname FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
                   WHERE c.relnamespace = (TABLE ns)
        UNION ALL SELECT 'comment ' || description FROM pg_description d
                   JOIN pg_class c ON c.oid = d.objoid AND d.classoid = 'pg_class'::regclass
                   WHERE c.relnamespace = (TABLE ns)
      ) o ORDER BY x`;
    return rows.map((r) => r.x);
  });
}

/** One value of a query. */
async function value(sql: Pair["source"], query: string): Promise<unknown> {
  const [row] = await sql.unsafe(query);
  return Object.values(row)[0];
}

Deno.test("a wildcard job brings every object of the schema, into another name and the same", async () => {
  await withSource("o-all", SHOP, async (pair) => {
    // Another name, the orders filtered: the materialized views hold the target's rows.
    const report = await runJob(
      shopJob(pair, "staging", { "*": {}, orders: { where: { id: [1, 2, 3] } } }),
      { name: "all" },
    );
    const source = await objectsOf(pair.source, "shop");
    assertOk(source.length > 40, source.join("\n"));
    assertEquals(await objectsOf(pair.target, "staging"), source);
    assertEquals(report.objects.VIEW, 3);
    assertEquals(report.objects["MATERIALIZED VIEW"], 3);
    assertEquals(
      [report.objects.AGGREGATE, report.objects.PROCEDURE, report.objects["OPERATOR CLASS"]],
      [1, 1, 1],
    );
    assertEquals(report.leftOut.map((o) => `${o.type} ${o.name}`), ["cast (shop.price AS text)"]);
    assertStringIncludes(
      report.leftOut[0].todo,
      "CREATE CAST (shop.price AS text) WITH FUNCTION shop.price_text(shop.price)",
    );
    const warned = report.warnings.join("\n");
    assertStringIncludes(warned, 'function shop.qualified_count() names schema "shop" in its body');
    assertNotIncludes(warned, "atomic_count", "a BEGIN ATOMIC body is bound by OID");
    assertNotIncludes(warned, "customer_total");

    const t = pair.target;
    assertEquals(
      await value(t, "SELECT json_agg(v ORDER BY status) FROM staging.status_counts v"),
      await value(
        t,
        `SELECT json_agg(v ORDER BY status) FROM (SELECT status, count(*) AS n, sum(total) AS total
                                                    FROM staging.orders GROUP BY 1) v`,
      ),
    );
    assertEquals(await value(t, "SELECT count(*)::int FROM staging.status_counts"), 3);
    assertEquals(
      await value(
        t,
        `SELECT json_agg(relname || ' ' || relispopulated ORDER BY relname) FROM pg_class
          WHERE relnamespace = 'staging'::regnamespace AND relkind = 'm'`,
      ),
      ["never_filled false", "status_counts true", "top_status true"],
    );
    // Filled after status_counts, from its new rows ("paid" on the source, with order 4).
    assertEquals(await value(t, "SELECT status::text FROM staging.top_status"), "new");
    assertEquals(await value(t, "SELECT json_agg(b) FROM staging.big_spenders b"), [
      { id: 1, name: "Ann", total: 120 },
    ]);
    // Routines: the search path moved to the target schema, the procedure writes there.
    assertEquals(await value(t, "SELECT staging.customer_total(1)::int"), 120);
    assertEquals(await value(t, "SELECT staging.atomic_count()::int"), 3);
    assertEquals(
      await value(t, "SELECT proconfig FROM pg_proc WHERE proname = 'record'"),
      ["search_path=staging, pg_temp"],
    );
    await t.unsafe("CALL staging.record(7)");
    assertEquals(await value(t, "SELECT json_agg(n) FROM staging.ledger"), [7]);
    await assertRejects(() => t.unsafe("SELECT staging.qualified_count()"), Error, '"shop.orders"');

    // The same name: views answer as on the source, routines return what they return there.
    const same = await runJob(shopJob(pair, "shop", { "*": {} }), { name: "same" });
    assertEquals(await objectsOf(pair.target, "shop"), source);
    assertEquals(same.warnings.filter((w) => w.includes("in its body")), []);
    for (
      const query of [
        "SELECT json_agg(v ORDER BY id) FROM shop.big_spenders v",
        "SELECT json_agg(v ORDER BY id) FROM shop.order_totals v",
        "SELECT json_agg(v ORDER BY status) FROM shop.status_counts v",
        "SELECT status::text FROM shop.top_status",
        "SELECT shop.add_tax(10)",
        "SELECT shop.customer_total(1)",
        "SELECT shop.qualified_count()",
        "SELECT shop.atomic_count()",
        "SELECT shop._group_concat(name ORDER BY id) FROM shop.customers",
        "SELECT array_agg(x ORDER BY x USING OPERATOR(shop.<<)) FROM unnest('{-3,1,2}'::int[]) x",
        "SELECT -3 OPERATOR(shop.===) 3",
        "SELECT to_tsvector('shop.simple_cfg', 'The Cats')::text",
        "SELECT 'a' < 'B' COLLATE shop.c_collation",
        "SELECT nextval('shop.lonely_seq')",
        "SELECT obj_description('shop.order_totals'::regclass)",
      ]
    ) {
      assertEquals(await value(pair.target, query), await value(pair.source, query), query);
    }
    await pair.target.unsafe("DELETE FROM shop.notes");
    assertEquals(await value(pair.target, "SELECT count(*)::int FROM shop.notes"), 1, "the rule");
  });
});

Deno.test("named tables: the views over skipped tables are left out, said in warnings, --dry-run and --json", async () => {
  await withSource("o-named", SHOP, async (pair) => {
    const tables = { customers: {}, notes: {} };
    const expected = {
      type: "view",
      name: "shop.order_totals",
      reason: 'it needs table "orders", which the job does not copy',
      todo: 'add table "orders" to the job (`where: "false"` copies its structure only)',
    };
    const plan = await planJob(shopJob(pair, "staging", tables), { name: "named" });
    assertEquals(plan.leftOut.find((o) => o.name === "shop.order_totals"), expected);
    assertEquals(plan.leftOut.find((o) => o.name === "shop.big_spenders")?.todo, expected.todo);
    assertOk(plan.structure.some((o) => o.type === "VIEW" && o.name === "note_view"));

    const report = await runJob(shopJob(pair, "staging", tables), { name: "named" });
    assertEquals(report.leftOut.find((o) => o.name === "shop.order_totals"), expected);
    assertOk(
      report.warnings.includes(
        `view shop.order_totals is left out: ${expected.reason}; ${expected.todo}`,
      ),
      report.warnings.join("\n"),
    );
    const group = report.warnings.find((w) => w.startsWith("left out, as no copied table"));
    assertStringIncludes(group ?? "", "function shop.add_tax(numeric)");
    assertEquals(await value(pair.target, "SELECT json_agg(v) FROM staging.note_view v"), [
      { id: 1, body: "hello" },
    ]);
    assertEquals(
      await value(pair.target, "SELECT to_regclass('staging.order_totals')"),
      null,
    );

    const file = `export const JOBS = { named: ${
      JSON.stringify(shopJob(pair, "staging", tables))
    }, tablesOnly: ${JSON.stringify({ ...shopJob(pair, "other", tables), objects: "tables" })} };`;
    await inDir({ "pg_xmat_jobs.ts": file }, async (dir) => {
      const run = await runCli(["named", "--json"], { cwd: dir });
      assertEquals(run.code, 0, run.stderr);
      const doc: RunDocument = JSON.parse(run.stdout);
      assertEquals(doc.jobs[0].leftOut.find((o) => o.name === "shop.order_totals"), expected);
      assertOk(doc.jobs[0].warnings.some((w) => w.startsWith("view shop.order_totals is left")));
      assertEquals(doc.jobs[0].objects.VIEW, 1);
      assertStringIncludes(run.stderr, "structure: ");

      const dry = await runCli(["tablesOnly", "--dry-run"], { cwd: dir });
      assertEquals(dry.code, 0, dry.stderr);
      assertStringIncludes(dry.stdout, 'left out of target schema "other"');
      assertStringIncludes(dry.stdout, "view shop.note_view");
      assertStringIncludes(dry.stdout, 'the job brings tables only (objects: "tables")');
      const json = await runCli(["named", "--dry-run", "--json"], { cwd: dir });
      const planDoc: DryRunDocument = JSON.parse(json.stdout);
      assertEquals(
        planDoc.jobs[0].plan?.leftOut.find((o) => o.name === "shop.order_totals"),
        expected,
      );
    });
  });
});

Deno.test("a view that cannot be restored fails the job naming it; the target stays as it was", async () => {
  await withSource(
    "o-fail",
    `${SHOP}
      CREATE SCHEMA util;
      CREATE FUNCTION util.shout(t text) RETURNS text LANGUAGE sql IMMUTABLE AS 'SELECT upper(t)';
      CREATE VIEW shop.loud_names AS SELECT util.shout(name) AS name FROM shop.customers;`,
    async (pair) => {
      await exec(pair.target, "CREATE SCHEMA staging; CREATE TABLE staging.kept (id int);");
      const before = await dumpDatabase(pair.targetUrl);
      const plan = await planJob(shopJob(pair, "staging", { "*": {} }), { name: "fail" });
      assertOk(
        plan.warnings.some((w) =>
          w.includes("function util.shout(pg_catalog.text)") && w.includes("must exist")
        ),
        plan.warnings.join("\n"),
      );
      const error = await assertRejects(
        () => runJob(shopJob(pair, "staging", { "*": {} }), { name: "fail" }),
        JobError,
      ) as JobError;
      assertEquals(error.place.step, "structure");
      assertStringIncludes(error.message, "creating VIEW shop.loud_names: ERROR:");
      assertStringIncludes(error.message, "util.shout");
      assertStringIncludes(error.message, "HINT: create what it needs on the target first");
      assertEquals(await dumpDatabase(pair.targetUrl), before);
    },
  );
});
