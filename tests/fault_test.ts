/**
 * The fault suite: every way a job can fail ends with the right exit code and message, and
 * leaves the target byte for byte as it was and the source unchanged. Every case is bounded in
 * time.
 */

import {
  assertEquals,
  assertNotIncludes,
  assertOk,
  assertRejects,
  assertStringIncludes,
} from "./_assert.ts";
import { ACME } from "./_fixtures.ts";
import {
  client,
  closeGate,
  dumpDatabase,
  exec,
  freshPair,
  holdLocked,
  lockAwaited,
  type Pair,
  runCli,
  schemaNames,
  servers,
  within,
} from "./_servers.ts";
import { type Cluster, startCluster, startStandby } from "../scripts/clusters.ts";
import { runJob } from "../lib/run.ts";
import { JobError } from "../lib/errors.ts";
import { SPREAD_ENTRIES } from "../lib/structure.ts";
import type { Job, TableSpec } from "../lib/types.ts";
import type { RunEvent } from "../lib/events.ts";

/** A table whose copy takes seconds: each row's `v` waits 5 ms on the source. */
const SLOW = `
CREATE TABLE acme.slow (id integer PRIMARY KEY, v text NOT NULL);
INSERT INTO acme.slow SELECT i, 'row ' || i FROM generate_series(1, 3000) i;`;
const SLOW_SPEC: TableSpec = { select: { v: "{column_name} || left(pg_sleep(0.005)::text, 0)" } };

interface Fault {
  pair: Pair;
  /** A job of the fault pair: source `acme`, target `staging`. */
  job(tables: Record<string, TableSpec>, extra?: Partial<Job>): Job;
  /** Runs the CLI on a jobs file holding `job`. */
  cli(
    job: Job,
    args?: string[],
  ): Promise<{ code: number; stdout: string; stderr: string; ms: number }>;
}

/**
 * Sets up a source (acme, with a slow table) and a target that already holds the result of a
 * good run, runs the case, then checks that both databases are byte for byte what they were
 * and that no session of pg-xmat is left on the source.
 */
async function faultCase(
  name: string,
  fn: (f: Fault) => Promise<void>,
  targetUrl?: (pair: Pair) => Promise<string>,
): Promise<void> {
  const pair = await freshPair(name);
  const dir = await Deno.makeTempDir({ prefix: "pgxmat-fault-" });
  try {
    await exec(pair.source, ACME + SLOW);
    const target = await targetUrl?.(pair) ?? pair.targetUrl;
    const job = (tables: Record<string, TableSpec>, extra: Partial<Job> = {}): Job => ({
      source: { database: pair.sourceUrl, schema: "acme" },
      target: { database: target, schema: "staging" },
      tables,
      ...extra,
    });
    await runJob(job({ users: {}, "Order Items": {} }), { name: "good" });
    const before = {
      source: await dumpDatabase(pair.sourceUrl),
      target: await dumpDatabase(target),
    };
    await fn({
      pair,
      job,
      cli: async (j, args = []) => {
        await Deno.writeTextFile(
          `${dir}/jobs.ts`,
          `export const JOBS = { "fault": ${JSON.stringify(j)} };\n`,
        );
        const started = Date.now();
        const r = await runCli(["-c", "jobs.ts", ...args], { cwd: dir, timeoutMs: 60_000 });
        return { ...r, ms: Date.now() - started };
      },
    });
    assertEquals(await dumpDatabase(target), before.target, "the target changed");
    assertEquals(await dumpDatabase(pair.sourceUrl), before.source, "the source changed");
    await assertNoSessionsLeft(pair);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await pair.close();
  }
}

/** No session of pg-xmat (or of the tools it ran) is connected to the source any more. */
async function assertNoSessionsLeft(pair: Pair): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const rows = await pair.source`
      SELECT pid, state, application_name FROM pg_stat_activity
       WHERE datname = ${pair.name} AND pid <> pg_backend_pid() AND application_name <> 'postgres.js'`;
    if (rows.length === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("pg-xmat sessions are still connected to the source");
}

/** Waits until a query matching `like` runs on a server, and returns its backend pid. */
async function waitForQuery(
  sql: Pair["source"],
  database: string,
  like: string,
  timeoutMs = 30_000,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const [row] = await sql`
      SELECT pid FROM pg_stat_activity WHERE datname = ${database} AND state = 'active' AND query LIKE ${like}`;
    if (row) return row.pid;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no query like ${like} started in ${timeoutMs} ms`);
}

Deno.test("bad select SQL fails in the plan step, before anything is written", async () => {
  await faultCase("f-badsql", async ({ job, cli }) => {
    const r = await cli(job({ users: { select: { name: "upper(" } } }));
    assertEquals(r.code, 1, r.stderr);
    assertStringIncludes(r.stderr, 'job "fault", table "users", step plan (source): syntax error');
    assertNotIncludes(r.stderr, "    at ");
  });
});

Deno.test("a select whose values the column's type rejects fails the copy", async () => {
  await faultCase("f-type", async ({ job, cli }) => {
    const r = await cli(job({ users: { select: { score: "{column_name} || 'x'" } } }));
    assertEquals(r.code, 1, r.stderr);
    assertStringIncludes(
      r.stderr,
      'table "users", step copy (source): invalid input syntax for type integer: "5x"',
    );
  });
});

Deno.test("source backend terminated mid-COPY", async () => {
  await faultCase("f-srckill", async ({ pair, job, cli }) => {
    const running = cli(job({ slow: SLOW_SPEC }));
    const pid = await waitForQuery(pair.source, pair.name, "COPY (SELECT%");
    // Meanwhile the source is only read: every relation lock pg-xmat holds is ACCESS SHARE.
    const locks = await pair.source`
      SELECT DISTINCT l.mode FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
       WHERE a.datname = ${pair.name} AND a.application_name = 'pg-xmat' AND l.locktype = 'relation'`;
    assertEquals(locks.map((l) => l.mode), ["AccessShareLock"]);
    await pair.source`SELECT pg_terminate_backend(${pid})`;
    const r = await running;
    assertEquals(r.code, 1, r.stderr);
    assertStringIncludes(
      r.stderr,
      'table "slow", step copy (source): the connection to 127.0.0.1:',
    );
    assertStringIncludes(
      r.stderr,
      "closed unexpectedly: the session was terminated, or the server stopped or restarted",
    );
  });
});

Deno.test("target backend terminated mid-COPY", async () => {
  await faultCase("f-tgtkill", async ({ pair, job, cli }) => {
    const running = cli(job({ slow: SLOW_SPEC }));
    const pid = await waitForQuery(pair.target, pair.name, 'COPY "_pgxmat_shadow_%FROM STDIN%');
    await pair.target`SELECT pg_terminate_backend(${pid})`;
    const r = await running;
    assertEquals(r.code, 1, r.stderr);
    assertStringIncludes(
      r.stderr,
      'table "slow", step copy (target): the connection to 127.0.0.1:',
    );
    assertStringIncludes(r.stderr, "closed unexpectedly");
  });
});

Deno.test("a constraint violation at the end of a COPY fails the job within seconds (postgres.js #1173)", async () => {
  await faultCase("f-late", async ({ job, cli }) => {
    // The last row breaks users' CHECK (score < 1000): the error arrives after CopyDone.
    const r = await cli(
      job({ users: { select: { score: "CASE WHEN id = 5 THEN 5000 ELSE {column_name} END" } } }),
    );
    assertEquals(r.code, 1, r.stderr);
    assertStringIncludes(
      r.stderr,
      'table "users", step copy (target): new row for relation "users" violates check constraint "users_score_check"',
    );
    assertOk(r.ms < 20_000, `took ${r.ms} ms`);
  });
});

Deno.test("orphaned foreign keys with orphans: fail", async () => {
  await faultCase("f-orphans", async ({ job, cli }) => {
    const r = await cli(
      job({ users: { where: { id: [1, 2] } }, "Order Items": {} }, { orphans: "fail" }),
    );
    assertEquals(r.code, 1, r.stderr);
    assertStringIncludes(
      r.stderr,
      'table "Order Items", step post-data: foreign key "Order Items_user_id_fkey" of table "Order Items": 3 rows reference rows of "users" that the filters left out',
    );
  });
});

Deno.test("a wrong target password names the target and leaves it alone", async () => {
  await faultCase("f-pw", async ({ pair, job, cli }) => {
    const j = job({ users: {} });
    j.target.database = pair.targetUrl.replace(/:[^:@/]+@/, ":not-the-password@");
    const r = await cli(j);
    assertEquals(r.code, 1, r.stderr);
    assertStringIncludes(r.stderr, "step connect (target): cannot connect to the target");
    assertNotIncludes(r.stderr, "not-the-password");
  });
});

Deno.test("connection failures name the side: unknown host, TLS the server does not offer", async () => {
  await faultCase("f-conn", async ({ pair, job, cli }) => {
    const host = job({ users: {} });
    host.target.database = "postgres://u:pw@no-such-host.invalid:5432/db";
    const r1 = await cli(host);
    assertEquals(r1.code, 1, r1.stderr);
    assertStringIncludes(
      r1.stderr,
      "step connect (target): cannot connect to the target postgres://u:***@no-such-host.invalid:5432/db",
    );
    assertStringIncludes(r1.stderr, "the host name does not resolve");
    const tls = job({ users: {} });
    tls.source.database = `${pair.sourceUrl}?sslmode=require`;
    const r2 = await cli(tls);
    assertEquals(r2.code, 1, r2.stderr);
    assertStringIncludes(r2.stderr, "step connect (source): cannot connect to the source");
    assertStringIncludes(r2.stderr, "TLS failed");
  });
});

Deno.test("SIGINT during the copy stops it, removes the shadow, exits 130", async () => {
  await faultCase("f-sigint", async ({ pair, job }) => {
    const dir = await Deno.makeTempDir();
    await Deno.writeTextFile(
      `${dir}/pg_xmat_jobs.ts`,
      `export const JOBS = { "fault": ${JSON.stringify(job({ slow: SLOW_SPEC }))} };\n`,
    );
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("../main.ts", import.meta.url).pathname, "--json"],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const killer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    Deno.unrefTimer(killer);
    await waitForQuery(pair.source, pair.name, "COPY (SELECT%");
    const interrupted = Date.now();
    child.kill("SIGINT");
    const out = await child.output();
    clearTimeout(killer);
    await Deno.remove(dir, { recursive: true });
    const stderr = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 130, stderr);
    assertStringIncludes(stderr, "interrupted");
    // The JSON report said the table "failed" on the "source": it was interrupted.
    const [report] = JSON.parse(new TextDecoder().decode(out.stdout)).jobs;
    assertEquals(report.tables.map((t: { status: string }) => t.status), ["interrupted"]);
    assertEquals(report.error.side, undefined);
    assertStringIncludes(report.error.message, "interrupted");
    assertOk(
      Date.now() - interrupted < 15_000,
      `the interrupted run took ${Date.now() - interrupted} ms to stop:\n${stderr}`,
    );
    assertEquals(await schemaNames(pair.target), ["public", "staging"]);
  });
});

Deno.test("a long reader on the target: the swap waits a bounded time, then fails clearly", async () => {
  await faultCase("f-reader", async ({ pair, job }) => {
    const reader = await pair.target.reserve();
    try {
      await reader.unsafe("BEGIN");
      await reader.unsafe("SELECT count(*) FROM staging.users");
      const started = Date.now();
      // Other readers keep reading while the swap waits: its lock request gives up after 200 ms,
      // so a reader queued behind it never waits the 5 s of its own lock_timeout (the server's
      // clock, not a wall-clock limit on this test's machine).
      const other = client(pair.targetUrl, 1);
      let swapping = true;
      const readsDuringSwap = (async () => {
        let reads = 0;
        for (let i = 0; swapping && i < 10_000; i++) {
          await other.begin(async (tx) => {
            await tx`SET LOCAL lock_timeout = '5s'`;
            await tx`SELECT count(*) FROM staging.users`;
          });
          reads++;
          await new Promise((r) => setTimeout(r, 20));
        }
        return reads;
      })();
      const said: string[] = [];
      await assertRejects(
        () =>
          runJob(job({ users: {} }), {
            name: "swap",
            lockTimeoutMs: 200,
            lockAttempts: 3,
            onEvent: (e) => e.kind === "info" && said.push(e.message),
          }),
        JobError,
        'step swap (target): could not lock target schema "staging" in 3 attempts',
      ).finally(() => swapping = false);
      // It waited without a word: now each attempt says who holds the schema, and how long.
      const [{ pid }] = await reader`SELECT pg_backend_pid() AS pid`;
      const waits = said.filter((m) => m.startsWith('swap: waiting for target schema "staging"'));
      assertEquals(waits.length, 2, said.join("\n"));
      assertStringIncludes(
        waits[0],
        `pid ${pid} (application_name "postgres.js", in its transaction for `,
      );
      assertStringIncludes(waits[0], 'AccessShareLock on "users"');
      assertOk(Date.now() - started < 20_000);
      const reads = await readsDuringSwap;
      await other.end();
      assertOk(reads > 0);
    } finally {
      await reader.unsafe("ROLLBACK");
      reader.release();
    }
  });
});

Deno.test("source = target (however the URL is spelled) is refused before anything is written", async () => {
  await faultCase("f-same", async ({ pair, job, cli }) => {
    const same = pair.sourceUrl.replace("127.0.0.1", "localhost") + "?application_name=other";
    const r = await cli({ ...job({ users: {} }), target: { database: same, schema: "acme" } });
    assertEquals(r.code, 1, r.stderr);
    assertStringIncludes(
      r.stderr,
      'source and target are the same schema "acme" of the same database',
    );
  });
});

Deno.test("a hot standby of the target, as the source of the same schema, is refused", async () => {
  const primary = await startCluster("fault-primary");
  let standby: Cluster | undefined;
  const app = client(primary.url(), 1);
  try {
    await app.unsafe("CREATE DATABASE app");
    const db = client(primary.url("app"), 1);
    await db.unsafe("CREATE SCHEMA s; CREATE TABLE s.t (id int PRIMARY KEY)").simple();
    await db.unsafe("INSERT INTO s.t SELECT generate_series(1, 10)");
    await db.end();
    standby = await startStandby(primary, "fault-standby");
    // The primary's lock is not replicated: only the servers' identity tells them apart.
    const job: Job = {
      source: { database: standby.url("app"), schema: "s" },
      target: { database: primary.url("app"), schema: "s" },
      tables: { t: { where: { id: 1 } } },
    };
    const refused = await assertRejects(() => runJob(job, { name: "standby" }), JobError);
    assertStringIncludes(refused.message, "or the source is a standby of the target's");
    const check = client(primary.url("app"), 1);
    const [{ n }] = await check`SELECT count(*)::int AS n FROM s.t`;
    await check.end();
    assertEquals(n, 10);
    // Another schema of the same database is a target like any other: the standby is only read.
    const report = await runJob(
      { ...job, target: { ...job.target, schema: "extract" } },
      { name: "standby" },
    );
    assertEquals(report.tables[0].rows, 1);
  } finally {
    await app.end();
    await standby?.stop();
    await primary.stop();
  }
});

Deno.test("dependents of the target schema: refused with the list; --cascade drops them", async () => {
  const pair = await freshPair("f-deps");
  try {
    await exec(pair.source, ACME);
    const j: Job = {
      source: { database: pair.sourceUrl, schema: "acme" },
      target: { database: pair.targetUrl, schema: "staging" },
      tables: { users: {} },
    };
    await runJob(j, { name: "first" });
    await exec(
      pair.target,
      `
      CREATE SCHEMA reports;
      CREATE VIEW reports.active AS SELECT id FROM staging.users WHERE active;
      CREATE TABLE reports.notes (user_id bigint REFERENCES staging.users (id));`,
    );
    const before = await dumpDatabase(pair.targetUrl);
    const refused = await assertRejects(() => runJob(j, { name: "deps" }), JobError) as JobError;
    assertStringIncludes(refused.message, 'objects outside target schema "staging" depend on it');
    assertStringIncludes(refused.message, "view reports.active");
    assertStringIncludes(refused.message, "constraint notes_user_id_fkey on table reports.notes");
    assertStringIncludes(refused.message, "`cascade: true` in the job or --cascade");
    assertEquals(await dumpDatabase(pair.targetUrl), before);
    const report = await runJob(j, { name: "deps", cascade: true });
    assertOk(report.warnings.some((w) => w.includes("view reports.active")));
    const [v] = await pair.target`SELECT to_regclass('reports.active') IS NULL AS gone`;
    assertOk(v.gone);
  } finally {
    await pair.close();
  }
});

Deno.test("the target server stopped mid-run: the job fails; the next run cleans up", async () => {
  const target = await startCluster("fault-target");
  try {
    const targetUrl = async (pair: Pair) => {
      const admin = client(target.url(), 1);
      await admin.unsafe(`CREATE DATABASE "${pair.name}"`);
      await admin.end();
      return target.url(pair.name);
    };
    await faultCase("f-stop", async ({ pair, job, cli }) => {
      const t = client(target.url(pair.name), 1);
      const running = cli(job({ slow: SLOW_SPEC }));
      await waitForQuery(t, pair.name, 'COPY "_pgxmat_shadow_%FROM STDIN%');
      await t.end();
      await target.pgCtl(["-m", "immediate", "-w", "stop"]);
      const r = await running;
      assertEquals(r.code, 1, r.stderr);
      assertStringIncludes(r.stderr, 'table "slow", step copy (target)');
      await target.pgCtl(["-w", "-o", `-p ${target.port}`, "start"]);
      // The committed shadow survived the crash; the next run of the same target drops it.
      const again = client(target.url(pair.name), 1);
      const leftovers =
        await again`SELECT count(*)::int AS n FROM pg_namespace WHERE nspname LIKE '\\_pgxmat\\_shadow\\_%'`;
      assertEquals(leftovers[0].n, 1);
      const next = await cli(job({ users: {}, "Order Items": {} }));
      assertEquals(next.code, 0, next.stderr);
      assertStringIncludes(next.stderr, "dropped leftovers of an earlier run");
      const after =
        await again`SELECT count(*)::int AS n FROM pg_namespace WHERE nspname LIKE '\\_pgxmat\\_shadow\\_%'`;
      assertEquals(after[0].n, 0);
      await again.end();
    }, targetUrl);
  } finally {
    await target.stop();
  }
});

Deno.test("all tables read one snapshot: rows committed during the job appear in none", async () => {
  const pair = await freshPair("snapshot");
  try {
    await exec(pair.source, ACME);
    // One transaction adds a row to three tables, holding a lock on users that the plan step
    // (after the snapshot is exported) waits for: it commits mid-job, before any table is read.
    const writer = await pair.source.reserve();
    await writer`BEGIN`;
    await writer`LOCK TABLE acme.users IN ACCESS EXCLUSIVE MODE`;
    await writer`INSERT INTO acme.users (email, name) VALUES ('late@x', 'Late')`;
    await writer`INSERT INTO acme."Order Items" (user_id, created) VALUES (1, '2030-01-01')`;
    await writer`INSERT INTO acme.oddities (id) VALUES (0)`;
    const running = runJob({
      source: { database: pair.sourceUrl, schema: "acme" },
      target: { database: pair.targetUrl, schema: "staging" },
      tables: { users: {}, "Order Items": {}, oddities: {} },
    }, { name: "snapshot" });
    try {
      await lockAwaited(pair.source, { relation: "acme.users" }, running);
      await writer`COMMIT`;
    } finally {
      await writer`ROLLBACK`.catch(() => {}); // when the wait failed
      writer.release();
    }
    await running;
    const [counts] = await pair.target`
      SELECT (SELECT count(*) FROM staging.users)::int AS users,
             (SELECT count(*) FROM staging."Order Items")::int AS items,
             (SELECT count(*) FROM staging.oddities)::int AS oddities`;
    assertEquals(counts, { users: 5, items: 6, oddities: 4 });
    const [src] = await pair.source`SELECT count(*)::int AS users FROM acme.users`;
    assertEquals(src.users, 6);
  } finally {
    await pair.close();
  }
});

Deno.test("the source is never written: a select that writes fails on the read-only source", async () => {
  await faultCase("f-readonly", async ({ job, cli }) => {
    const r = await cli(job({ users: { select: { legacy: "nextval('acme.legacy_seq')" } } }));
    assertEquals(r.code, 1, r.stderr);
    assertStringIncludes(r.stderr, "cannot execute nextval() in a read-only transaction");
  });
});

Deno.test("least privilege: non-superuser roles on both sides; row-level security is never silent", async () => {
  const pair = await freshPair("roles");
  const s = servers();
  const reader = `reader_${pair.name}`.slice(0, 60);
  const writer = `writer_${pair.name}`.slice(0, 60);
  const adminSource = client(s.source.url, 1);
  const adminTarget = client(s.target.url, 1);
  try {
    await exec(
      pair.source,
      ACME + `
      CREATE ROLE "${reader}" LOGIN PASSWORD 'reader-pw';
      GRANT USAGE ON SCHEMA acme TO "${reader}";
      GRANT SELECT ON acme.users, acme."Order Items" TO "${reader}";
      GRANT SELECT ON SEQUENCE acme.legacy_seq, acme."Order Items_id_seq", acme.users_id_seq TO "${reader}";
      ALTER TABLE acme."Order Items" ENABLE ROW LEVEL SECURITY;
      CREATE POLICY tenant_one ON acme."Order Items" FOR SELECT USING (tenant_id = 1);`,
    );
    await adminTarget.unsafe(`CREATE ROLE "${writer}" LOGIN PASSWORD 'writer-pw'`);
    await adminTarget.unsafe(`ALTER DATABASE "${pair.name}" OWNER TO "${writer}"`);
    const as = (url: string, role: string, pw: string) =>
      url.replace(/\/\/[^@]*@/, `//${role}:${pw}@`);
    const job: Job = {
      source: { database: as(pair.sourceUrl, reader, "reader-pw"), schema: "acme" },
      target: { database: as(pair.targetUrl, writer, "writer-pw"), schema: "staging" },
      tables: { users: {}, "Order Items": {} },
    };
    const refused = await assertRejects(() => runJob(job, { name: "roles" }), JobError) as JobError;
    assertStringIncludes(refused.message, 'table "Order Items", step plan (source)');
    assertStringIncludes(refused.message, "row-level security");
    assertStringIncludes(refused.message, "rowSecurity: true");
    assertEquals(await schemaNames(pair.target), ["public"]);

    const report = await runJob({ ...job, rowSecurity: true }, { name: "roles" });
    assertEquals(report.tables.find((t) => t.table === "Order Items")?.rows, 3);
    const [owner] = await pair
      .target`SELECT pg_get_userbyid(nspowner) AS owner FROM pg_namespace WHERE nspname = 'staging'`;
    assertEquals(owner.owner, writer);

    // Default privileges another role gave in the target schema: the writer cannot give them
    // again on the new schema, so the run is refused before anything is written.
    await pair.target.unsafe(
      `ALTER DEFAULT PRIVILEGES IN SCHEMA staging GRANT SELECT ON TABLES TO "${writer}"`,
    );
    const [{ oid }] = await pair.target`SELECT 'staging'::regnamespace::int8 AS oid`;
    const kept = await assertRejects(
      () => runJob({ ...job, rowSecurity: true }, { name: "roles" }),
      JobError,
    ) as JobError;
    assertStringIncludes(kept.message, "step plan (target)");
    assertStringIncludes(kept.message, 'default privileges given by role "postgres"');
    assertStringIncludes(kept.message, `GRANT "postgres" TO "${writer}"`);
    const [{ oid: after }] = await pair.target`SELECT 'staging'::regnamespace::int8 AS oid`;
    assertEquals(after, oid);
  } finally {
    await pair.close();
    await adminSource.unsafe(`DROP ROLE IF EXISTS "${reader}"`).catch(() => {});
    await adminTarget.unsafe(`DROP ROLE IF EXISTS "${writer}"`).catch(() => {});
    await Promise.all([adminSource.end(), adminTarget.end()]);
  }
});

/** Where in a job the sessions are ended: after the last table's rows are in, post-data, swap. */
const LATE_POINTS = ["after the copy", "post-data", "swap"] as const;

/**
 * `onEvent` for a job that ends every pg-xmat session on one server at `point`, synchronously
 * (psql waits for the sessions to exit), so the job sees them gone at its next query.
 */
function terminateAt(url: string, database: string, point: typeof LATE_POINTS[number]) {
  let tables = 0, copied = 0, done = false;
  return (e: RunEvent) => {
    if (e.kind === "planned") tables = e.tables.length;
    const reached = point === "after the copy"
      ? e.kind === "table-end" && ++copied === tables
      : e.kind === "step-start" && e.step === point;
    if (!reached || done) return;
    done = true;
    const out = new Deno.Command(`${servers().bin}/psql`, {
      args: [
        url,
        "-Atc",
        `SELECT count(pg_terminate_backend(pid, 10000)) FROM pg_stat_activity
          WHERE datname = '${database}' AND application_name = 'pg-xmat'`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).outputSync();
    if (new TextDecoder().decode(out.stdout).trim() === "0") throw new Error("no session ended");
  };
}

Deno.test("source sessions ended after the copy, at post-data or at the swap: the job still succeeds", async () => {
  const pair = await freshPair("late-source");
  try {
    await exec(pair.source, ACME);
    const tables = { users: {}, "Order Items": {}, oddities: {} };
    for (const point of LATE_POINTS) {
      // postgres.js crashed the process here (`Cannot read properties of null (reading
      // 'write')`): a reserved connection's last COMMIT went to a socket that was gone.
      const report = await runJob({
        source: { database: pair.sourceUrl, schema: "acme" },
        target: { database: pair.targetUrl, schema: "staging" },
        tables,
      }, { name: point, jobs: 2, onEvent: terminateAt(pair.sourceUrl, pair.name, point) });
      assertEquals(report.tables.map((t) => t.rows).sort(), [4, 5, 6], point);
      const [n] = await pair.target`SELECT count(*)::int AS n FROM staging.oddities`;
      assertEquals(n.n, 4, point);
    }
  } finally {
    await pair.close();
  }
});

Deno.test("target sessions ended after the copy, at post-data or at the swap: one clear error, target as it was", async () => {
  // One case: the target must be as it was after each of the three failures.
  await faultCase("f-late-target", async ({ pair, job }) => {
    for (const point of LATE_POINTS) {
      const error = await assertRejects(
        () =>
          runJob(job({ users: {}, "Order Items": {} }), {
            name: "late",
            jobs: 2,
            onEvent: terminateAt(pair.targetUrl, pair.name, point),
          }),
        JobError,
      ) as JobError;
      assertStringIncludes(error.message, 'job "late"', point);
      assertStringIncludes(
        error.message,
        "closed unexpectedly: the session was terminated, or the server stopped or restarted",
        point,
      );
    }
  });
});

/**
 * More tables than one pre-data transaction holds (`SPREAD_ENTRIES`), so the copy step loads the
 * first while the structure step creates the next ones, and a view last in the pre-data over
 * `other.x`, a table of the target that the job does not copy.
 */
const OVERLAP = `CREATE SCHEMA s; CREATE SCHEMA other; CREATE TABLE other.x (a int, b int);
${
  Array.from({ length: SPREAD_ENTRIES + 20 }, (_, i) => {
    const t = `s.t${String(i).padStart(2, "0")}`;
    return `CREATE TABLE ${t} (id int PRIMARY KEY, v text);
      INSERT INTO ${t} SELECT g, 'v' || g FROM generate_series(1, 20) g;`;
  }).join("\n")
}
CREATE VIEW s.zz_view AS SELECT a, b FROM other.x;`;

/** The overlap fixture; the target's `other.x` has `columns`, and a schema `s` of its own. */
async function overlapCase(
  name: string,
  columns: string,
  fn: (pair: Pair, job: (tables: Record<string, TableSpec>) => Job) => Promise<void>,
): Promise<void> {
  const pair = await freshPair(name);
  try {
    await exec(pair.source, OVERLAP);
    await exec(
      pair.target,
      `CREATE SCHEMA other; CREATE TABLE other.x (${columns});
       CREATE SCHEMA s; CREATE TABLE s.kept (id int); INSERT INTO s.kept VALUES (1);`,
    );
    await fn(pair, (tables) => ({
      source: { database: pair.sourceUrl, schema: "s" },
      target: { database: pair.targetUrl, schema: "s" },
      tables,
    }));
  } finally {
    await pair.close();
  }
}

/** Locks `other.x` (the structure step then waits at the view) until the returned call. */
function holdOtherX(pair: Pair): Promise<() => Promise<void>> {
  return holdLocked(pair.target, "other.x");
}

Deno.test("structure and copy at once: a late pre-data failure stops the copy of the first tables", async () => {
  await overlapCase("f-overlap-structure", "a int", async (pair, job) => {
    const before = await dumpDatabase(pair.targetUrl);
    const release = await holdOtherX(pair);
    const gate = await closeGate(pair.source, 4317);
    const events: RunEvent[] = [];
    const running = runJob(job({ "*": {}, t00: { select: { v: gate.select } } }), {
      name: "overlap",
      onEvent: (e) => events.push(e),
    });
    running.catch(() => {});
    try {
      // t00 is mid-copy, and stays there, when the structure step fails at the view.
      await gate.reached(running);
      await lockAwaited(pair.target, { relation: "other.x" }, running);
      await release();
      const error = await assertRejects(
        () => within(30_000, "the failed run", running),
        JobError,
        'job "overlap", step structure: psql failed: creating VIEW s.zz_view',
      );
      assertStringIncludes(error.message, "column x.b does not exist");
    } finally {
      await release();
      await gate.open();
    }
    assertEquals(events.some((e) => e.kind === "table-end" && e.table === "t00"), false);
    assertEquals(await dumpDatabase(pair.targetUrl), before);
    assertEquals(await schemaNames(pair.target), ["other", "public", "s"]);
    await exec(pair.target, "ALTER TABLE other.x ADD COLUMN b int");
    const report = await runJob(job({ "*": {} }), { name: "next" });
    assertEquals(report.tables.length, SPREAD_ENTRIES + 20);
  });
});

Deno.test("structure and copy at once: an early copy failure stops the structure step", async () => {
  await overlapCase("f-overlap-copy", "a int, b int", async (pair, job) => {
    const before = await dumpDatabase(pair.targetUrl);
    // The structure step waits at the view, the last of the pre-data, until the lock is gone; t00
    // fails once the gate opens.
    const release = await holdOtherX(pair);
    const gate = await closeGate(pair.source, 4318);
    const events: RunEvent[] = [];
    const v = `CASE WHEN id = 20 THEN (1 / (id - 20))::text ELSE ${gate.select} END`;
    const running = runJob(job({ "*": {}, t00: { select: { v } } }), {
      name: "overlap",
      onEvent: (e) => events.push(e),
    });
    running.catch(() => {});
    let opened = false;
    try {
      await gate.reached(running);
      await lockAwaited(pair.target, { relation: "other.x" }, running);
      opened = true;
      await gate.open();
      // The copy failed: the job closed its sessions on the source.
      for (let i = 0;; i++) {
        const [{ n }] = await pair.source`
          SELECT count(*)::int AS n FROM pg_stat_activity
           WHERE datname = ${pair.name} AND pid <> pg_backend_pid() AND application_name <> 'postgres.js'`;
        if (n === 0) break;
        if (i === 600) throw new Error("the copy did not fail in 30 s");
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      if (!opened) await gate.open();
      await release();
    }
    await assertRejects(
      () => within(30_000, "the failed run", running),
      JobError,
      'job "overlap", table "t00", step copy (source): division by zero',
    );
    // Stopped at the view: the lock gone, it did not go on to the end.
    assertEquals(events.some((e) => e.kind === "step-end" && e.step === "structure"), false);
    assertEquals(await dumpDatabase(pair.targetUrl), before);
    assertEquals(await schemaNames(pair.target), ["other", "public", "s"]);
  });
});

Deno.test("structure and copy at once: stopped while a pre-data statement waits for a lock, the shadow is dropped", async () => {
  await overlapCase("f-overlap-abort", "a int, b int", async (pair, job) => {
    const before = await dumpDatabase(pair.targetUrl);
    // The view waits for other.x. psql killed outright left its session waiting there, with the
    // shadow schema's locks: the shadow was left for the next run, after a 10 s wait.
    const release = await holdOtherX(pair);
    try {
      const stop = new AbortController();
      const warnings: string[] = [];
      const running = runJob(job({ "*": {} }), {
        name: "overlap",
        signal: stop.signal,
        onEvent: (e) => e.kind === "warning" && warnings.push(e.message),
      });
      running.catch(() => {});
      await lockAwaited(pair.target, { relation: "other.x" }, running);
      stop.abort();
      await assertRejects(
        () => within(30_000, "the stopped run", running),
        JobError,
        "interrupted; the target was left as it was",
      );
      assertNotIncludes(warnings.join("\n"), "could not drop shadow schema");
      assertEquals(await schemaNames(pair.target), ["other", "public", "s"]);
    } finally {
      await release();
    }
    assertEquals(await dumpDatabase(pair.targetUrl), before);
  });
});

Deno.test("stopped while the plan waits for a table another session locks: ended at once, nothing left", async () => {
  const pair = await freshPair("f-plan-locked-abort");
  let release = () => Promise.resolve();
  try {
    await exec(pair.source, ACME);
    release = await holdLocked(pair.source, "acme.users");
    const stop = new AbortController();
    const running = runJob({
      source: { database: pair.sourceUrl, schema: "acme" },
      target: { database: pair.targetUrl, schema: "staging" },
      tables: { users: {} },
    }, { name: "locked", signal: stop.signal });
    running.catch(() => {});
    await lockAwaited(pair.source, { relation: "acme.users" }, running);
    stop.abort();
    // The read waits 30 s for its lock: well before that, the abort cancelled it.
    const error = await assertRejects(
      () => within(10_000, "the stopped run", running),
      JobError,
      "interrupted; the target was left as it was",
    ) as JobError;
    assertEquals(error.place.step, "plan");
    await assertNoSessionsLeft(pair);
    assertEquals(await schemaNames(pair.target), ["public"]);
  } finally {
    await release();
    await pair.close();
  }
});
