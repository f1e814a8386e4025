/**
 * The benchmark (`deno task bench`): builds a dataset on two throwaway servers (127.0.0.1 only)
 * and copies it with pg-xmat and its peers in one invocation, alternating the order round by
 * round: pg-xmat, `psql COPY | psql COPY` (pre-data, `--jobs` table pipes, post-data),
 * `pg_dump | psql`, and `pgcopydb clone` (installed from Debian's packages when missing, skipped
 * when that fails). It prints each one's wall time, peak RSS and CPU time per side, pg-xmat's
 * phases and its ratio to each peer; then, for `orders`, the source-only `COPY TO` and
 * target-only `COPY FROM` times (the bound no copy beats) next to pg-xmat's data phase, with and
 * without a filter and transforms, and with three columns masked (the cost per million rows). A
 * benchmark, not a test: it takes minutes.
 *
 * @example
 * ```sh
 * deno task bench                          # about 1 GiB, 4 tables, 2 rounds
 * deno task bench --size 4GB --tables 1 --tools pg-xmat --no-bound
 * deno task bench --small-tables 1000       # per-table costs: 1,000 tables of 100 rows
 * deno task bench --small-tables 1000 --refresh  # the same, into a target that has them
 * deno task bench --subset                 # subset vs whole tables, at two source sizes
 * deno task bench --target-setting maintenance_work_mem=1GB   # a setting of the target server
 * ```
 * @module
 */

import { parseArgs } from "node:util";
import { join } from "node:path";
import postgres from "postgres";
import { type Cluster, startCluster } from "./clusters.ts";
import { createDataset, createSmallTables, type Dataset, SCHEMA } from "./bench_dataset.ts";
import { measure, type Measured } from "./bench_measure.ts";
import { benchSubset, type SubsetBenchSettings } from "./bench_subset.ts";
import type { DriverInput, DriverOutput } from "./bench_xmat.ts";
import { readSchema } from "../lib/catalog.ts";
import { validateJobs } from "../lib/config.ts";
import { MASK_KEY_SETTING } from "../lib/mask.ts";
import { maskKey } from "../lib/mask_key.ts";
import { findTool } from "../lib/pg_tools.ts";
import { DEFAULT_FORMAT, type FormatChoice, planTables } from "../lib/plan.ts";
import { defaultParallelism } from "../lib/run_options.ts";
import type { Job, Step, TableSpec } from "../lib/types.ts";
import { describeCopyWork } from "../cli/report.ts";

const TOOLS = ["pg-xmat", "psql-copy", "pg_dump", "pgcopydb"] as const;
type ToolName = typeof TOOLS[number];
const LABELS: Record<ToolName, string> = {
  "pg-xmat": "pg-xmat",
  "psql-copy": "psql COPY | psql COPY",
  "pg_dump": "pg_dump | psql",
  "pgcopydb": "pgcopydb clone",
};
const DATABASE = "bench";
/** Server settings of both sides: durable (fsync on), sized for a load, no checkpoint mid-run. */
const SERVER_SETTINGS = {
  shared_buffers: "'1GB'",
  max_wal_size: "'16GB'",
  checkpoint_timeout: "'30min'",
};
/** The table measured alone against the bound: in every dataset, with the columns below. */
const BOUND_TABLE = "orders";
/** The filter and transforms of the "transforms" measurement: every row kept, three columns computed. */
const TRANSFORMS: TableSpec = {
  where: { quantity: { gte: 0 } },
  select: {
    note: "upper({column_name})",
    amount: "round({column_name} * 1.19, 2)",
    placed_at: "{column_name} + interval '1 day'",
  },
};

/**
 * The masks of the "masks" measurement: three columns of `orders` masked (a keyed hash
 * into an address, a date moved, a number with noise), against the same job without them.
 */
const MASKED: TableSpec = {
  select: {
    note: { mask: "email" },
    placed_at: { mask: "date", days: 30 },
    amount: { mask: "number", noise: 0.1 },
  },
};
/** The benchmark's own salt: a fixed one, so the measured runs are alike. */
const BENCH_SALT = "pg-xmat bench salt";

/**
 * `1GB`, `500MB`, `1.5G`, `2048` → bytes (binary units).
 *
 * @example
 * ```ts
 * parseSize("1GB"); // 1073741824
 * ```
 */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(text.trim());
  if (!m) throw new RangeError(`not a size: ${text} (e.g. 500MB, 1GB)`);
  const power = " kmgt".indexOf(m[2].toLowerCase() || " ");
  return Math.round(Number(m[1]) * 1024 ** power);
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(0)} MiB`;
}

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
}

function secs(s: number | undefined): string {
  return s === undefined || Number.isNaN(s) ? "–" : s.toFixed(1);
}

function log(line: string): void {
  console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);
}

/** The machine the figures come from. */
async function machine(sql: postgres.Sql): Promise<string> {
  const cpu = (await Deno.readTextFile("/proc/cpuinfo").catch(() => ""))
    .match(/model name\s*:\s*(.*)/)?.[1] ?? "unknown CPU";
  const memKb = Number(
    (await Deno.readTextFile("/proc/meminfo").catch(() => "")).match(/MemTotal:\s+(\d+)/)?.[1] ?? 0,
  );
  const [{ version }] = await sql`SELECT current_setting('server_version') AS version`;
  return `${navigator.hardwareConcurrency} cores (${cpu}), ${gib(memKb * 1024)} RAM, ` +
    `Linux ${Deno.osRelease()}, PostgreSQL ${version}, Deno ${Deno.version.deno}`;
}

/** `pgcopydb` on this machine, installed from Debian's packages when missing (as root). */
async function findPgcopydb(): Promise<string | undefined> {
  const which = async () => {
    const out = await new Deno.Command("sh", { args: ["-c", "command -v pgcopydb"] }).output();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : undefined;
  };
  const found = await which();
  if (found || Deno.uid?.() !== 0) return found;
  log("pgcopydb is missing: apt-get install pgcopydb …");
  const apt = (args: string[]) =>
    new Deno.Command("apt-get", { args, stdout: "null", stderr: "null" }).output()
      .then((o) => o.success, () => false);
  if (!await apt(["install", "-y", "-q", "pgcopydb"])) {
    await apt(["update", "-q"]);
    await apt(["install", "-y", "-q", "pgcopydb"]);
  }
  return await which();
}

/** The benchmark's settings. */
interface Settings {
  bytes: number;
  tables: number;
  /** The many-tables dataset instead: this many tables of 100 rows (0: the sized dataset). */
  smallTables: number;
  /**
   * Each timed run refreshes a target that already has the schema (an untimed run of the same
   * tool before it): pg-xmat as always, `pg_dump --clean`, `pgcopydb clone --drop-if-exists`.
   */
  refresh: boolean;
  jobs: number;
  rounds: number;
  tools: ToolName[];
  format: FormatChoice;
  bound: boolean;
  deadline: number;
  /** Run the subset case (`bench_subset.ts`) instead of the comparison. */
  subset?: SubsetBenchSettings;
  /** Settings of the target server besides `SERVER_SETTINGS` (`--target-setting name=value`). */
  targetSettings: Record<string, string>;
}

function parseSettings(argv: string[]): Settings {
  const { values } = parseArgs({
    args: argv,
    allowNegative: true,
    options: {
      size: { type: "string", default: "1GB" },
      tables: { type: "string", default: "4" },
      "small-tables": { type: "string", default: "0" },
      refresh: { type: "boolean", default: false },
      jobs: { type: "string" },
      rounds: { type: "string", default: "2" },
      tools: { type: "string", default: TOOLS.join(",") },
      format: { type: "string", default: DEFAULT_FORMAT },
      bound: { type: "boolean", default: true },
      timeout: { type: "string", default: "90" },
      subset: { type: "boolean", default: false },
      "subset-rows": { type: "string", default: "100000" },
      "subset-scale": { type: "string", default: "4" },
      "target-setting": { type: "string", multiple: true, default: [] },
    },
  });
  const tools = values.tools.split(",").map((t) => t.trim()) as ToolName[];
  for (const t of tools) {
    if (!TOOLS.includes(t)) throw new RangeError(`unknown tool ${t} (tools: ${TOOLS.join(", ")})`);
  }
  if (!["auto", "text", "binary"].includes(values.format)) {
    throw new RangeError(`--format is auto, text or binary`);
  }
  const targetSettings: Record<string, string> = {};
  for (const setting of values["target-setting"]) {
    const match = /^(\w+)=(.+)$/.exec(setting);
    if (!match) throw new RangeError(`--target-setting is name=value, not ${setting}`);
    targetSettings[match[1]] = `'${match[2].replaceAll("'", "''")}'`;
  }
  return {
    bytes: parseSize(values.size),
    tables: Math.max(1, Number(values.tables)),
    smallTables: Math.max(0, Number(values["small-tables"])),
    refresh: values.refresh,
    jobs: Math.max(1, Number(values.jobs ?? defaultParallelism())),
    rounds: Math.max(1, Number(values.rounds)),
    tools,
    format: values.format as FormatChoice,
    // The bound is a large table's: the many-tables dataset has none.
    bound: values.bound && Number(values["small-tables"]) === 0,
    deadline: Date.now() + Number(values.timeout) * 60_000,
    subset: values.subset
      ? {
        rows: Math.max(100, Number(values["subset-rows"])),
        scale: Math.max(2, Number(values["subset-scale"])),
        jobs: Math.max(1, Number(values.jobs ?? defaultParallelism())),
        rounds: Math.max(1, Number(values.rounds)),
      }
      : undefined,
    targetSettings,
  };
}

/** One measured run of a tool. */
interface Run {
  tool: ToolName;
  m: Measured;
  xmat?: DriverOutput;
}

class Bench {
  readonly #s: Settings;
  readonly #source: Cluster;
  readonly #target: Cluster;
  readonly #admin: postgres.Sql;
  readonly #bin: { psql: string; pgDump: string };
  #pgcopydb?: string;
  #dataset!: Dataset;
  #counts = new Map<string, number>();

  constructor(
    s: Settings,
    source: Cluster,
    target: Cluster,
    bin: { psql: string; pgDump: string },
  ) {
    this.#s = s;
    this.#source = source;
    this.#target = target;
    this.#bin = bin;
    this.#admin = postgres(target.url(), { max: 1, onnotice: () => {} });
  }

  get #env(): Record<string, string> {
    return {
      PGPASSWORD: "xmat-test-pw",
      SRC: this.#url(this.#source),
      TGT: this.#url(this.#target),
      PATH: `${this.#source.bin}:${Deno.env.get("PATH") ?? ""}`,
    };
  }

  /** A libpq URL without the password (it is in PGPASSWORD). */
  #url(c: Cluster): string {
    return `postgres://postgres@127.0.0.1:${c.port}/${DATABASE}`;
  }

  #timeout(): number {
    return Math.max(1000, Math.min(20 * 60_000, this.#s.deadline - Date.now()));
  }

  async #measure(command: string[]): Promise<Measured> {
    return await measure(command, {
      env: this.#env,
      servers: [this.#source.dataDir, this.#target.dataDir],
      timeoutMs: this.#timeout(),
    });
  }

  async #bash(script: string): Promise<Measured> {
    return await this.#measure(["bash", "-o", "pipefail", "-c", script]);
  }

  /** A fresh, empty target database, and no dirty pages left from the previous run. */
  async #freshTarget(): Promise<void> {
    await this.#admin.unsafe(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
    await this.#admin.unsafe(`CREATE DATABASE ${DATABASE}`);
    await this.#admin.unsafe("CHECKPOINT");
    const source = postgres(this.#source.url(DATABASE), { max: 1, onnotice: () => {} });
    await source.unsafe("CHECKPOINT").finally(() => source.end());
  }

  async setUp(): Promise<void> {
    const admin = postgres(this.#source.url(), { max: 1, onnotice: () => {} });
    await admin.unsafe(`CREATE DATABASE ${DATABASE}`).finally(() => admin.end());
    const sql = postgres(this.#source.url(DATABASE), { max: 2, onnotice: () => {} });
    try {
      if (this.#s.smallTables) {
        this.#dataset = await createSmallTables(sql, {
          count: this.#s.smallTables,
          rows: 100,
          log,
        });
      } else {
        log(`dataset: ${gib(this.#s.bytes)} in ${this.#s.tables} tables…`);
        this.#dataset = await createDataset(sql, {
          bytes: this.#s.bytes,
          tables: this.#s.tables,
          log,
        });
      }
      for (const t of this.#dataset.tables) {
        const [{ n }] = await sql.unsafe(`SELECT count(*)::int8 AS n FROM ${SCHEMA}.${t.name}`);
        this.#counts.set(t.name, Number(n));
      }
      console.log(`Machine: ${await machine(sql)}`);
    } finally {
      await sql.end();
    }
    if (this.#s.tools.includes("pgcopydb")) {
      this.#pgcopydb = await findPgcopydb();
      if (!this.#pgcopydb) log("pgcopydb is not installed and could not be installed: skipped");
    }
  }

  /** Checks that the target has every table with the source's row count. */
  async #verify(tool: string): Promise<void> {
    const sql = postgres(this.#target.url(DATABASE), { max: 1, onnotice: () => {} });
    try {
      for (const [table, n] of this.#counts) {
        const [{ count }] = await sql.unsafe(
          `SELECT count(*)::int8 AS count FROM ${SCHEMA}.${table}`,
        );
        if (Number(count) !== n) {
          throw new Error(`${tool}: ${table} has ${count} rows on the target, ${n} on the source`);
        }
      }
    } finally {
      await sql.end();
    }
  }

  #xmatJob(tables: Record<string, TableSpec>): Job {
    return {
      source: { database: this.#source.url(DATABASE), schema: SCHEMA },
      target: { database: this.#target.url(DATABASE), schema: SCHEMA },
      tables,
      salt: BENCH_SALT,
    };
  }

  async #xmat(tables: Record<string, TableSpec>, jobs = this.#s.jobs): Promise<Run> {
    const input: DriverInput = {
      job: this.#xmatJob(tables),
      options: { jobs, format: this.#s.format },
    };
    const driver = new URL("./bench_xmat.ts", import.meta.url).pathname;
    const m = await this.#measure([
      Deno.execPath(),
      "run",
      "-A",
      "--quiet",
      driver,
      JSON.stringify(input),
    ]);
    if (m.code !== 0) throw new Error(`pg-xmat failed:\n${m.stderr}`);
    return { tool: "pg-xmat", m, xmat: JSON.parse(m.stdout.trim().split("\n").at(-1)!) };
  }

  /** `clean`: the target has the schema already, which the tool replaces. */
  async #runTool(tool: ToolName, clean = false): Promise<Run | undefined> {
    const { psql, pgDump } = this.#bin;
    const dropFirst = clean ? "--clean --if-exists" : "";
    const quiet = `${psql} -X -q -v ON_ERROR_STOP=1`;
    let m: Measured;
    switch (tool) {
      case "pg-xmat":
        return await this.#xmat({ "*": {} });
      case "psql-copy": {
        const tables = [...this.#counts.keys()].join(" ");
        m = await this.#bash(`
          ${pgDump} --section=pre-data ${dropFirst} --schema=${SCHEMA} "$SRC" | ${quiet} -1 "$TGT"
          printf '%s\\n' ${tables} | xargs -P ${this.#s.jobs} -I{} bash -o pipefail -c \\
            '${psql} -X -q "$SRC" -c "COPY ${SCHEMA}.{} TO STDOUT" | ${quiet} "$TGT" -c "COPY ${SCHEMA}.{} FROM STDIN"'
          ${pgDump} --section=post-data --schema=${SCHEMA} "$SRC" | ${quiet} -1 "$TGT"`);
        break;
      }
      case "pg_dump":
        m = await this.#bash(`${pgDump} ${dropFirst} --schema=${SCHEMA} "$SRC" | ${quiet} "$TGT"`);
        break;
      case "pgcopydb": {
        if (!this.#pgcopydb) return undefined;
        const dir = await Deno.makeTempDir({ prefix: "pgxmat-bench-pgcopydb-" });
        try {
          m = await this.#measure([
            this.#pgcopydb,
            "clone",
            "--source",
            this.#env.SRC,
            "--target",
            this.#env.TGT,
            "--table-jobs",
            String(this.#s.jobs),
            "--index-jobs",
            String(this.#s.jobs),
            "--dir",
            join(dir, "work"),
            ...(clean ? ["--drop-if-exists"] : []),
          ]);
        } finally {
          await Deno.remove(dir, { recursive: true }).catch(() => {});
        }
        break;
      }
    }
    if (m.code !== 0) {
      throw new Error(`${LABELS[tool]} failed (${m.code}):\n${m.stderr.slice(-2000)}`);
    }
    return { tool, m };
  }

  /**
   * Every tool, `rounds` times, in an order that rotates each round, after one untimed
   * `pg_dump | psql`: without it the first run was a third slower than the same tool's later
   * runs (a fresh target creates and zero-fills its WAL segments; later runs recycle them).
   */
  async compare(): Promise<Run[]> {
    await this.#freshTarget();
    log("warm-up: pg_dump | psql, untimed…");
    await this.#runTool("pg_dump");
    const runs: Run[] = [];
    for (let round = 0; round < this.#s.rounds; round++) {
      const order = this.#s.tools.map((_, i) => this.#s.tools[(i + round) % this.#s.tools.length]);
      for (const tool of order) {
        if (Date.now() > this.#s.deadline) {
          log(`--timeout reached: ${LABELS[tool]} and later runs skipped`);
          return runs;
        }
        await this.#freshTarget();
        if (this.#s.refresh) {
          log(`round ${round + 1}: ${LABELS[tool]}, untimed, for the refresh…`);
          await this.#runTool(tool);
        }
        log(`round ${round + 1}: ${LABELS[tool]}${this.#s.refresh ? ", refresh" : ""}…`);
        const run = await this.#runTool(tool, this.#s.refresh);
        if (!run) continue;
        await this.#verify(LABELS[tool]);
        log(`  ${secs(run.m.seconds)} s, peak RSS ${mib(run.m.peakRss)}, load ${run.m.load}`);
        runs.push(run);
      }
    }
    return runs;
  }

  /**
   * `orders` alone (the largest table, or as large as `customers` with 2 tables; the one the
   * transforms and masks are written for): source-only COPY TO (into /dev/null), target-only COPY FROM (a file
   * already written, into the empty table, in pg-xmat's format, with FREEZE), a `psql | psql`
   * pipe doing the same (what a client that adds nothing costs), and pg-xmat's data
   * phase (the table's copy, from its first row read to its last stored: split among `--jobs`
   * workers, and in one stream with `--jobs 1`); then the source-only time and pg-xmat's single
   * stream with the filter and transforms, and the same with three columns masked.
   */
  async bound(): Promise<BoundRuns> {
    const table = BOUND_TABLE;
    const sql = postgres(this.#source.url(DATABASE), { max: 1, onnotice: () => {} });
    let plain, transformed, masked;
    try {
      const conn = await sql.reserve();
      const catalog = (await readSchema(conn, SCHEMA))!;
      conn.release();
      const plan = (spec: TableSpec) =>
        planTables(
          validateJobs({ bound: this.#xmatJob({ [table]: spec }) })[0],
          catalog,
          this.#s.format,
        )[0];
      plain = plan({});
      transformed = plan(TRANSFORMS);
      masked = plan(MASKED);
    } finally {
      await sql.end();
    }
    const { psql, pgDump } = this.#bin;
    const file = await Deno.makeTempFile({ prefix: "pgxmat-bench-data-" });
    const runs: BoundRuns = { table, format: plain.format, jobs: this.#s.jobs, rows: [] };
    try {
      const sh = (s: string) => s.replaceAll("'", `'"'"'`);
      for (let round = 0; round < this.#s.rounds && Date.now() < this.#s.deadline; round++) {
        log(`round ${round + 1}: bound on ${table}…`);
        const sourceOnly = await this.#bash(
          `${psql} -X -q "$SRC" -c '${sh(plain.copyOut)}' > /dev/null`,
        );
        const sourceTransformed = await this.#bash(
          `${psql} -X -q "$SRC" -c '${sh(transformed.copyOut)}' > /dev/null`,
        );
        // The key as a run sets it (a throwaway salt: on this command line it harms nothing).
        const sourceMasked = await this.#bash(
          `${psql} -X -q "$SRC" -c "SELECT set_config('${MASK_KEY_SETTING}', '${
            maskKey(BENCH_SALT)
          }', false)" -c '${sh(masked.copyOut)}' > /dev/null`,
        );
        await this.#bash(`${psql} -X -q "$SRC" -c '${sh(plain.copyOut)}' > ${file}`);
        await this.#freshTarget();
        await this.#bash(
          `${pgDump} --section=pre-data --schema=${SCHEMA} "$SRC" | ${psql} -X -q -1 "$TGT"`,
        );
        const columns = plain.columns.map((c) => `"${c}"`).join(", ");
        const targetOnly = await this.#bash(
          `${psql} -X -q -v ON_ERROR_STOP=1 -1 "$TGT" -c 'TRUNCATE ${SCHEMA}.${table}' ` +
            `-c 'COPY ${SCHEMA}.${table} (${columns}) FROM STDIN (FORMAT ${plain.format}, FREEZE)' < ${file}`,
        );
        await this.#freshTarget();
        await this.#bash(
          `${pgDump} --section=pre-data --schema=${SCHEMA} "$SRC" | ${psql} -X -q -1 "$TGT"`,
        );
        const pipe = await this.#bash(
          `${psql} -X -q "$SRC" -c '${sh(plain.copyOut)}' | ` +
            `${psql} -X -q -v ON_ERROR_STOP=1 -1 "$TGT" -c 'TRUNCATE ${SCHEMA}.${table}' ` +
            `-c 'COPY ${SCHEMA}.${table} (${columns}) FROM STDIN (FORMAT ${plain.format}, FREEZE)'`,
        );
        await this.#freshTarget();
        const xmat = await this.#xmat({ [table]: {} });
        await this.#freshTarget();
        const xmatSingle = await this.#xmat({ [table]: {} }, 1);
        await this.#freshTarget();
        const xmatTransformed = await this.#xmat({ [table]: TRANSFORMS }, 1);
        await this.#freshTarget();
        const xmatMasked = await this.#xmat({ [table]: MASKED }, 1);
        runs.rows.push({
          sourceOnly,
          sourceTransformed,
          targetOnly,
          pipe,
          xmat,
          xmatSingle,
          xmatTransformed,
          sourceMasked,
          xmatMasked,
        });
      }
    } finally {
      await Deno.remove(file).catch(() => {});
    }
    return runs;
  }

  async close(): Promise<void> {
    await this.#admin.end();
  }

  get dataset(): Dataset {
    return this.#dataset;
  }
}

interface BoundRuns {
  table: string;
  format: "text" | "binary";
  jobs: number;
  rows: {
    sourceOnly: Measured;
    sourceTransformed: Measured;
    targetOnly: Measured;
    pipe: Measured;
    xmat: Run;
    xmatSingle: Run;
    xmatTransformed: Run;
    sourceMasked: Measured;
    xmatMasked: Run;
  }[];
}

/** A table's copy time in a pg-xmat run: its first row read to its last stored. */
function copySeconds(run: Run): number {
  return run.xmat!.tables[0].seconds;
}

/** A label as a Markdown table cell. */
function cell(text: string): string {
  return text.replaceAll("|", "\\|");
}

/** The load averages of some runs, as `min–max`. */
function loadRange(runs: Run[]): string {
  const loads = runs.map((r) => r.m.load);
  return `${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}`;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function best(values: number[]): number {
  return Math.min(...values);
}

function list(values: number[]): string {
  return values.map((v) => v.toFixed(1)).join(", ");
}

function report(s: Settings, dataset: Dataset, runs: Run[]): void {
  const rows = dataset.tables.reduce((n, t) => n + t.rows, 0);
  const bytes = dataset.tables.reduce((n, t) => n + t.bytes, 0);
  console.log(
    `Dataset: ${dataset.tables.length} tables, ${(rows / 1e6).toFixed(1)} M rows, ${gib(bytes)} ` +
      `of tables + ${gib(dataset.indexBytes)} of indexes${
        // Each table by name while the list reads as one line.
        dataset.tables.length <= 8
          ? ` (${dataset.tables.map((t) => `${t.name} ${gib(t.bytes)}`).join(", ")})`
          : ""}; --jobs ${s.jobs}, pg-xmat --format ${s.format}, ${s.rounds} rounds${
        s.refresh ? ", each a refresh of a target that has the schema" : ""
      }`,
  );
  const settings = (list: Record<string, string>) =>
    Object.entries(list).map(([k, v]) => `${k}=${v.replace(/^'(.*)'$/, "$1")}`).join(", ");
  const targetOnly = Object.keys(s.targetSettings).length
    ? `; the target also ${settings(s.targetSettings)}`
    : "";
  console.log(`Servers: fsync on, ${settings(SERVER_SETTINGS)}${targetOnly}\n`);
  // Medians with their range, and the load average beside them: on a shared machine one quiet
  // run says little.
  console.log(
    "| tool | wall s, median (min–max) | each run | peak RSS | CPU s, median: tool / source / " +
      "target / all | CPU s per M rows, tool | load (1 min) |",
  );
  console.log("| --- | ---: | --- | ---: | --- | ---: | --- |");
  const byTool = new Map<ToolName, Run[]>();
  for (const r of runs) byTool.set(r.tool, [...byTool.get(r.tool) ?? [], r]);
  for (const [tool, rs] of byTool) {
    const walls = rs.map((r) => r.m.seconds);
    const toolCpu = median(rs.map((r) => r.m.toolCpu ?? NaN));
    const cpu = (i: number) => median(rs.map((r) => r.m.serverCpu[i]));
    const all = median(rs.map((r) => (r.m.toolCpu ?? NaN) + r.m.serverCpu[0] + r.m.serverCpu[1]));
    console.log(
      `| ${cell(LABELS[tool])} | ${median(walls).toFixed(1)} (${best(walls).toFixed(1)}–${
        Math.max(...walls).toFixed(1)
      }) | ${list(walls)} | ${mib(Math.max(...rs.map((r) => r.m.peakRss)))} | ${secs(toolCpu)} / ${
        secs(cpu(0))
      } / ${secs(cpu(1))} / ${secs(all)} | ${(toolCpu / (rows / 1e6)).toFixed(2)} | ${
        loadRange(rs)
      } |`,
    );
  }
  const xmat = byTool.get("pg-xmat");
  if (xmat) {
    const x = median(xmat.map((r) => r.m.seconds));
    console.log("");
    for (const [tool, rs] of byTool) {
      if (tool === "pg-xmat") continue;
      console.log(
        `pg-xmat / ${LABELS[tool]}, medians: ${
          (x / median(rs.map((r) => r.m.seconds))).toFixed(2)
        }`,
      );
    }
    const steps = Object.keys(xmat[0].xmat!.steps) as Step[];
    const perStep = steps.map((step) => {
      const runs = xmat.map((r) => r.xmat!.steps[step] ?? NaN);
      return `${step} ${median(runs).toFixed(1)} (${list(runs)})`;
    });
    console.log(`pg-xmat steps (s, median and each run): ${perStep.join("; ")}`);
    for (const r of xmat) console.log(`pg-xmat copy step: ${describeCopyWork(r.xmat!.copyWork)}`);
  }
}

function reportBound(dataset: Dataset, bound: BoundRuns): void {
  if (bound.rows.length === 0) return;
  const b = bound.rows;
  const t = dataset.tables.find((t) => t.name === BOUND_TABLE)!;
  console.log(
    `\nOne large table (${t.name}, ${(t.rows / 1e6).toFixed(1)} M rows, ${gib(t.bytes)}, ` +
      `${bound.format}):\n`,
  );
  // CPU is the whole command's: a pg-xmat run also builds the table's indexes.
  console.log("| measurement | s (best) | each run | CPU s source / target | peak RSS |");
  console.log("| --- | ---: | --- | --- | ---: |");
  const line = (label: string, ms: Measured[], seconds = ms.map((m) => m.seconds)) => {
    const cpu = (i: number) => secs(best(ms.map((m) => m.serverCpu[i])));
    console.log(
      `| ${label} | ${best(seconds).toFixed(1)} | ${list(seconds)} | ${cpu(0)} / ${cpu(1)} | ${
        mib(Math.max(...ms.map((m) => m.peakRss)))
      } |`,
    );
  };
  line("source-only `COPY TO` /dev/null", b.map((r) => r.sourceOnly));
  line("target-only `COPY FROM` a file (FREEZE)", b.map((r) => r.targetOnly));
  line("`psql COPY TO \\| psql COPY FROM` (FREEZE)", b.map((r) => r.pipe));
  line(
    "pg-xmat data phase, --jobs " + bound.jobs,
    b.map((r) => r.xmat.m),
    b.map((r) => copySeconds(r.xmat)),
  );
  line(
    "pg-xmat data phase, --jobs 1",
    b.map((r) => r.xmatSingle.m),
    b.map((r) => copySeconds(r.xmatSingle)),
  );
  line("source-only `COPY TO`, filter + transforms", b.map((r) => r.sourceTransformed));
  line(
    "pg-xmat data phase, --jobs 1, filter + transforms",
    b.map((r) => r.xmatTransformed.m),
    b.map((r) => copySeconds(r.xmatTransformed)),
  );
  line("source-only `COPY TO`, 3 columns masked", b.map((r) => r.sourceMasked));
  line(
    "pg-xmat data phase, --jobs 1, 3 columns masked",
    b.map((r) => r.xmatMasked.m),
    b.map((r) => copySeconds(r.xmatMasked)),
  );
  const bestOf = (f: (r: typeof b[number]) => number) => best(b.map(f));
  const bound1 = Math.max(bestOf((r) => r.sourceOnly.seconds), bestOf((r) => r.targetOnly.seconds));
  const single = bestOf((r) => copySeconds(r.xmatSingle));
  console.log(
    `\nData phase / max(source-only, target-only): ${
      (bestOf((r) => copySeconds(r.xmat)) / bound1).toFixed(2)
    } ` +
      `with --jobs ${bound.jobs}, ${
        (single / bound1).toFixed(2)
      } in one stream. Filter + transforms ` +
      `cost pg-xmat ${(bestOf((r) => copySeconds(r.xmatTransformed)) - single).toFixed(1)} s, ` +
      `the source alone ${
        (bestOf((r) => r.sourceTransformed.seconds) - bestOf((r) => r.sourceOnly.seconds)).toFixed(
          1,
        )
      } s.`,
  );
  const perMillion = (seconds: number) => (seconds / (t.rows / 1e6)).toFixed(2);
  // The source's CPU too: on a busy machine it is the figure that does not depend on the others.
  const sourceCpu = (m: Measured) => m.serverCpu[0];
  console.log(
    `Masking 3 columns (${Object.keys(MASKED.select!).join(", ")}) costs pg-xmat ${
      perMillion(bestOf((r) => copySeconds(r.xmatMasked)) - single)
    } s per million rows in one stream, the source alone ${
      perMillion(bestOf((r) => r.sourceMasked.seconds) - bestOf((r) => r.sourceOnly.seconds))
    } s; the source's CPU ${
      perMillion(bestOf((r) => sourceCpu(r.sourceMasked)) - bestOf((r) => sourceCpu(r.sourceOnly)))
    } s per million rows.`,
  );
}

async function main(argv: string[]): Promise<void> {
  const settings = parseSettings(argv);
  const [psql, pgDump] = await Promise.all([findTool("psql"), findTool("pg_dump")]);
  log("starting two throwaway PostgreSQL servers…");
  const options = { fast: false, settings: SERVER_SETTINGS };
  const [source, target] = await Promise.all([
    startCluster("bench-source", options),
    startCluster("bench-target", {
      ...options,
      settings: { ...SERVER_SETTINGS, ...settings.targetSettings },
    }),
  ]);
  const bench = new Bench(settings, source, target, { psql: psql.path, pgDump: pgDump.path });
  // Interrupted: stop the servers before exiting, so no throwaway server outlives the bench.
  const onSignal = () => {
    Promise.all([source.stop(), target.stop()]).finally(() => Deno.exit(130));
  };
  for (const s of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(s, onSignal);
  try {
    if (settings.subset) return await benchSubset(source, target, settings.subset, log);
    await bench.setUp();
    const runs = await bench.compare();
    report(settings, bench.dataset, runs);
    if (settings.bound) reportBound(bench.dataset, await bench.bound());
  } finally {
    await bench.close();
    await Promise.all([source.stop(), target.stop()]);
  }
}

if (import.meta.main) await main(Deno.args);
