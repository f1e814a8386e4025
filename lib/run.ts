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

import { type Conn, ConnectError, connectionLost, openClient, type Sql } from "./connect.ts";
import { type JobConfig, validateJobs } from "./config.ts";
import { parseConnUrl } from "./conninfo.ts";
import { CopyFailed, type CopyProgress, copyTable } from "./copy.ts";
import { CopyQueue, type CopyTask } from "./copy_queue.ts";
import {
  type Extension,
  type ForeignKey,
  readIndexes,
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
import { findClientTools, serverMajor, ToolError } from "./pg_tools.ts";
import {
  type CopyPiece,
  copyPieces,
  type FormatChoice,
  type IndexBuild,
  indexBuilds,
  mayOrphan,
  planTables,
  SPLIT_ABOVE,
  type TablePlan,
} from "./plan.ts";
import { type ExtensionPlacement, newToken, renameDance, shadowName } from "./shadow.ts";
import { exportSnapshot, importSnapshot, type Snapshot } from "./snapshot.ts";
import { qualify, quoteIdent, quoteLiteral } from "./sql.ts";
import { redactUrl } from "./redact.ts";
import { describeEntry, selectToc, type TocSelection } from "./toc.ts";
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
  foreignDefaultPrivileges,
  inTransaction,
  lockTarget,
  readTargetState,
  sameDatabase,
  SwapError,
  swapShadow,
  type TargetState,
} from "./swap.ts";
import type { Job, JobPlan, JobReport, Jobs, TableReport } from "./types.ts";

/** Options of a run. */
export interface RunOptions {
  /** The job's name in messages (`runJob` only; `runJobs` uses the map's keys). */
  name?: string;
  /** Tables copied at once (default 2, or the machine's core count when larger). */
  jobs?: number;
  /** Drop objects outside the target schema that depend on it (as the job's `cascade`). */
  cascade?: boolean;
  /** COPY data format; `auto` (the default) picks binary where it is safe. */
  format?: FormatChoice;
  /**
   * Tables at least this large (bytes on disk) that would outlast the rest of the copy are
   * split into ranges of pages copied by several workers (default `SPLIT_ABOVE`, 256 MiB).
   */
  splitAbove?: number;
  /** Aborting stops the copies, cancels server work and removes the shadow schema. */
  signal?: AbortSignal;
  /** How long one swap attempt waits for the target schema's locks (default 5000 ms). */
  lockTimeoutMs?: number;
  /** How many swap attempts before the job fails (default 6). */
  lockAttempts?: number;
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

/**
 * What a job would do, without doing it (a dry run): validates the job, connects to the source
 * only, reads its catalog and structure in one snapshot, checks each table's query with
 * `EXPLAIN`, and returns the plan. Writes nothing anywhere; the checks that need the target are
 * listed in the plan's `notChecked`.
 *
 * @example
 * ```ts
 * const plan = await planJob({
 *   source: { database: Deno.env.get("SOURCE_DB_URL")!, schema: "public" },
 *   target: { database: Deno.env.get("TARGET_DB_URL")!, schema: "staging" },
 *   tables: { users: { where: { active: true } } },
 * }, { name: "export:users" });
 * plan.tables[0].copy; // 'COPY (SELECT … WHERE "active" = true) TO STDOUT'
 * ```
 */
export async function planJob(job: Job, options: RunOptions = {}): Promise<JobPlan> {
  const [config] = validateJobs({ [options.name ?? "job"]: job });
  return await planJobConfig(config, options);
}

/**
 * Plans one validated job (a dry run): see `planJob`.
 *
 * @example
 * ```ts
 * const [config] = validateJobs(await loadJobsModule("pg_xmat_jobs.ts"));
 * const plan = await planJobConfig(config);
 * plan.structure.map((o) => `${o.type} ${o.name}`); // ["TABLE users", "CONSTRAINT users_pkey"]
 * ```
 */
export async function planJobConfig(
  config: JobConfig,
  options: RunOptions = {},
): Promise<JobPlan> {
  return await new JobRun(config, options, true).dryRun();
}

/** The warning for a foreign key to a table the job does not copy. */
function leftOutWarning(fk: ForeignKey): string {
  return `foreign key "${fk.name}" of table "${fk.table}" references ${
    qualify(fk.refSchema, fk.refTable)
  }, which this job does not copy: the key is left out`;
}

/** What only a run checks: what needs the target, and orphans (counted after the copy). */
function runChecks(target: string, orphansPossible: boolean): string[] {
  const checks = [
    "that source and target are not the same schema of the same database (a run refuses that)",
    `objects outside target schema "${target}" that depend on it (a run refuses them unless cascade)`,
    "the extensions the target lacks, and the target role's privileges",
    `that no other run is building target schema "${target}"`,
  ];
  if (orphansPossible) {
    checks.push(
      "rows that reference rows the filters leave out (a run counts them after the copy and " +
        'creates those foreign keys NOT VALID, or fails with orphans: "fail")',
    );
  }
  return checks;
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

/** A table being copied, possibly in several pieces at once. */
interface TableCopy {
  progress: CopyProgress;
  started: number;
  /** Pieces not finished yet. */
  left: number;
  /** Rows the finished pieces stored. */
  rows: number;
}

/** What a copy worker holds: its two connections (the source's in the snapshot). */
interface CopyWorker {
  source: Conn;
  target: Conn;
  signal: AbortSignal;
  /** Cancel the worker's statement on that side, from another connection. */
  cancelSource: () => Promise<void>;
  cancelTarget: () => Promise<void>;
}

class JobRun {
  readonly #c: JobConfig;
  readonly #o: RunOptions;
  /** Source-side steps only, ending with the plan: nothing is written anywhere. */
  readonly #dryRun: boolean;
  readonly #parallel: number;
  readonly #started = performance.now();
  #source?: Sql;
  #target?: Sql;
  #lock?: Conn;
  #snapshot?: Snapshot;
  #tmp?: string;
  #catalog?: SchemaCatalog;
  #plans: TablePlan[] = [];
  /** Indexes the copy step builds as their tables are loaded (the rest: post-data). */
  #builds: IndexBuild[] = [];
  /** Tables the copy step analyses after their last index (the rest: post-data). */
  #analyzedInCopy = new Set<string>();
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

  constructor(config: JobConfig, options: RunOptions, dryRun = false) {
    this.#c = config;
    this.#o = options;
    this.#dryRun = dryRun;
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
    let failed = true;
    try {
      await this.#step("connect", () => this.#connect());
      await this.#step("snapshot", () => this.#openSnapshot());
      await this.#step("plan", () => this.#plan());
      const tables = `${this.#plans.length} table${this.#plans.length === 1 ? "" : "s"}`;
      await this.#step("structure", () => this.#buildStructure(), tables);
      await this.#step(
        "copy",
        () => this.#copy(),
        `${tables}, ${this.#parallel} at a time`,
      );
      await this.#step("post-data", () => this.#postData());
      await this.#step("swap", () => this.#swap());
      failed = false;
      return {
        job: this.#c.name,
        target: this.#c.target.schema,
        tables: this.#reports,
        warnings: this.#warnings,
        seconds: (performance.now() - this.#started) / 1000,
      };
    } finally {
      await this.#cleanup(failed);
    }
  }

  /** The dry run: the source-side steps, and the structure a run would restore. */
  async dryRun(): Promise<JobPlan> {
    let failed = true;
    try {
      await this.#step("connect", () => this.#connect(), "source only: dry run");
      await this.#step("snapshot", () => this.#openSnapshot());
      await this.#step("plan", () => this.#plan());
      const archive = await this.#step("structure", () => this.#dump(), "listing objects");
      const tables = this.#catalog!.tables.map((t) => t.name);
      const leftOut = this.#structure!.foreignKeys.filter((f) => !f.inJob);
      const leftOutWarnings = new Set(leftOut.map(leftOutWarning));
      failed = false;
      return {
        job: this.#c.name,
        source: { database: redactUrl(this.#c.source.url), schema: this.#c.source.schema },
        target: { database: redactUrl(this.#c.target.url), schema: this.#c.target.schema },
        tables: this.#plans.map((p) => ({
          table: p.table.name,
          estimatedRows: p.table.rows,
          estimatedBytes: p.table.bytes,
          copy: p.copyOut,
        })),
        structure: selectToc(archive.toc, this.#selection()).map((e) =>
          describeEntry(e, this.#c.source.schema, tables)
        ),
        extensions: this.#structure!.extensions.map((e) => e.name),
        foreignKeysLeftOut: leftOut.map((fk) => ({
          name: fk.name,
          table: fk.table,
          references: qualify(fk.refSchema, fk.refTable),
          reason: "the job does not copy the referenced table",
        })),
        warnings: this.#warnings.filter((w) => !leftOutWarnings.has(w)),
        notChecked: runChecks(
          this.#c.target.schema,
          this.#plans.some((p) => p.spec.where !== undefined) &&
            this.#structure!.foreignKeys.some((f) => f.inJob),
        ),
        seconds: (performance.now() - this.#started) / 1000,
      };
    } finally {
      await this.#cleanup(failed);
    }
  }

  async #connect(): Promise<void> {
    if (this.#dryRun) {
      this.#source = await openClient("source", this.#c.source.url, { max: 1 });
      return;
    }
    const clients = await Promise.allSettled([
      // One connection per worker, one for the snapshot (source) or the lock (target), and a
      // spare for control queries (cancelling a worker's statement).
      openClient("source", this.#c.source.url, { max: this.#parallel + 2 }),
      openClient("target", this.#c.target.url, { max: this.#parallel + 2 }),
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
    if (this.#dryRun) return; // the same-database check needs the target
    if (await sameDatabase(this.#snapshot.conn, this.#lock!, this.#c.target.schema)) {
      if (this.#c.source.schema === this.#c.target.schema) {
        throw new JobError(
          { job: this.#c.name, step: "snapshot" },
          `source and target are the same schema "${this.#c.source.schema}" of the same database ` +
            `(or the source is a standby of the target's): the job would replace its own source. ` +
            `Choose another target schema or database.`,
        );
      }
    }
  }

  async #plan(): Promise<void> {
    const conn = this.#snapshot!.conn;
    this.#tools = await this.#findTools(conn);
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
    this.#plans = planTables(this.#c, catalog, this.#o.format);
    if (this.#plans.length === 0) {
      throw new JobError(
        { job: this.#c.name, step: "plan", side: "source" },
        `schema "${catalog.schema}" of the source has no tables to copy`,
      );
    }
    await this.#probeQueries(conn);
    this.#structure = await readStructure(conn, catalog, this.#plans.map((p) => p.table.oid));
    if (this.#structure.missing.length) {
      throw new JobError(
        { job: this.#c.name, step: "plan", side: "source" },
        `the tables cannot be created without relations the job does not copy: ${
          this.#structure.missing.join("; ")
        }. Add the tables to the job (\`where: "false"\` copies a table's structure only); ` +
          `pg-xmat copies no views, materialized views or foreign tables: leave out what needs one`,
      );
    }
    const indexes = await readIndexes(conn, this.#plans.map((p) => p.table.oid));
    this.#builds = indexBuilds(indexes, this.#shadow);
    const built = new Set(this.#builds.map((b) => b.index));
    this.#analyzedInCopy = new Set(
      this.#plans.filter((p) =>
        !p.table.partitioned && !this.#structure!.withStatistics.includes(p.table.name) &&
        indexes.every((i) => i.table !== p.table.name || built.has(i.name))
      ).map((p) => p.table.name),
    );
    for (const fk of this.#structure.foreignKeys.filter((f) => !f.inJob)) {
      this.#warn(leftOutWarning(fk));
    }
    for (const object of this.#structure.outside) {
      this.#warn(
        `the tables use ${object}, which pg-xmat does not copy: it must exist on the target`,
      );
    }
    this.#sequences = await readSequenceValues(conn, catalog.schema, this.#structure.sequences);
    this.#emit({
      kind: "planned",
      job: this.#c.name,
      tables: this.#plans.map((p) => ({
        table: p.table.name,
        estimatedRows: p.table.rows,
        estimatedBytes: p.table.bytes,
      })),
    });
    if (this.#dryRun) return; // what follows needs the target

    this.#targetState = await readTargetState(this.#lock!);
    this.#checkExtensions(this.#structure.extensions);
    if (this.#targetState.schemas.has(this.#c.target.schema)) {
      const { role, owners } = await foreignDefaultPrivileges(this.#lock!, this.#c.target.schema);
      if (owners.length) {
        throw new JobError(
          { job: this.#c.name, step: "plan", side: "target" },
          `target schema "${this.#c.target.schema}" has default privileges given by ${
            owners.map((r) => `role "${r}"`).join(", ")
          } (ALTER DEFAULT PRIVILEGES … IN SCHEMA): the new schema must get them again, and ` +
            `role "${role}" is not a member of ${owners.length > 1 ? "those roles" : "it"}. ` +
            `Grant the membership (GRANT ${owners.map(quoteIdent).join(", ")} TO ${
              quoteIdent(role)
            }), or run the job as a role that has it.`,
        );
      }
    }
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

  /** The client tools, checked against the source server's version before any other work. */
  async #findTools(conn: Conn): Promise<Tools> {
    const [{ server_version_num }] = await conn`SHOW server_version_num`;
    try {
      return await findClientTools(serverMajor(Number(server_version_num)));
    } catch (error) {
      if (error instanceof ToolError) {
        throw new JobError({ job: this.#c.name, step: "plan" }, error.message);
      }
      throw error;
    }
  }

  /** Plans each table's query on the source (EXPLAIN), so a bad `select`/`where` or row-level
   * security fails here, before anything is written to the target. */
  async #probeQueries(conn: Conn): Promise<void> {
    await conn.unsafe(`SET LOCAL row_security = ${this.#c.rowSecurity ? "on" : "off"}`);
    // The queries run with the session's search_path, as the copies will (the catalog reads
    // use an empty one); then the catalog's is put back.
    await conn.unsafe("SET LOCAL search_path TO DEFAULT");
    for (const plan of this.#plans) {
      const query = /^COPY \((.*)\) TO STDOUT/s.exec(plan.copyOut)![1];
      await conn.unsafe("SAVEPOINT probe");
      try {
        await conn.unsafe(`EXPLAIN ${query}`);
      } catch (error) {
        if (!connectionLost(error)) await conn.unsafe("ROLLBACK TO SAVEPOINT probe");
        throw this.#fail({ step: "plan", table: plan.table.name, side: "source" }, error);
      }
      await conn.unsafe("RELEASE SAVEPOINT probe");
    }
    await conn.unsafe("SELECT set_config('search_path', '', true)");
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

  /** `pg_dump` of the source schema's structure, in the snapshot, into a private directory. */
  async #dump(): Promise<Archive> {
    this.#tmp = await Deno.makeTempDir({ prefix: "pg-xmat-" });
    return await dumpStructure({
      tools: this.#tools!,
      source: parseConnUrl(this.#c.source.url),
      schema: this.#c.source.schema,
      snapshot: this.#snapshot!.id,
      dir: this.#tmp,
      exclude: this.#structure!.unneeded,
      signal: this.#o.signal,
    });
  }

  async #buildStructure(): Promise<void> {
    const target = parseConnUrl(this.#c.target.url);
    this.#archive = await this.#dump();
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

  /**
   * The dump's entries to restore: the job's objects but those `left` out and those `present`
   * on the target already (`catalogOid:objectOid`).
   */
  #selection(left: Iterable<string> = [], present: Iterable<string> = []): TocSelection {
    const objects = new Set(this.#structure!.objects);
    for (const entry of left) objects.delete(entry);
    return { objects, present: new Set(present) };
  }

  async #copy(): Promise<void> {
    const pieces = copyPieces(this.#plans, {
      workers: this.#parallel,
      splitAbove: this.#o.splitAbove ?? SPLIT_ABOVE,
      tidRangeScan: this.#catalog!.serverVersion >= 140000,
      schema: this.#shadow,
    });
    const queue = new CopyQueue(pieces, this.#builds, this.#analyzedInCopy);
    const copying = new Map<string, TableCopy>();
    // The first failure stops the other workers; it is the one reported.
    const stop = new AbortController();
    const signal = this.#o.signal ? AbortSignal.any([this.#o.signal, stop.signal]) : stop.signal;
    let first: { error: unknown } | undefined;
    const workers = Math.min(this.#parallel, pieces.length);
    let imported = 0;
    const worker = async () => {
      try {
        const source = await this.#source!.reserve();
        const target = await this.#target!.reserve();
        const [{ pid }] = await source`SELECT pg_backend_pid() AS pid`;
        const [{ pid: targetPid }] = await target`SELECT pg_backend_pid() AS pid`;
        // From the pools' spare connections, so they work while every worker is busy.
        const cancelSource = async () => void await this.#source!`SELECT pg_cancel_backend(${pid})`;
        const cancelTarget = async () =>
          void await this.#target!`SELECT pg_cancel_backend(${targetPid})`;
        const w: CopyWorker = { source, target, signal, cancelSource, cancelTarget };
        await importSnapshot(source, this.#snapshot!.id, { rowSecurity: this.#c.rowSecurity });
        // Every reader holds the snapshot now: the exporting transaction is not left idle for
        // the whole copy, where a timeout or an administrator could end its session.
        if (++imported === workers) await this.#closeSnapshot();
        for (let task = await queue.next(); task && !signal.aborted; task = await queue.next()) {
          if (task.kind === "copy") await this.#copyOne(task.piece, copying, w);
          else await this.#targetWork(task, w);
          queue.done(task);
        }
        await source.unsafe("COMMIT");
        source.release();
        target.release();
      } catch (error) {
        // The connections may be dead or mid-COPY: they are not used again, and clean-up
        // closes them.
        first ??= { error };
        stop.abort();
        queue.close();
      }
    };
    await Promise.all(Array.from({ length: workers }, worker));
    if (first) throw first.error;
    this.#o.signal?.throwIfAborted();
  }

  /** Ends the exporting transaction (once: the snapshot is gone afterwards). */
  async #closeSnapshot(): Promise<void> {
    const snapshot = this.#snapshot;
    this.#snapshot = undefined;
    await snapshot?.close();
  }

  /**
   * An index build or an `ANALYZE` of a loaded table, on the worker's target connection. The
   * index is created as PostgreSQL rendered it: with an empty search_path.
   */
  async #targetWork(task: Exclude<CopyTask, { kind: "copy" }>, w: CopyWorker): Promise<void> {
    const table = task.kind === "index" ? task.build.table : task.table;
    const onAbort = () => w.cancelTarget().catch(() => {});
    w.signal.addEventListener("abort", onAbort, { once: true });
    try {
      if (task.kind === "index") {
        await w.target.unsafe("BEGIN");
        await w.target.unsafe("SELECT set_config('search_path', '', true)");
        await w.target.unsafe(task.build.create);
        await w.target.unsafe("COMMIT");
      } else {
        await w.target.unsafe(`ANALYZE ${qualify(this.#shadow, table)}`);
      }
    } catch (error) {
      throw this.#fail({ step: "post-data", table, side: "target" }, error);
    } finally {
      w.signal.removeEventListener("abort", onAbort);
    }
  }

  /**
   * Copies one piece: a whole table (loaded frozen: truncated and copied in one target
   * transaction) or one part of a split table. A table's events and report come once, when its
   * first piece starts and its last ends.
   */
  async #copyOne(piece: CopyPiece, copying: Map<string, TableCopy>, w: CopyWorker): Promise<void> {
    const { table } = piece.plan;
    let copy = copying.get(table.name);
    if (!copy) {
      copy = {
        progress: { rows: 0, bytes: 0 },
        started: performance.now(),
        left: piece.parts,
        rows: 0,
      };
      copying.set(table.name, copy);
      this.#emit({
        kind: "table-start",
        job: this.#c.name,
        table: table.name,
        estimatedRows: table.rows,
        estimatedBytes: table.bytes,
        progress: copy.progress,
      });
    }
    try {
      if (piece.freeze) {
        await w.target.unsafe("BEGIN");
        await w.target.unsafe(`TRUNCATE ONLY ${qualify(this.#shadow, table.name)}`);
      }
      const result = await copyTable(w.source, w.target, piece, {
        progress: copy.progress,
        signal: w.signal,
        cancelSource: w.cancelSource,
      });
      if (piece.freeze) await w.target.unsafe("COMMIT");
      copy.rows += result.rows;
      if (--copy.left > 0) return;
      const report: TableReport = {
        table: table.name,
        rows: copy.rows,
        bytes: copy.progress.bytes,
        seconds: (performance.now() - copy.started) / 1000,
      };
      this.#reports.push(report);
      this.#emit({ kind: "table-end", job: this.#c.name, ...report });
    } catch (error) {
      throw this.#fail({ step: "copy", table: table.name }, error);
    }
  }

  /**
   * Counts, per foreign key within the job, the rows whose parent the filters left out (keys
   * whose rows cannot be orphaned are not scanned).
   */
  async #orphans(): Promise<Map<number, number>> {
    const counts = new Map<number, number>();
    const keys = this.#structure!.foreignKeys.filter((f) => f.inJob && mayOrphan(f, this.#plans));
    if (!keys.length) return counts;
    // `=` must be the keys' own: citext's, say, where the target has the extension (in the
    // shadow or elsewhere), not text's, found through an implicit cast.
    const path = [
      this.#shadow,
      ...this.#structure!.extensions.flatMap((e) =>
        this.#targetState!.extensions.get(e.name) ?? []
      ),
    ];
    await inTransaction(this.#lock!, async (tx) => {
      await tx.unsafe(
        `SELECT set_config('search_path', ${quoteLiteral(path.map(quoteIdent).join(", "))}, true)`,
      );
      for (const fk of keys) {
        const child = qualify(this.#shadow, fk.table);
        const parent = qualify(this.#shadow, fk.refTable);
        const notNull = fk.columns.map((c) => `c.${quoteIdent(c)} IS NOT NULL`).join(" AND ");
        const match = fk.columns.map((c, i) =>
          `p.${quoteIdent(fk.refColumns[i])} = c.${quoteIdent(c)}`
        ).join(" AND ");
        const [row] = await tx.unsafe(
          `SELECT count(*)::int8 AS n FROM ${child} c WHERE ${notNull} AND NOT EXISTS (SELECT 1 FROM ${parent} p WHERE ${match})`,
        );
        if (Number(row.n) > 0) counts.set(fk.oid, Number(row.n));
      }
    });
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
    for (const plan of this.#plans.filter((p) => !this.#analyzedInCopy.has(p.table.name))) {
      after.push(`ANALYZE ${qualify(this.#shadow, plan.table.name)}`);
    }
    // What the copy step built is left out of the script; its keys are made from their indexes
    // before the script's foreign keys need them.
    const left = [...orphans.keys()].map((oid) => `2606:${oid}`);
    const built = this.#builds.flatMap((b) => b.entries);
    const keys = this.#builds.flatMap((b) => b.constraint ?? []);
    const sql = await sectionSql(
      this.#tools!,
      this.#archive!,
      "post-data",
      this.#selection(left, built),
      this.#o.signal,
    );
    const { prologue, epilogue } = this.#dance(false);
    await runScript(
      this.#tools!,
      parseConnUrl(this.#c.target.url),
      script([...keys, ...prologue], sql, [...epilogue, ...after]),
      this.#o.signal,
    );
  }

  async #swap(): Promise<void> {
    try {
      const dropped = await swapShadow(this.#lock!, {
        shadow: this.#shadow,
        target: this.#c.target.schema,
        cascade: this.#c.cascade || this.#o.cascade === true,
        lockTimeoutMs: this.#o.lockTimeoutMs,
        attempts: this.#o.lockAttempts,
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

  async #cleanup(failed: boolean): Promise<void> {
    if (failed) {
      // After a failure any connection may be dead or mid-COPY, and postgres.js crashes the
      // process on a query sent to a dead one: close them all at once (the servers roll back
      // whatever they had open), then drop the shadow schema over a fresh connection.
      await Promise.all([this.#source?.end({ timeout: 0 }), this.#target?.end({ timeout: 0 })]);
      if (this.#shadowBuilt && !this.#swapped) await this.#dropShadow();
    } else {
      await this.#closeSnapshot();
      this.#lock?.release();
      await Promise.all([this.#source?.end({ timeout: 5 }), this.#target?.end({ timeout: 5 })]);
    }
    if (this.#tmp) await Deno.remove(this.#tmp, { recursive: true }).catch(() => {});
  }

  /** Drops this run's shadow schema, holding the target lock again while it does. */
  async #dropShadow(): Promise<void> {
    let target: Sql | undefined;
    try {
      target = await openClient("target", this.#c.target.url, { max: 1 });
      const conn = await target.reserve();
      // Another run may have started meanwhile: then it owns the target, and drops this
      // shadow as a leftover.
      if (await lockTarget(conn, this.#c.target.schema)) await dropShadow(conn, this.#shadow);
      conn.release();
    } catch (error) {
      this.#warn(
        `could not drop shadow schema "${this.#shadow}" (${describeError(error)}); ` +
          `the next run of this job drops it`,
      );
    } finally {
      await target?.end({ timeout: 5 });
    }
  }
}
