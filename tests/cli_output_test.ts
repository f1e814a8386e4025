/**
 * What the CLI shows on real servers: live progress on a terminal (a pseudo-terminal from
 * `script`), colours and NO_COLOR, plain lines elsewhere, the `--json` report, `-q`, `--dry-run`
 * writing nothing on either server, `--list`, and `init`'s starter checked and run.
 */

import { assertEquals, assertNotIncludes, assertOk, assertStringIncludes } from "./_assert.ts";
import { hasColour, hasRedraw, screen, stripColours } from "./_screen.ts";
import {
  dumpDatabase,
  exec,
  freshPair,
  inDir,
  type Pair,
  runCli,
  schemaNames,
} from "./_servers.ts";
import { PASSWORD } from "../scripts/clusters.ts";
import type { RunDocument } from "../cli/report.ts";
import type { DryRunDocument } from "../cli/dry_run.ts";
import type { ListDocument } from "../cli/list.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const COLUMNS = 200;

/**
 * Runs the CLI on a pseudo-terminal (`script`) of `COLUMNS` columns; returns what it wrote.
 * Without `NO_COLOR` in `env`, the variable is removed (the test runner sets it).
 */
async function runInTerminal(
  args: string[],
  options: { cwd: string; env?: Record<string, string> },
): Promise<{ code: number; output: string }> {
  const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  const unset = options.env?.NO_COLOR === undefined ? "env -u NO_COLOR " : "";
  const command = `stty cols ${COLUMNS} rows 50; exec ${unset}${
    [Deno.execPath(), "run", "-A", MAIN, ...args].map(quote).join(" ")
  }`;
  const child = new Deno.Command("script", {
    args: ["-qefc", command, "/dev/null"],
    cwd: options.cwd,
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 90_000);
  const out = await child.output();
  clearTimeout(timer);
  return { code: out.code, output: new TextDecoder().decode(out.stdout) };
}

/** A schema `app`: `items` (with a foreign key to `owners`, which the jobs leave out). */
async function withItems(name: string, rows: number, fn: (pair: Pair) => Promise<void>) {
  const pair = await freshPair(name);
  try {
    await exec(
      pair.source,
      `CREATE SCHEMA app;
       CREATE TABLE app.owners (id int PRIMARY KEY);
       CREATE TABLE app.items (id int PRIMARY KEY, owner int REFERENCES app.owners, payload text);
       INSERT INTO app.owners SELECT g FROM generate_series(1, 10) g;
       INSERT INTO app.items
         SELECT g, 1 + g % 10, md5(g::text) || md5((g + 1)::text) FROM generate_series(1, ${rows}) g;
       ANALYZE app.items;`,
    );
    await fn(pair);
  } finally {
    await pair.close();
  }
}

function jobsFile(pair: Pair | { sourceUrl: string; targetUrl: string }, jobs: string[]): string {
  return `export const JOBS = {\n${
    jobs.map((job) => {
      const [name, table, select] = job.split("|");
      return `  ${JSON.stringify(name)}: { source: { database: ${
        JSON.stringify(pair.sourceUrl)
      }, schema: "app" }, target: { database: ${
        JSON.stringify(pair.targetUrl)
      }, schema: "copy" }, tables: { ${table}: ${select ? `{ select: ${select} }` : "{}"} } },`;
    }).join("\n")
  }\n};\n`;
}

const LIVE_LEFTOVERS = /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]|ETA|tables done/;
/** A run's steps, in the order they run. */
const STEPS = ["connect", "snapshot", "plan", "structure", "copy", "post-data", "swap"];

Deno.test("on a terminal: live table lines redrawn in place, colours, a clean screen at the end; NO_COLOR", async () => {
  // The copy lasts 1.5 s or more whatever the machine (30 rows wait 50 ms each): long enough
  // for the live lines, redrawn every 250 ms, to be redrawn.
  const slow =
    `{ payload: "(SELECT {column_name} FROM pg_sleep(CASE WHEN id % 1000 = 0 THEN 0.05 END))" }`;
  await withItems("tty", 30_000, async (pair) => {
    await inDir({ "pg_xmat_jobs.ts": jobsFile(pair, [`tty:items|items|${slow}`]) }, async (dir) => {
      const { code, output } = await runInTerminal([], { cwd: dir });
      assertEquals(code, 0, output);
      assertOk(hasRedraw(output), "live lines are redrawn in place");
      assertStringIncludes(output, "\x1b[32m", "colours on a terminal");
      assertOk(
        /items +[█▌░]{10} +\d+% +[\d,]+ rows/.test(stripColours(output)),
        "a live line for the table being copied",
      );
      const lines = screen(output, COLUMNS);
      assertEquals(lines.filter((l) => LIVE_LEFTOVERS.test(l)), [], "no live line is left");
      const steps = lines.map((l) => /✓ (\S+)/.exec(stripColours(l))?.[1]).filter(Boolean);
      assertEquals(steps, STEPS);
      assertOk(
        lines.some((l) =>
          stripColours(l).slice(9) ===
            'tty:items  warning: foreign key "items_owner_fkey" of table "items" references "app"."owners", which this job does not copy: the key is left out'
        ),
        "the warning printed while a live line was drawn is whole",
      );
      assertStringIncludes(lines.join("\n"), "✓ copy (1 table, 30,000 rows,");
      assertOk(/^ {2}items +30,000 +\d+\.\d\d +\d+\.\d +/.test(lines.at(-5)!), lines.at(-5));
      assertOk(/^ {2}total +30,000 /.test(lines.at(-4)!), lines.at(-4));
      assertOk(/^ {2}structure: 1 TABLE, /.test(lines.at(-3)!), lines.at(-3));
      assertOk(/^ {2}time: connect \d+\.\ds, .*, swap \d+\.\ds$/.test(lines.at(-2)!), lines.at(-2));
      assertOk(/^ {2}copy: 1 worker for /.test(lines.at(-1)!), lines.at(-1));
      assertNotIncludes(output, PASSWORD);

      const plain = await runInTerminal([], { cwd: dir, env: { NO_COLOR: "1" } });
      assertEquals(plain.code, 0, plain.output);
      assertEquals(hasColour(plain.output), false, "no colour with NO_COLOR");
      assertOk(hasRedraw(plain.output), "still live with NO_COLOR");
    });
  });
});

Deno.test("not a terminal: plain timestamped lines, no escapes; --json report on stdout; -q", async () => {
  await withItems("plain", 20_000, async (pair) => {
    const file = jobsFile(pair, [
      "plain:items|items",
      `plain:broken|items|{ payload: "CASE WHEN id = 15000 THEN (1 / (id - 15000))::text ELSE payload END" }`,
      "plain:never|owners",
    ]);
    await inDir({ "pg_xmat_jobs.ts": file }, async (dir) => {
      const ok = await runCli(["plain:items", "--json"], { cwd: dir, env: { NO_COLOR: "" } });
      assertEquals(ok.code, 0, ok.stderr);
      assertNotIncludes(ok.stderr, "\x1b");
      for (const line of ok.stderr.trimEnd().split("\n")) {
        assertOk(/^(\d\d:\d\d:\d\d plain:items {2}| {2}\S)/.test(line), line);
      }
      assertStringIncludes(ok.stderr, "plain:items  copy (1 table, 2 at a time)");
      assertOk(/plain:items {4}items: 20,000 rows, [\d.]+ MB in \d+\.\ds/.test(ok.stderr));
      const doc: RunDocument = JSON.parse(ok.stdout);
      assertEquals(Object.keys(doc), [
        "pgXmat",
        "mode",
        "ok",
        "exitCode",
        "seconds",
        "jobs",
        "error",
      ]);
      assertEquals([doc.mode, doc.ok, doc.exitCode, doc.error], ["run", true, 0, null]);
      const [job] = doc.jobs;
      assertEquals(Object.keys(job), [
        "job",
        "status",
        "source",
        "target",
        "seconds",
        "rows",
        "bytes",
        "tables",
        "objects",
        "leftOut",
        "steps",
        "copyWork",
        "warnings",
        "error",
      ]);
      // Where the time went: every step, in the order they ran, and the copy step's workers.
      assertEquals(Object.keys(job.steps), STEPS);
      // The copy step overlaps the structure step; the others run one after another.
      const { copy, ...others } = job.steps;
      const stepsSum = Object.values(others).reduce((n, s) => n + s, 0);
      assertOk(stepsSum > 0 && stepsSum <= job.seconds, `${stepsSum} s of ${job.seconds} s`);
      assertOk(copy! > 0 && copy! <= job.seconds, `copy ${copy} s of ${job.seconds} s`);
      const work = job.copyWork!;
      assertEquals(work.workers, 1);
      assertOk(work.seconds <= job.steps.copy! && work.copying > 0, JSON.stringify(work));
      assertOk(
        Math.abs(work.copying + work.indexing + work.analysing + work.idle - work.seconds) < 0.01,
        JSON.stringify(work),
      );
      assertOk(/^ {2}time: connect \d+\.\ds, snapshot .*, swap \d+\.\ds$/m.test(ok.stderr));
      assertOk(/^ {2}copy: 1 worker for [\d.]+ s: copying [\d.]+ s, /m.test(ok.stderr));
      assertEquals([job.job, job.status, job.rows, job.target.schema], [
        "plain:items",
        "ok",
        20_000,
        "copy",
      ]);
      assertEquals(job.source.database.includes(PASSWORD), false);
      assertEquals(job.tables.map((t) => [t.table, t.status, t.rows, t.error]), [
        ["items", "ok", 20_000, null],
      ]);
      assertOk(job.tables[0].bytes > 1_000_000 && job.tables[0].seconds >= 0);
      assertEquals(job.warnings.length, 1);

      const failed = await runCli(["plain:*", "--json"], { cwd: dir });
      assertEquals(failed.code, 1, failed.stderr);
      const report: RunDocument = JSON.parse(failed.stdout);
      assertEquals([report.ok, report.exitCode, report.error], [false, 1, null]);
      assertEquals(report.jobs.map((j) => j.status), ["ok", "failed", "not-run"]);
      const broken = report.jobs[1];
      assertEquals(broken.error?.step, "copy");
      assertEquals(broken.error?.table, "items");
      assertEquals(broken.error?.side, "source");
      assertEquals(broken.tables.map((t) => t.status), ["failed"]);
      assertEquals(Object.keys(broken.steps), STEPS.slice(0, 4));
      assertEquals(broken.copyWork, null);
      assertStringIncludes(broken.tables[0].error ?? "", "division by zero");
      assertStringIncludes(failed.stderr, "jobs: 1 ok, 1 failed, 1 not run");
      assertStringIncludes(failed.stderr, 'pg-xmat: error: job "plain:broken", table "items"');

      const quiet = await runCli(["plain:items", "-q"], { cwd: dir });
      assertEquals([quiet.code, quiet.stdout, quiet.stderr], [0, "", ""]);
      const quietFail = await runCli(["plain:broken", "-q"], { cwd: dir });
      assertEquals(quietFail.code, 1);
      assertOk(quietFail.stderr.startsWith("pg-xmat: error: "), quietFail.stderr);
      assertEquals(/^\d\d:\d\d:\d\d /m.test(quietFail.stderr), false, quietFail.stderr);

      const usage = await runCli(["nothing:*", "--json"], { cwd: dir });
      assertEquals(usage.code, 2);
      const none: RunDocument = JSON.parse(usage.stdout);
      assertEquals([none.ok, none.jobs], [false, []]);
      assertStringIncludes(none.error?.message ?? "", 'no job matches "nothing:*"');
    });
  });
});

Deno.test("--dry-run prints the plan, connects to the source only, writes nothing on either server", async () => {
  await withItems("dryrun", 1000, async (pair) => {
    await exec(
      pair.target,
      "CREATE SCHEMA copy; CREATE TABLE copy.old (n int); INSERT INTO copy.old VALUES (1);",
    );
    const before = await Promise.all([dumpDatabase(pair.sourceUrl), dumpDatabase(pair.targetUrl)]);
    const unreachable = { sourceUrl: pair.sourceUrl, targetUrl: "postgres://u:pw@127.0.0.1:1/db" };
    await inDir({
      "jobs.ts": jobsFile(pair, ['dry:items|items|{ payload: "upper({column_name})" }']),
      "offline.ts": jobsFile(unreachable, ["dry:items|items"]),
    }, async (dir) => {
      const r = await runCli(["-c", "jobs.ts", "--dry-run"], { cwd: dir });
      assertEquals(r.code, 0, r.stderr);
      assertStringIncludes(r.stdout, "job dry:items: 1 table, ~1,000 rows");
      assertStringIncludes(
        r.stdout,
        `COPY (SELECT "id", "owner", CAST((upper("payload")) AS text) AS "payload" FROM ONLY "app"."items") TO STDOUT`,
      );
      assertStringIncludes(r.stdout, "TABLE       items");
      assertStringIncludes(r.stdout, "CONSTRAINT  items_pkey on items");
      assertStringIncludes(
        r.stdout,
        'items_owner_fkey on items → "app"."owners": the job does not copy the referenced table',
      );
      assertStringIncludes(
        r.stdout,
        "not checked by a dry run (it does not connect to the target):",
      );
      assertNotIncludes(r.stdout + r.stderr, PASSWORD);
      assertStringIncludes(r.stderr, "dry:items  connect (source only: dry run)");

      // No connection to the target at all: an unreachable one is fine.
      const offline = await runCli(["-c", "offline.ts", "--dry-run", "--json"], { cwd: dir });
      assertEquals(offline.code, 0, offline.stderr);
      const doc: DryRunDocument = JSON.parse(offline.stdout);
      assertEquals([doc.mode, doc.ok, doc.exitCode, doc.error], ["dry-run", true, 0, null]);
      const [{ job, status, plan, error }] = doc.jobs;
      assertEquals([job, status, error], ["dry:items", "ok", null]);
      assertOk(plan);
      assertEquals(Object.keys(plan), [
        "job",
        "source",
        "target",
        "tables",
        "structure",
        "extensions",
        "leftOut",
        "searchPathMoved",
        "foreignKeysLeftOut",
        "warnings",
        "notChecked",
        "seconds",
      ]);
      assertEquals(plan.target, { database: "postgres://u:***@127.0.0.1:1/db", schema: "copy" });
      assertEquals(plan.tables.map((t) => [t.table, t.estimatedRows]), [["items", 1000]]);
      assertEquals(plan.structure.map((o) => `${o.type} ${o.name}`), [
        "TABLE items",
        "CONSTRAINT items_pkey",
      ]);
      assertEquals(plan.foreignKeysLeftOut.map((f) => f.name), ["items_owner_fkey"]);
      assertStringIncludes(offline.stderr, "job dry:items: 1 table"); // the plan for people
    });
    const after = await Promise.all([dumpDatabase(pair.sourceUrl), dumpDatabase(pair.targetUrl)]);
    assertEquals(after[0] === before[0], true, "the source is unchanged");
    assertEquals(after[1] === before[1], true, "the target is unchanged");
    assertEquals(await schemaNames(pair.target), ["copy", "public"]);
  });
});

Deno.test("init: the starter and its types type-check, list and plan; --list hides passwords", async () => {
  const pair = await freshPair("init");
  try {
    await exec(pair.source, "CREATE TABLE public.notes (id int PRIMARY KEY, body text)");
    await inDir({}, async (dir) => {
      const env = { SOURCE_DB_URL: pair.sourceUrl, TARGET_DB_URL: pair.targetUrl };
      const init = await runCli(["init"], { cwd: dir });
      assertEquals(init.code, 0, init.stderr);
      assertStringIncludes(init.stderr, `wrote ${await Deno.realPath(dir)}/pg_xmat_jobs.ts`);
      const again = await runCli(["init"], { cwd: dir });
      assertEquals(again.code, 2);
      assertStringIncludes(again.stderr, "init never overwrites a file");

      const check = await new Deno.Command(Deno.execPath(), {
        args: ["check", "pg_xmat_jobs.ts"],
        cwd: dir,
        stdout: "null",
        stderr: "piped",
      }).output();
      assertEquals(check.code, 0, new TextDecoder().decode(check.stderr));
      const starter = await Deno.readTextFile(`${dir}/pg_xmat_jobs.ts`);
      await Deno.writeTextFile(`${dir}/typo.ts`, starter.replace('"*": {},', '"*": { wher: {} },'));
      const typo = await new Deno.Command(Deno.execPath(), {
        args: ["check", "typo.ts"],
        cwd: dir,
        stdout: "null",
        stderr: "piped",
      }).output();
      assertEquals(typo.code, 1);
      assertStringIncludes(new TextDecoder().decode(typo.stderr), "'wher' does not exist");

      const list = await runCli(["--list", "--json"], { cwd: dir, env });
      assertEquals(list.code, 0, list.stderr);
      const doc: ListDocument = JSON.parse(list.stdout);
      assertEquals(doc.jobs.map((j) => [j.job, j.matches, j.tables]), [["copy:public", true, [
        "*",
      ]]]);
      assertStringIncludes(list.stderr, "  copy:public  public → public: * (every table)");
      assertNotIncludes(list.stdout + list.stderr, PASSWORD);

      const plan = await runCli(["--dry-run"], { cwd: dir, env });
      assertEquals(plan.code, 0, plan.stderr);
      assertStringIncludes(
        plan.stdout,
        'COPY (SELECT "id", "body" FROM ONLY "public"."notes") TO STDOUT',
      );
    });
  } finally {
    await pair.close();
  }
});
