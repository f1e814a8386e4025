/** Reports, plans, listings and init, without servers: pure rendering and a temporary directory. */

import { assertEquals, assertNotIncludes, assertRejects, assertStringIncludes } from "./_assert.ts";
import {
  errorInfo,
  formatJobLines,
  formatObjects,
  formatTableReport,
  formatTimes,
  Recorder,
} from "../cli/report.ts";
import { formatPlan } from "../cli/dry_run.ts";
import { formatJobList, listJobs } from "../cli/list.ts";
import { initFiles, starterJobs, TYPES_FILE, typesFile } from "../cli/init.ts";
import { validateJobs } from "../lib/config.ts";
import { JobError, UsageError } from "../lib/errors.ts";
import { loadJobsModule } from "../lib/load.ts";
import type { CopyWork, JobPlan } from "../lib/types.ts";
import { textWidth } from "../cli/style.ts";
import { formatTableStatus, liveTableLine } from "../cli/progress.ts";
import { formatEvent } from "../cli/log.ts";

const JOBS = validateJobs({
  "demo:subset": {
    source: { database: "postgres://app:s3cret@db:5432/prod", schema: "shop" },
    target: { database: "postgres://dev:pw@localhost/dev", schema: "shop_subset" },
    tables: { customers: {}, "Order Items": { where: { id: 1 } } },
  },
  "demo:all": {
    source: { database: "postgres://app:s3cret@db:5432/prod", schema: "shop" },
    target: { database: "postgres://dev:pw@localhost/dev", schema: "shop_all" },
    tables: { "*": {} },
  },
  "demo:later": {
    source: { database: "postgres://app:s3cret@db:5432/prod", schema: "shop" },
    target: { database: "postgres://dev:pw@localhost/dev", schema: "shop_later" },
    tables: { "*": {} },
  },
});

/** A copy step's time, for reports whose times are not what a test is about. */
const WORK: CopyWork = { workers: 1, seconds: 1, copying: 1, indexing: 0, analysing: 0, idle: 0 };

Deno.test("Recorder: tables planned, copied, failed, interrupted and not run; jobs not run", () => {
  let now = 0;
  const r = new Recorder(JOBS, () => now);
  const job = "demo:subset";
  r.event({
    kind: "planned",
    job,
    tables: ["a", "b", "c", "d"].map((table) => ({ table, estimatedRows: 1, estimatedBytes: 1 })),
  });
  const running = { rows: 5, bytes: 50 };
  const failing = { rows: 7, bytes: 70 };
  r.event({
    kind: "table-start",
    job,
    table: "a",
    estimatedRows: 1,
    estimatedBytes: 1,
    progress: { rows: 0, bytes: 0 },
  });
  r.event({ kind: "table-end", job, table: "a", rows: 10, bytes: 100, seconds: 1 });
  r.event({ kind: "step-end", job, step: "connect", seconds: 0.25 });
  r.event({ kind: "step-end", job, step: "plan", seconds: 0.5 });
  r.event({
    kind: "table-start",
    job,
    table: "b",
    estimatedRows: 1,
    estimatedBytes: 1,
    progress: running,
  });
  r.event({
    kind: "table-start",
    job,
    table: "c",
    estimatedRows: 1,
    estimatedBytes: 1,
    progress: failing,
  });
  r.event({ kind: "warning", job, message: "careful" });
  now = 2000;
  const error = new JobError({ job, step: "copy", table: "c", side: "target" }, "boom");
  r.failed(job, error, 2.5);
  const [subset, all] = r.results();
  assertEquals(subset, {
    job,
    status: "failed",
    source: { database: "postgres://app:***@db:5432/prod", schema: "shop" },
    target: { database: "postgres://dev:***@localhost/dev", schema: "shop_subset" },
    seconds: 2.5,
    rows: 22,
    bytes: 220,
    tables: [
      { table: "a", status: "ok", rows: 10, bytes: 100, seconds: 1, error: null },
      { table: "b", status: "interrupted", rows: 5, bytes: 50, seconds: 2, error: null },
      { table: "c", status: "failed", rows: 7, bytes: 70, seconds: 2, error: error.message },
      { table: "d", status: "not-run", rows: 0, bytes: 0, seconds: 0, error: null },
    ],
    objects: {},
    leftOut: [],
    steps: { connect: 0.25, plan: 0.5 },
    copyWork: null,
    warnings: ["careful"],
    error: {
      message: 'job "demo:subset", table "c", step copy (target): boom',
      step: "copy",
      table: "c",
      side: "target",
    },
  });
  assertEquals(all.status, "not-run");
  assertEquals(errorInfo(new Error("plain")), { message: "plain" });
  const table = formatTableReport(subset);
  assertEquals(table.split("\n"), [
    "  table  rows    MB    s  MB/s",
    "  a        10  0.00  1.0  0.00",
    "  c         7  0.00  2.0  0.00  failed",
    "  b         5  0.00  2.0  0.00  interrupted",
    "  total    22  0.00  2.5  0.00  (1 table not run)",
  ]);

  r.event({ kind: "planned", job: "demo:all", tables: [] });
  r.succeeded({
    job: "demo:all",
    target: "shop_all",
    tables: [{ table: "x", rows: 3_000_000, bytes: 250e6, seconds: 5 }],
    warnings: [],
    objects: { TABLE: 1, VIEW: 2, COMMENT: 1 },
    leftOut: [{ type: "view", name: "shop.v", reason: "it needs table", todo: "add it" }],
    seconds: 6,
    steps: { connect: 0.04, snapshot: 0.01, plan: 0.3, structure: 0.6, copy: 4.6, swap: 0.2 },
    copyWork: { workers: 2, seconds: 4.6, copying: 5, indexing: 2.1, analysing: 0.3, idle: 1.8 },
  });
  assertEquals(formatJobLines(r.results()).split("\n"), [
    "jobs: 1 ok, 1 failed, 1 not run",
    "  demo:subset  failed   4 tables         22 rows    0.00 MB  2.5s  step copy, table c",
    "  demo:all     ok        1 table  3,000,000 rows  250.00 MB  6.0s  → shop_all",
    "  demo:later   not-run",
  ]);
  assertEquals(
    formatObjects(r.results()[1]),
    "  structure: 1 TABLE, 2 VIEW; 1 object of the source schema left out (see the warnings)",
  );
  // Where the time went: the steps in the order they ran, then the copy step's workers.
  assertEquals(formatTimes(r.results()[1]).split("\n"), [
    "  time: connect 0.0s, snapshot 0.0s, plan 0.3s, structure 0.6s, copy 4.6s, swap 0.2s",
    "  copy: 2 workers for 4.6 s: copying 5.0 s, building indexes 2.1 s, analysing 0.3 s, idle 1.8 s",
  ]);
  // A failed job: the steps that ended.
  assertEquals(formatTimes(r.results()[0]), "  time: connect 0.3s, plan 0.5s");
});

Deno.test("the table of tables shows the 20 largest and sums the rest", () => {
  const r = new Recorder(JOBS.slice(1));
  const tables = Array.from({ length: 25 }, (_, i) => ({
    table: `t${String(i).padStart(2, "0")}`,
    rows: i,
    bytes: i * 1e6,
    seconds: 1,
  }));
  r.succeeded({
    job: "demo:all",
    target: "shop_all",
    tables,
    warnings: [],
    objects: {},
    leftOut: [],
    seconds: 10,
    steps: {},
    copyWork: WORK,
  });
  const lines = formatTableReport(r.results()[0]).split("\n");
  assertEquals(lines.length, 1 + 20 + 2);
  assertEquals([lines[0], lines[1], lines[21], lines[22]], [
    "  table            rows      MB     s   MB/s",
    "  t24                24   24.00   1.0  24.00",
    "  … 5 more tables    10   10.00   5.0   2.00",
    "  total             300  300.00  10.0  30.00",
  ]);
});

const PLAN: JobPlan = {
  job: "demo:subset",
  source: { database: "postgres://app:***@db:5432/prod", schema: "shop" },
  target: { database: "postgres://dev:***@localhost/dev", schema: "shop_subset" },
  tables: [
    {
      table: "orders",
      estimatedRows: 1000,
      estimatedBytes: 192_512,
      copy: 'COPY (SELECT "id" FROM ONLY "shop"."orders") TO STDOUT',
    },
    {
      table: "Order Items",
      estimatedRows: -1,
      estimatedBytes: 8192,
      copy: 'COPY (SELECT "n" FROM ONLY "shop"."Order Items") TO STDOUT',
    },
  ],
  structure: [
    { type: "TABLE", name: "Order Items" },
    { type: "TABLE", name: "orders" },
    { type: "CONSTRAINT", name: "orders_pkey", table: "orders" },
  ],
  extensions: ["citext"],
  leftOut: [
    {
      type: "view",
      name: "shop.v",
      reason: 'it needs table "t", which the job does not copy',
      todo: 'add table "t" to the job',
    },
    {
      type: "view",
      name: "shop.w",
      reason: 'it needs table "t", which the job does not copy',
      todo: 'add table "t" to the job',
    },
    {
      type: "function",
      name: "shop.f()",
      reason: 'no copied table or view needs it (objects: "dependent")',
      todo: 'set `objects: "all"` in the job',
    },
  ],
  searchPathMoved: ["shop.g(integer)"],
  foreignKeysLeftOut: [{
    name: "orders_customer_id_fkey",
    table: "orders",
    references: '"shop"."customers"',
    reason: "the job does not copy the referenced table",
  }],
  warnings: [
    "the tables use type shared.money, which pg-xmat does not copy: it must exist on the target",
  ],
  notChecked: ['that no other run is building target schema "shop_subset"'],
  seconds: 0.5,
};

Deno.test("formatPlan: tables with estimates and COPY, structure by kind, keys left out, checks", () => {
  assertEquals(formatPlan(PLAN).split("\n"), [
    "job demo:subset: 2 tables, ~1,000 rows, 201 kB on the source",
    '  source  postgres://app:***@db:5432/prod  schema "shop"',
    '  target  postgres://dev:***@localhost/dev  schema "shop_subset" (not contacted by a dry run)',
    "",
    "  tables, in copy order (the source's estimates for whole tables, before any where):",
    "    orders              ~1,000 rows    193 kB",
    '      COPY (SELECT "id" FROM ONLY "shop"."orders") TO STDOUT',
    '    "Order Items"    never analysed    8.2 kB',
    '      COPY (SELECT "n" FROM ONLY "shop"."Order Items") TO STDOUT',
    "",
    '  structure created in target schema "shop_subset" (3 objects, from pg_dump):',
    '    TABLE       "Order Items", orders',
    "    CONSTRAINT  orders_pkey on orders",
    "  extensions the tables use (created on the target when it lacks them): citext",
    '  SET search_path naming schema "shop" given the target\'s instead: shop.g(integer)',
    "",
    '  left out of target schema "shop_subset" (3 objects of the source schema):',
    "    view shop.v, view shop.w",
    '      it needs table "t", which the job does not copy; add table "t" to the job',
    "    function shop.f()",
    '      no copied table or view needs it (objects: "dependent"); set `objects: "all"` in the job',
    "",
    "  foreign keys left out:",
    '    orders_customer_id_fkey on orders → "shop"."customers": the job does not copy the referenced table',
    "",
    "  warnings:",
    "    the tables use type shared.money, which pg-xmat does not copy: it must exist on the target",
    "",
    "  not checked by a dry run (it does not connect to the target):",
    '    - that no other run is building target schema "shop_subset"',
  ]);
});

Deno.test("formatPlan: a subset's roles beside the tables, each key's direction", () => {
  const plan: JobPlan = {
    ...PLAN,
    tables: [
      { ...PLAN.tables[0], role: "owned", distance: 1 },
      { ...PLAN.tables[1], role: "referenced" },
    ],
    foreignKeysLeftOut: [],
    subset: [
      {
        name: "orders_customer_fkey",
        table: "orders",
        references: '"shop"."customers"',
        down: true,
        up: true,
      },
      {
        name: "items_product_fkey",
        table: "Order Items",
        references: '"shop"."products"',
        down: false,
        up: true,
      },
      {
        name: "orders_coupon_fkey",
        table: "orders",
        references: '"shop"."coupons"',
        option: "drop",
        down: false,
        up: false,
      },
      {
        name: "orders_shop_fkey",
        table: "orders",
        references: '"shop"."shops"',
        down: false,
        up: false,
      },
    ],
  };
  const lines = formatPlan(plan).split("\n");
  assertEquals(lines.slice(5, 16), [
    "    orders              ~1,000 rows    193 kB  owned: the rows that belong to kept rows (1 key from a seed)",
    '      COPY (SELECT "id" FROM ONLY "shop"."orders") TO STDOUT',
    '    "Order Items"    never analysed    8.2 kB  referenced: only the rows kept rows reference',
    '      COPY (SELECT "n" FROM ONLY "shop"."Order Items") TO STDOUT',
    "",
    "  subset: the foreign keys among the tables, and how they are followed:",
    '    orders_customer_fkey: orders → "shop"."customers", followed down (rows of orders belong to kept rows) and up',
    '    items_product_fkey: "Order Items" → "shop"."products", followed up (the rows kept rows reference are kept)',
    '    orders_coupon_fkey: orders → "shop"."coupons", not followed ("drop"): the key is left out of the target',
    '    orders_shop_fkey: orders → "shop"."shops", nothing to follow (the referenced table is copied whole)',
    "",
  ]);
});

Deno.test("--list: source → target with passwords hidden, matches marked, what to run next", () => {
  const listed = listJobs(JOBS, "demo:[sl]*");
  assertEquals(listed.map((j) => [j.job, j.matches, j.tables]), [
    ["demo:subset", true, ["customers", "Order Items"]],
    ["demo:all", false, ["*"]],
    ["demo:later", true, ["*"]],
  ]);
  const text = formatJobList(listed, "demo:[sl]*", "jobs/x.ts");
  assertNotIncludes(text, "s3cret");
  assertEquals(text.split("\n").slice(0, 2), [
    '* demo:subset  shop → shop_subset: customers, "Order Items"',
    "               postgres://app:***@db:5432/prod → postgres://dev:***@localhost/dev",
  ]);
  assertStringIncludes(
    text,
    '2 of 3 jobs in jobs/x.ts match "demo:[sl]*" (marked *): run them with pg-xmat "demo:[sl]*" -c jobs/x.ts',
  );
  assertStringIncludes(
    formatJobList(listJobs(JOBS), undefined, "pg_xmat_jobs.ts"),
    '(pg-xmat "demo:*")',
  );
});

Deno.test("init writes a starter and its types, never over a file; the starter validates", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pgxmat-init-" });
  try {
    assertStringIncludes(
      typesFile("9.9.9"),
      await Deno.readTextFile(new URL("../lib/types.ts", import.meta.url)),
    );
    assertStringIncludes(starterJobs(), `import type { Jobs } from "./${TYPES_FILE}";`);
    const lines = await initFiles("jobs/nightly.ts", "9.9.9", dir);
    assertEquals(lines[0], `wrote ${dir}/jobs/nightly.ts: a starter job to edit`);
    assertStringIncludes(lines.join("\n"), 'pg-xmat "copy:*" --dry-run -c jobs/nightly.ts');
    await Deno.writeTextFile(`${dir}/jobs/nightly.ts`, "// mine\n" + starterJobs());
    await Deno.remove(`${dir}/jobs/${TYPES_FILE}`);
    const again = await initFiles("jobs/nightly.ts", "9.9.9", dir);
    assertEquals(again, [
      `kept ${dir}/jobs/nightly.ts: it exists (init never overwrites a file)`,
      `wrote ${dir}/jobs/${TYPES_FILE}: the types nightly.ts is checked against (delete it and run init again to refresh)`,
    ]);
    assertStringIncludes(await Deno.readTextFile(`${dir}/jobs/nightly.ts`), "// mine");
    await assertRejects(
      () => initFiles("jobs/nightly.ts", "9.9.9", dir),
      UsageError,
      "never overwrites",
    );
    await assertRejects(() => initFiles("jobs.js", "9.9.9", dir), UsageError, "-c jobs.ts");
    Deno.env.set("SOURCE_DB_URL", "postgres://u:pw@source/db");
    Deno.env.set("TARGET_DB_URL", "postgres://u:pw@target/db");
    const [job] = validateJobs(await loadJobsModule("jobs/nightly.ts", dir));
    assertEquals([job.name, job.source.schema, job.tables.size], ["copy:public", "public", 0]);
    assertEquals(job.wildcard !== undefined, true);
  } finally {
    Deno.env.delete("SOURCE_DB_URL");
    Deno.env.delete("TARGET_DB_URL");
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the table of tables aligns wide characters (表 takes two columns) and cuts by columns", () => {
  const r = new Recorder(JOBS.slice(1));
  const tables = [
    { table: "表", rows: 1, bytes: 1e6, seconds: 1 },
    { table: "ascii", rows: 2, bytes: 1e6, seconds: 1 },
    { table: "表".repeat(30), rows: 3, bytes: 1e6, seconds: 1 },
  ];
  r.succeeded({
    job: "demo:all",
    target: "shop_all",
    tables,
    warnings: [],
    seconds: 3,
    objects: {},
    leftOut: [],
    steps: {},
    copyWork: WORK,
  });
  const lines = formatTableReport(r.results()[0]).split("\n");
  // Aligned by `length`, each 表 pushed its row's numbers one column to the right.
  const ends = lines.map((l) => textWidth(l.slice(0, l.indexOf("1.00") + 4)));
  assertEquals(new Set(ends.slice(1, 4)).size, 1, lines.join("\n"));
  const cut = lines.map((l) => l.trim().split("  ")[0]).find((c) => c.endsWith("…"))!;
  assertEquals([textWidth(cut), cut.startsWith("表表")], [39, true]); // 表 does not fit in 40
});

Deno.test("one row is 1 row", () => {
  assertEquals(liveTableLine("t", 5, { rows: 1, bytes: 10, rate: 10 }).includes(" 1 row "), true);
  assertEquals(formatTableStatus("t", { rows: 1, bytes: 10, rate: 10 }), "t: 1 row, 10 B, 10 B/s");
  assertEquals(
    formatEvent(
      { kind: "table-end", job: "j", table: "t", rows: 1, bytes: 10, seconds: 1 },
      new Date(0),
    )
      ?.endsWith("t: 1 row, 10 B in 1.0s"),
    true,
  );
});
