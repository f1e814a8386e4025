/**
 * One job, top to bottom: connect, snapshot, plan, structure, copy, post-data, swap. Everything
 * is built in a shadow schema on the target; only the swap touches the target schema, and any
 * failure before it drops the shadow and leaves the target as it was. The source is only read.
 *
 * @example
 * ```ts
 * import { runJob } from "./run.ts";
 * const report = await runJob({
 *   source: { database: Deno.env.get("SOURCE_DB_URL")!, schema: "public" },
 *   target: { database: Deno.env.get("TARGET_DB_URL")!, schema: "staging" },
 *   tables: { users: { where: { active: true } } },
 * }, { name: "export:users" });
 * report.tables.length;
 * ```
 * @module
 */

import { type Conn, ConnectError, openClient, type Sql } from "./connect.ts";
import { type JobConfig, validateJobs } from "./config.ts";
import { parseConnUrl } from "./conninfo.ts";
import { CopyFailed, type CopyProgress, copyTable } from "./copy.ts";
import {
  type Extension,
  readSchema,
  readSequenceValues,
  readStructure,
  type SchemaCatalog,
  type SequenceValue,
  type Structure,
} from "./catalog.ts";
import { describeError, JobError, type Place, type Step, UsageError, XmatError } from "./errors.ts";
import type { EventHandler, RunEvent } from "./events.ts";
import { matchJobs } from "./glob.ts";
import { findTool, ToolError } from "./pg_tools.ts";
import { copyInFor, type FormatChoice, planTables, type TablePlan } from "./plan.ts";
import { type ExtensionPlacement, newToken, renameDance, shadowName } from "./shadow.ts";
import { exportSnapshot, importSnapshot, type Snapshot } from "./snapshot.ts";
import { qualify, quoteIdent, quoteLiteral } from "./sql.ts";
import {
  type Archive,
  dumpStructure,
  runScript,
  script,
  searchPathSql,
  sectionSql,
  type Tools,
} from "./structure.ts";
import {
  DependentsError,
  dropLeftovers,
  dropShadow,
  findDependents,
  lockTarget,
  readTargetState,
  sameDatabase,
  SwapError,
  swapShadow,
  type TargetState,
} from "./swap.ts";
import type { Job, JobReport, Jobs, TableReport } from "./types.ts";

/** Options of a run. */
export interface RunOptions {
  /** The job's name in messages (`runJob` only; `runJobs` uses the map's keys). */
  name?: string;
  /** Tables copied at once (default 2, or the machine's core count when larger). */
  jobs?: number;
  /** Drop objects outside the target schema that depend on it (as the job's `cascade`). */
  cascade?: boolean;
  /** COPY data format; `auto` picks binary where it is safe. */
  format?: FormatChoice;
  /** Aborting stops the copies, cancels server work and removes the shadow schema. */
  signal?: AbortSignal;
  /** Receives progress events. */
  onEvent?: EventHandler;
}

/** The default number of tables copied at once. */
export function defaultParallelism(): number {
  return Math.max(2, Math.min(8, navigator.hardwareConcurrency ?? 2));
}

/**
 * Runs one job (validated first, like a jobs module's entry) and returns its report; throws a
 * `ConfigError` for an invalid job and a `JobError` naming the step that failed.
 */
export async function runJob(job: Job, options: RunOptions = {}): Promise<JobReport> {
  const [config] = validateJobs({ [options.name ?? "job"]: job });
  return await runJobConfig(config, options);
}

/**
 * Runs the jobs whose names match `pattern`, in the map's order, and stops at the first that
 * fails (its error is thrown). Throws a `UsageError` when no job matches.
 */
export async function runJobs(
  pattern: string,
  jobs: Jobs,
  options: RunOptions = {},
): Promise<JobReport[]> {
  const configs = validateJobs(jobs);
  const names = matchJobs(pattern, configs.map((c) => c.name));
  if (names.length === 0) {
    throw new UsageError(
      `no job matches "${pattern}"; jobs: ${configs.map((c) => c.name).join(", ")}`,
    );
  }
  const reports: JobReport[] = [];
  for (const config of configs.filter((c) => names.includes(c.name))) {
    reports.push(await runJobConfig(config, options));
  }
  return reports;
}

/** Runs one validated job. */
export async function runJobConfig(
  config: JobConfig,
  options: RunOptions = {},
): Promise<JobReport> {
  const run = new JobRun(config, options);
  return await run.run();
}

/** Why a step failed, in words a user can act on. */
function hintFor(error: unknown): string | undefined {
  const message = String((error as Error)?.message ?? "");
  if (/row-level security/i.test(message)) {
    return "the source role is subject to row-level security on this table; set `rowSecurity: true` " +
      "in the job to copy only the rows it may see, or use a role that bypasses row-level security";
  }
  if ((error as { code?: string })?.code === "42501") {
    return "grant the role the privilege named above (README: Privileges)";
  }
  return undefined;
}

class JobRun {
  readonly #c: JobConfig;
  readonly #o: RunOptions;
  readonly #parallel: number;
  readonly #started = performance.now();
  #source?: Sql;
  #target?: Sql;
  #lock?: Conn;
  #snapshot?: Snapshot;
  #tmp?: string;
  #catalog?: SchemaCatalog;
  #plans: TablePlan[] = [];
  #structure?: Structure;
  #targetState?: TargetState;
  #tools?: Tools;
  #archive?: Archive;
  #sequences: SequenceValue[] = [];
  #shadow: string;
  #aside: string;
  #shadowBuilt = false;
  #warnings: string[] = [];
  #reports: TableReport[] = [];
  #swapped = false;

  constructor(config: JobConfig, options: RunOptions) {
    this.#c = config;
    this.#o = options;
    this.#parallel = Math.max(1, options.jobs ?? defaultParallelism());
    const token = newToken();
    this.#shadow = shadowName(config.target.schema, token);
    this.#aside = `_pgxmat_aside_${token}`;
  }

  #emit(event: RunEvent): void {
    try {
      this.#o.onEvent?.(event);
    } catch {
      // An observer's fault never fails a job.
    }
  }

  #warn(message: string): void {
    this.#warnings.push(message);
    this.#emit({ kind: "warning", job: this.#c.name, message });
  }

  #fail(place: Omit<Place, "job">, error: unknown): XmatError {
    if (error instanceof XmatError) return error;
    const at: Place = { job: this.#c.name, ...place };
    if (error instanceof ConnectError) at.side = error.side;
    if (error instanceof CopyFailed) at.side ??= error.side;
    const cause = error instanceof CopyFailed ? error.cause : error;
    if (this.#o.signal?.aborted) {
      return new JobError(at, "interrupted; the target was left as it was", { cause });
    }
    const hint = hintFor(cause);
    const text = describeError(cause);
    return new JobError(at, hint && !text.includes("HINT:") ? `${text}\nHINT: ${hint}` : text, {
      cause,
    });
  }

  async #step<T>(step: Step, fn: () => Promise<T>, detail?: string): Promise<T> {
    this.#o.signal?.throwIfAborted();
    this.#emit({ kind: "step-start", job: this.#c.name, step, detail });
    const started = performance.now();
    try {
      const result = await fn();
      this.#emit({
        kind: "step-end",
        job: this.#c.name,
        step,
        seconds: (performance.now() - started) / 1000,
      });
      return result;
    } catch (error) {
      throw this.#fail({ step }, error);
    }
  }

  async run(): Promise<JobReport> {
    try {
      await this.#step("connect", () => this.#connect());
      await this.#step("snapshot", () => this.#openSnapshot());
      await this.#step("plan", () => this.#plan());
      await this.#step("structure", () => this.#buildStructure(), `${this.#plans.length} tables`);
      await this.#step(
        "copy",
        () => this.#copy(),
        `${this.#plans.length} tables, ${this.#parallel} at a time`,
      );
      await this.#step("post-data", () => this.#postData());
      await this.#step("swap", () => this.#swap());
      return {
        job: this.#c.name,
        target: this.#c.target.schema,
        tables: this.#reports,
        warnings: this.#warnings,
        seconds: (performance.now() - this.#started) / 1000,
      };
    } finally {
      await this.#cleanup();
    }
  }

  async #connect(): Promise<void> {
    const clients = await Promise.allSettled([
      openClient("source", this.#c.source.url, { max: this.#parallel + 1 }),
      openClient("target", this.#c.target.url, { max: this.#parallel + 1 }),
    ]);
    if (clients[0].status === "fulfilled") this.#source = clients[0].value;
    if (clients[1].status === "fulfilled") this.#target = clients[1].value;
    for (const c of clients) if (c.status === "rejected") throw c.reason;
    this.#lock = await this.#target!.reserve();
    if (!await lockTarget(this.#lock, this.#c.target.schema)) {
      throw new JobError(
        { job: this.#c.name, step: "connect", side: "target" },
        `another pg-xmat run is building target schema "${this.#c.target.schema}" on this database; ` +
          `wait for it to finish (or stop it) and run again`,
      );
    }
  }

  async #openSnapshot(): Promise<void> {
    this.#snapshot = await exportSnapshot(this.#source!);
    if (await sameDatabase(this.#snapshot.conn, this.#lock!, this.#c.target.schema)) {
      if (this.#c.source.schema === this.#c.target.schema) {
        throw new JobError(
          { job: this.#c.name, step: "snapshot" },
          `source and target are the same schema "${this.#c.source.schema}" of the same database: ` +
            `the job would replace its own source. Choose another target schema or database.`,
        );
      }
    }
  }

  async #plan(): Promise<void> {
    const conn = this.#snapshot!.conn;
    const catalog = await readSchema(conn, this.#c.source.schema);
    if (!catalog) {
      throw new JobError(
        { job: this.#c.name, step: "plan", side: "source" },
        `schema "${this.#c.source.schema}" does not exist on the source ${
          parseConnUrl(this.#c.source.url).hosts[0]
        }`,
      );
    }
    this.#catalog = catalog;
    this.#plans = planTables(this.#c, catalog, this.#o.format ?? "text");
    if (this.#plans.length === 0) {
      throw new JobError(
        { job: this.#c.name, step: "plan", side: "source" },
        `schema "${catalog.schema}" of the source has no tables to copy`,
      );
    }
    await this.#probeQueries(conn);
    this.#structure = await readStructure(conn, catalog, this.#plans.map((p) => p.table.oid));
    for (const fk of this.#structure.foreignKeys.filter((f) => !f.inJob)) {
      this.#warn(
        `foreign key "${fk.name}" of table "${fk.table}" references ${
          qualify(fk.refSchema, fk.refTable)
        }, ` +
          `which this job does not copy: the key is left out`,
      );
    }
    for (const object of this.#structure.outside) {
      this.#warn(
        `the tables use ${object}, which pg-xmat does not copy: it must exist on the target`,
      );
    }
    this.#sequences = await readSequenceValues(conn, catalog.schema, this.#structure.sequences);
    const major = Math.floor(
      Number((await conn`SHOW server_version_num`)[0].server_version_num) / 10000,
    );
    this.#tools = await this.#findTools(major);

    this.#targetState = await readTargetState(this.#lock!);
    this.#checkExtensions(this.#structure.extensions);
    if (
      this.#targetState.schemas.has(this.#c.target.schema) && !(this.#c.cascade || this.#o.cascade)
    ) {
      const dependents = await findDependents(this.#lock!, this.#c.target.schema);
      if (dependents.length) {
        throw new JobError(
          { job: this.#c.name, step: "plan", side: "target" },
          new DependentsError(this.#c.target.schema, dependents).message,
        );
      }
    }
    // Every check passed: now the target may be written, starting with what killed runs left.
    const dropped = await dropLeftovers(this.#lock!, this.#c.target.schema);
    if (dropped.length) {
      this.#emit({
        kind: "info",
        job: this.#c.name,
        message: `dropped leftovers of an earlier run: ${dropped.join(", ")}`,
      });
    }
  }

  async #findTools(major: number): Promise<Tools> {
    try {
      const [pgDump, pgRestore, psql] = await Promise.all([
        findTool("pg_dump", major),
        findTool("pg_restore", major),
        findTool("psql"),
      ]);
      return { pgDump, pgRestore, psql };
    } catch (error) {
      if (error instanceof ToolError) {
        throw new JobError(
          { job: this.#c.name, step: "plan" },
          `${error.message} (the source server is version ${major})`,
        );
      }
      throw error;
    }
  }

  /** Plans each table's query on the source (EXPLAIN), so a bad `select`/`where` or row-level
   * security fails here, before anything is written to the target. */
  async #probeQueries(conn: Conn): Promise<void> {
    await conn.unsafe(`SET LOCAL row_security = ${this.#c.rowSecurity ? "on" : "off"}`);
    for (const plan of this.#plans) {
      const query = /^COPY \((.*)\) TO STDOUT/s.exec(plan.copyOut)![1];
      await conn.unsafe("SAVEPOINT probe");
      try {
        await conn.unsafe(`EXPLAIN ${query}`);
      } catch (error) {
        await conn.unsafe("ROLLBACK TO SAVEPOINT probe");
        throw this.#fail({ step: "plan", table: plan.table.name, side: "source" }, error);
      }
      await conn.unsafe("RELEASE SAVEPOINT probe");
    }
  }

  #placements(): ExtensionPlacement[] {
    return this.#structure!.extensions.map((e) => ({
      name: e.name,
      sourceSchema: e.schema,
      targetSchema: this.#targetState!.extensions.get(e.name),
    }));
  }

  #checkExtensions(extensions: readonly Extension[]): void {
    const source = this.#c.source.schema;
    for (const ext of extensions) {
      if (this.#targetState!.extensions.has(ext.name)) continue;
      if (ext.schema !== source && !this.#targetState!.schemas.has(ext.schema)) {
        throw new JobError(
          { job: this.#c.name, step: "plan", side: "target" },
          `the tables use extension "${ext.name}", which the target lacks; on the source it lives in ` +
            `schema "${ext.schema}", which the target does not have. Create the schema or the extension ` +
            `on the target (CREATE EXTENSION ${quoteIdent(ext.name)} WITH SCHEMA ${
              quoteIdent(ext.schema)
            })`,
        );
      }
    }
  }

  #dance(create: boolean) {
    return renameDance({
      sourceSchema: this.#c.source.schema,
      shadow: this.#shadow,
      aside: this.#targetState!.schemas.has(this.#c.source.schema) ? this.#aside : undefined,
      create: create
        ? {
          pgxmat: "shadow",
          target: this.#c.target.schema,
          job: this.#c.name,
          started: new Date().toISOString(),
        }
        : undefined,
      extensions: this.#placements(),
    });
  }

  async #buildStructure(): Promise<void> {
    this.#tmp = await Deno.makeTempDir({ prefix: "pg-xmat-" });
    const target = parseConnUrl(this.#c.target.url);
    this.#archive = await dumpStructure({
      tools: this.#tools!,
      source: parseConnUrl(this.#c.source.url),
      schema: this.#c.source.schema,
      snapshot: this.#snapshot!.id,
      dir: this.#tmp,
      signal: this.#o.signal,
    });
    const sql = await sectionSql(
      this.#tools!,
      this.#archive,
      "pre-data",
      this.#selection(),
      this.#o.signal,
    );
    const { prologue, epilogue } = this.#dance(true);
    this.#shadowBuilt = true;
    await runScript(this.#tools!, target, script(prologue, sql, epilogue), this.#o.signal);
    // Extensions created by the dance now live in the shadow schema.
    this.#targetState = await readTargetState(this.#lock!);
  }

  #selection(excludedConstraints: ReadonlySet<number> = new Set()) {
    const objects = new Set(this.#structure!.objects);
    for (const oid of excludedConstraints) objects.delete(`2606:${oid}`);
    return { schema: this.#c.source.schema, objects, named: this.#structure!.named };
  }

  async #copy(): Promise<void> {
    const queue = [...this.#plans];
    // The first failure stops the other workers; it is the one reported.
    const stop = new AbortController();
    const signal = this.#o.signal ? AbortSignal.any([this.#o.signal, stop.signal]) : stop.signal;
    let first: { error: unknown } | undefined;
    const worker = async () => {
      const source = await this.#source!.reserve();
      const target = await this.#target!.reserve();
      try {
        await importSnapshot(source, this.#snapshot!.id, { rowSecurity: this.#c.rowSecurity });
        for (let plan = queue.shift(); plan && !signal.aborted; plan = queue.shift()) {
          await this.#copyOne(plan, source, target, signal);
        }
      } catch (error) {
        first ??= { error };
        stop.abort();
      } finally {
        await source.unsafe("ROLLBACK").catch(() => {});
        source.release();
        target.release();
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#parallel, queue.length) }, worker));
    if (first) throw first.error;
    this.#o.signal?.throwIfAborted();
    await this.#snapshot!.close();
    this.#snapshot = undefined;
  }

  async #copyOne(plan: TablePlan, source: Conn, target: Conn, signal: AbortSignal): Promise<void> {
    const progress: CopyProgress = { rows: 0, bytes: 0 };
    const table = plan.table.name;
    this.#emit({
      kind: "table-start",
      job: this.#c.name,
      table,
      estimatedRows: plan.table.rows,
      estimatedBytes: plan.table.bytes,
      progress,
    });
    try {
      const result = await copyTable(source, target, {
        copyOut: plan.copyOut,
        copyIn: copyInFor(plan, this.#shadow),
      }, { progress, signal });
      this.#reports.push({ table, ...result });
      this.#emit({ kind: "table-end", job: this.#c.name, table, ...result });
    } catch (error) {
      throw this.#fail({ step: "copy", table }, error);
    }
  }

  /** Counts, per foreign key within the job, the rows whose parent the filters left out. */
  async #orphans(): Promise<Map<number, number>> {
    const counts = new Map<number, number>();
    for (const fk of this.#structure!.foreignKeys.filter((f) => f.inJob)) {
      const child = qualify(this.#shadow, fk.table);
      const parent = qualify(this.#shadow, fk.refTable);
      const notNull = fk.columns.map((c) => `c.${quoteIdent(c)} IS NOT NULL`).join(" AND ");
      const match = fk.columns.map((c, i) =>
        `p.${quoteIdent(fk.refColumns[i])} = c.${quoteIdent(c)}`
      ).join(" AND ");
      const [row] = await this.#lock!.unsafe(
        `SELECT count(*)::int8 AS n FROM ${child} c WHERE ${notNull} AND NOT EXISTS (SELECT 1 FROM ${parent} p WHERE ${match})`,
      );
      if (Number(row.n) > 0) counts.set(fk.oid, Number(row.n));
    }
    return counts;
  }

  async #postData(): Promise<void> {
    const orphans = await this.#orphans();
    const after: string[] = [searchPathSql(this.#shadow)];
    for (const fk of this.#structure!.foreignKeys.filter((f) => orphans.has(f.oid))) {
      const n = orphans.get(fk.oid)!;
      const what =
        `foreign key "${fk.name}" of table "${fk.table}": ${n} row${n === 1 ? "" : "s"} ` +
        `reference rows of "${fk.refTable}" that the filters left out`;
      if (this.#c.orphans === "fail") {
        throw new JobError(
          { job: this.#c.name, step: "post-data", table: fk.table },
          `${what}. Widen the filters, or set \`orphans: "not-valid"\``,
        );
      }
      if (fk.tablePartitioned) {
        this.#warn(
          `${what}; a partitioned table cannot have a NOT VALID key, so the key is left out`,
        );
        continue;
      }
      this.#warn(`${what}; the key is created NOT VALID (it checks new rows only)`);
      after.push(
        `ALTER TABLE ${qualify(this.#shadow, fk.table)} ADD CONSTRAINT ${
          quoteIdent(fk.name)
        } ${fk.definition} NOT VALID`,
      );
    }
    for (const s of this.#sequences) {
      const name = quoteLiteral(qualify(this.#shadow, s.name));
      after.push(
        `SELECT pg_catalog.setval(${name}::regclass, ${BigInt(s.lastValue)}, ${s.isCalled})`,
      );
    }
    for (const plan of this.#plans) after.push(`ANALYZE ${qualify(this.#shadow, plan.table.name)}`);
    const sql = await sectionSql(
      this.#tools!,
      this.#archive!,
      "post-data",
      this.#selection(new Set(orphans.keys())),
      this.#o.signal,
    );
    const { prologue, epilogue } = this.#dance(false);
    await runScript(
      this.#tools!,
      parseConnUrl(this.#c.target.url),
      script(prologue, sql, [...epilogue, ...after]),
      this.#o.signal,
    );
  }

  async #swap(): Promise<void> {
    try {
      const dropped = await swapShadow(this.#lock!, {
        shadow: this.#shadow,
        target: this.#c.target.schema,
        cascade: this.#c.cascade || this.#o.cascade === true,
        signal: this.#o.signal,
      });
      this.#swapped = true;
      for (const d of dropped) this.#warn(`dropped with the old target schema (cascade): ${d}`);
    } catch (error) {
      if (error instanceof SwapError || error instanceof DependentsError) {
        throw new JobError({ job: this.#c.name, step: "swap", side: "target" }, error.message);
      }
      throw error;
    }
  }

  async #cleanup(): Promise<void> {
    if (this.#snapshot) await this.#snapshot.close().catch(() => {});
    if (this.#shadowBuilt && !this.#swapped && this.#lock) {
      await dropShadow(this.#lock, this.#shadow).catch((error) =>
        this.#warn(
          `could not drop shadow schema "${this.#shadow}" (${
            describeError(error)
          }); the next run of this job drops it`,
        )
      );
    }
    this.#lock?.release();
    await Promise.all([this.#source?.end({ timeout: 5 }), this.#target?.end({ timeout: 5 })]);
    if (this.#tmp) await Deno.remove(this.#tmp, { recursive: true }).catch(() => {});
  }
}
