/**
 * Test helpers on the two servers `scripts/test.ts` started: a fresh database pair per test (so
 * test files run in parallel without sharing state), SQL set-up, byte-for-byte table contents,
 * and a structural description of a schema to compare source and target.
 *
 * @module
 */

import postgres from "postgres";
import { SERVERS_ENV, type TestServers } from "../scripts/clusters.ts";

/** The servers of this test run. */
export function servers(): TestServers {
  const raw = Deno.env.get(SERVERS_ENV);
  if (!raw) throw new Error(`${SERVERS_ENV} is not set: run the tests with \`deno task test\``);
  return JSON.parse(raw);
}

/** A postgres.js client for a URL, quiet about notices. */
export function client(url: string, max = 2): postgres.Sql {
  return postgres(url, { max, onnotice: () => {}, idle_timeout: 2 });
}

function withDatabase(url: string, database: string): string {
  return url.replace(/\/[^/?]*(\?|$)/, `/${database}$1`);
}

/** A source database and a target database, made for one test. */
export interface Pair {
  name: string;
  sourceUrl: string;
  targetUrl: string;
  /** Superuser client of the source database. */
  source: postgres.Sql;
  /** Superuser client of the target database. */
  target: postgres.Sql;
  /** Closes the clients and drops both databases. */
  close(): Promise<void>;
}

let counter = 0;

/** Creates a database on each server, named after the test. */
export async function freshPair(prefix: string): Promise<Pair> {
  const s = servers();
  const name = `${prefix.toLowerCase().replace(/[^a-z0-9]+/g, "_")}_${
    Date.now().toString(36)
  }${counter++}`;
  const adminSource = client(s.source.url, 1);
  const adminTarget = client(s.target.url, 1);
  await adminSource.unsafe(`CREATE DATABASE "${name}"`);
  await adminTarget.unsafe(`CREATE DATABASE "${name}"`);
  const sourceUrl = withDatabase(s.source.url, name);
  const targetUrl = withDatabase(s.target.url, name);
  const source = client(sourceUrl);
  const target = client(targetUrl);
  return {
    name,
    sourceUrl,
    targetUrl,
    source,
    target,
    close: async () => {
      await Promise.all([source.end(), target.end()]);
      for (const admin of [adminSource, adminTarget]) {
        await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => {});
        await admin.end();
      }
    },
  };
}

/** `withPair`, with `script` run on the source database first. */
export function withSource(
  name: string,
  script: string,
  fn: (pair: Pair) => Promise<void>,
): Promise<void> {
  return withPair(name, async (pair) => {
    await exec(pair.source, script);
    await fn(pair);
  });
}

/** Runs `fn` on a fresh pair of databases, and drops them afterwards. */
export async function withPair(name: string, fn: (pair: Pair) => Promise<void>): Promise<void> {
  const pair = await freshPair(name);
  try {
    await fn(pair);
  } finally {
    await pair.close();
  }
}

/** Runs a multi-statement SQL script. */
export async function exec(sql: postgres.Sql, script: string): Promise<void> {
  await sql.unsafe(script).simple();
}

/**
 * A table's rows as COPY text, in a stable order: what the tests compare byte for byte. Read by
 * `psql` rather than by a postgres.js COPY stream, which can stall under load (postgres.js #499)
 * and hang the test that compares.
 */
export async function tableText(
  sql: postgres.Sql,
  schema: string,
  table: string,
  orderBy = "1",
): Promise<string> {
  const ident = (s: string) => `"${s.replaceAll('"', '""')}"`;
  const o = sql.options;
  const out = await new Deno.Command(`${servers().bin}/psql`, {
    args: [
      "--no-psqlrc",
      "--quiet",
      "--set=ON_ERROR_STOP=1",
      `--host=${o.host[0]}`,
      `--port=${o.port[0]}`,
      `--username=${o.user}`,
      `--dbname=${o.database}`,
      `--command=COPY (SELECT * FROM ${ident(schema)}.${
        ident(table)
      } ORDER BY ${orderBy}) TO STDOUT`,
    ],
    env: {
      PGPASSWORD: typeof o.pass === "string" ? o.pass : "",
      PGCLIENTENCODING: "UTF8",
      PGCONNECT_TIMEOUT: "10",
    },
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

/**
 * A schema's structure rendered without its name: columns, constraints, indexes, sequences,
 * triggers, types. Definitions are rendered with the schema on the search path, so the same
 * structure under two schema names compares equal.
 */
export async function describeSchema(
  sql: postgres.Sql,
  schema: string,
): Promise<Record<string, unknown>> {
  return await sql.begin(async (tx) => {
    await tx`SELECT set_config('search_path', ${schema}, true)`;
    const [{ oid: ns }] =
      await tx`SELECT oid::int8 AS oid FROM pg_namespace WHERE nspname = ${schema}`;
    const columns = await tx`
      SELECT c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type,
             a.attnotnull AS not_null, a.attidentity AS identity, a.attgenerated AS generated,
             pg_get_expr(d.adbin, d.adrelid) AS default
        FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
        LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
       WHERE c.relnamespace = ${ns} AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
       ORDER BY 1, 2`;
    const constraints = await tx`
      SELECT c.relname AS table, k.conname AS name, pg_get_constraintdef(k.oid) AS definition,
             k.convalidated AS validated
        FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
       WHERE c.relnamespace = ${ns} ORDER BY 1, 2`;
    const indexes = await tx`
      SELECT c.relname AS table, i.relname AS name,
             regexp_replace(pg_get_indexdef(i.oid), ' ON (ONLY )?.* USING ', ' ON \\1t USING ') AS definition
        FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class c ON c.oid = x.indrelid
       WHERE c.relnamespace = ${ns} ORDER BY 1, 2`;
    const sequences = await tx`
      SELECT s.relname AS name, format_type(q.seqtypid, NULL) AS type, q.seqstart AS start,
             q.seqincrement AS increment
        FROM pg_class s JOIN pg_sequence q ON q.seqrelid = s.oid
       WHERE s.relnamespace = ${ns} ORDER BY 1`;
    const partitions = await tx`
      SELECT c.relname AS partition, p.relname AS parent, pg_get_expr(c.relpartbound, c.oid) AS bound
        FROM pg_class c JOIN pg_inherits i ON i.inhrelid = c.oid JOIN pg_class p ON p.oid = i.inhparent
       WHERE c.relnamespace = ${ns} AND c.relkind IN ('r', 'p') ORDER BY 1`;
    const triggers = await tx`
      SELECT c.relname AS table, t.tgname AS name
        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
       WHERE c.relnamespace = ${ns} AND NOT t.tgisinternal ORDER BY 1, 2`;
    const types = await tx`
      SELECT t.typname AS name, t.typtype AS kind,
             (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e
               WHERE e.enumtypid = t.oid) AS labels
        FROM pg_type t
       WHERE t.typnamespace = ${ns} AND t.typtype IN ('e', 'd', 'c')
         AND NOT EXISTS (SELECT 1 FROM pg_class r WHERE r.oid = t.typrelid AND r.relkind <> 'c')
       ORDER BY 1`;
    // Named as they read on the search path, so the same in either schema.
    const comments = await tx`
      SELECT pg_describe_object(d.classoid, d.objoid, d.objsubid) AS object, d.description
        FROM pg_description d, pg_identify_object(d.classoid, d.objoid, d.objsubid) o
       WHERE d.classoid <> 'pg_namespace'::regclass
         AND (o.schema = ${schema} OR (o.schema IS NULL AND o.identity LIKE ${`% on ${schema}.%`}))
       ORDER BY 1`;
    const plain = (rows: postgres.RowList<postgres.Row[]>) => rows.map((r) => ({ ...r }));
    return {
      columns: plain(columns),
      constraints: plain(constraints),
      indexes: plain(indexes),
      sequences: plain(sequences),
      partitions: plain(partitions),
      triggers: plain(triggers),
      types: plain(types),
      comments: plain(comments),
    };
  }) as Record<string, unknown>;
}

/** The names of the schemas of a database (to check that nothing was left behind). */
export async function schemaNames(sql: postgres.Sql): Promise<string[]> {
  const rows = await sql`
    SELECT nspname FROM pg_namespace
     WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' ORDER BY 1`;
  return rows.map((r) => r.nspname);
}

/**
 * Runs the CLI as a subprocess in `cwd`: `main.ts` with `deno run -A`, or `command` (a program
 * and its leading arguments, e.g. a compiled binary).
 */
export async function runCli(
  args: string[],
  options: {
    cwd?: string;
    env?: Record<string, string>;
    timeoutMs?: number;
    command?: readonly string[];
  } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const main = new URL("../main.ts", import.meta.url).pathname;
  const [program, ...lead] = options.command ?? [Deno.execPath(), "run", "-A", main];
  const child = new Deno.Command(program, {
    args: [...lead, ...args],
    cwd: options.cwd,
    env: { NO_COLOR: "1", ...options.env },
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 120_000);
  const out = await child.output();
  clearTimeout(timer);
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

/**
 * A whole database as `pg_dump` prints it (structure and data, without the random `\restrict`
 * key lines): what "the target is byte for byte what it was" compares.
 */
export async function dumpDatabase(url: string): Promise<string> {
  const out = await new Deno.Command(`${servers().bin}/pg_dump`, {
    args: ["--no-owner", "--no-privileges", `--dbname=${url}`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).replace(/^\\(un)?restrict .*$/gm, "");
}

/** Runs `fn` in a fresh temporary directory holding `files` (name → text), removed afterwards. */
export async function inDir(
  files: Record<string, string>,
  fn: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "pgxmat-test-" });
  try {
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(`${dir}/${name}`, text);
    }
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * Resolves once a session waits for a lock: an advisory lock's key, or a relation. Throws if
 * `running` (the job expected to wait) settles first, or after a minute.
 */
export async function lockAwaited(
  sql: postgres.Sql,
  lock: { advisory: number } | { relation: string },
  running: Promise<unknown>,
): Promise<void> {
  let settled = false;
  running.then(() => settled = true, () => settled = true);
  const which = "advisory" in lock
    ? sql`locktype = 'advisory' AND objid = ${lock.advisory}`
    : sql`locktype = 'relation' AND relation = ${lock.relation}::regclass`;
  for (let i = 0; i < 1200; i++) {
    const [{ waiting }] = await sql`
      SELECT count(*)::int AS waiting FROM pg_locks WHERE ${which} AND NOT granted`;
    if (waiting > 0) return;
    if (settled) throw new Error("the job ended without waiting for the lock");
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("no session waited for the lock in 60 s");
}

/**
 * Holds `tables` (a `LOCK TABLE` list) in ACCESS EXCLUSIVE mode, as `VACUUM FULL` or a migration
 * does, in a transaction of its own until the returned call (later calls do nothing).
 */
export async function holdLocked(
  sql: postgres.Sql,
  tables: string,
): Promise<() => Promise<void>> {
  const blocker = await sql.reserve();
  await blocker.unsafe("BEGIN");
  await blocker.unsafe(`LOCK TABLE ${tables} IN ACCESS EXCLUSIVE MODE`);
  let held = true;
  return async () => {
    if (!held) return;
    held = false;
    await blocker.unsafe("ROLLBACK");
    blocker.release();
  };
}

/** A gate on a source database: copies whose `select` uses it wait until it opens. */
export interface Gate {
  /** A `select` expression: the column's own value, once the gate is open. */
  select: string;
  /** Resolves once a copy of `running` waits at the gate. */
  reached(running: Promise<unknown>): Promise<void>;
  /** Opens the gate and releases its connection. */
  open(): Promise<void>;
}

/**
 * Closes a gate (an advisory lock `key`, held until `open`): a job whose `select` uses it is
 * surely mid-copy while it waits, whatever the machine's load, so a test acts at that moment.
 */
export async function closeGate(sql: postgres.Sql, key: number): Promise<Gate> {
  const conn = await sql.reserve();
  await conn`SELECT pg_advisory_lock(${key})`;
  return {
    select: `(SELECT {column_name} FROM pg_advisory_xact_lock_shared(${key}))`,
    reached: (running) => lockAwaited(sql, { advisory: key }, running),
    open: async () => {
      await conn`SELECT pg_advisory_unlock(${key})`;
      conn.release();
    },
  };
}

/** `promise`, or a rejection naming `what` once `ms` have passed: a hang fails in seconds. */
export async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}
