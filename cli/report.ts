/**
 * What a run did, for people and for programs: a `Recorder` follows the events of the jobs and
 * their outcomes; from it come the table of tables after each job (rows, MB, seconds, MB/s and
 * the job's total) and where its time went, one line per job when there were several, and the
 * `--json` document.
 *
 * @example
 * ```ts
 * import { formatTableReport, Recorder } from "./report.ts";
 * import { runJobConfig } from "../lib/run.ts";
 * import type { JobConfig } from "../lib/config.ts";
 * declare const jobs: JobConfig[];
 * const recorder = new Recorder(jobs);
 * const report = await runJobConfig(jobs[0], { onEvent: (e) => recorder.event(e) });
 * recorder.succeeded(report);
 * console.error(formatTableReport(recorder.results()[0]));
 * ```
 * @module
 */

import type { CopyProgress } from "../lib/copy.ts";
import type { JobConfig } from "../lib/config.ts";
import { describeError, JobError, type Step } from "../lib/errors.ts";
import type { RunEvent } from "../lib/events.ts";
import { redactEndpoint } from "../lib/redact.ts";
import type {
  CopyWork,
  Endpoint,
  JobReport,
  LeftOutObject,
  StepSeconds,
  SubsetRole,
} from "../lib/types.ts";
import { formatCount, plural } from "./log.ts";
import { fit, padWidth, textWidth } from "./style.ts";

/** A failure, as the JSON report gives it. */
export interface ErrorInfo {
  /** The whole message, as the CLI prints it. */
  message: string;
  /** The step that failed, when a job failed. */
  step?: Step;
  /** The table, when the failure was one table's. */
  table?: string;
  /** The server side the failure came from, when known. */
  side?: "source" | "target";
}

/**
 * A table's outcome: `ok` copied; `failed` its copy failed; `interrupted` its copy was stopped
 * by another failure or a signal; `not-run` its copy never started.
 */
export type TableStatusName = "ok" | "failed" | "interrupted" | "not-run";

/** One table of a job in the report. */
export interface TableResult {
  table: string;
  status: TableStatusName;
  /** Rows written to the target (so far, when not `ok`). */
  rows: number;
  /** Bytes of COPY data moved. */
  bytes: number;
  seconds: number;
  /** The failure's message when `failed`. */
  error: string | null;
  /** With `subset`: what the table kept (`rows` counts the rows it kept). */
  role?: SubsetRole;
}

/** A job's outcome: `ok` the target schema was replaced; `failed` it was left as it was. */
export type JobStatusName = "ok" | "failed" | "not-run";

/** One job in the report. */
export interface JobResult {
  job: string;
  status: JobStatusName;
  /** Passwords redacted. */
  source: Endpoint;
  /** Passwords redacted. */
  target: Endpoint;
  seconds: number;
  rows: number;
  bytes: number;
  /** Every table the plan chose, in copy order. */
  tables: TableResult[];
  /** The objects created in the target schema by pg_dump's kind (`{ TABLE: 3, VIEW: 2 }`). */
  objects: Record<string, number>;
  /** Objects of the source schema the job did not bring, and why. */
  leftOut: LeftOutObject[];
  /** Wall seconds of each step that ended, in order (a failed job's failing step is not one). */
  steps: StepSeconds;
  /** Where the copy step's wall time went, when it ended. */
  copyWork: CopyWork | null;
  warnings: string[];
  error: ErrorInfo | null;
}

/** What `--json` prints for a run. */
export interface RunDocument {
  /** The pg-xmat version. */
  pgXmat: string;
  mode: "run";
  ok: boolean;
  exitCode: number;
  seconds: number;
  jobs: JobResult[];
  /** A failure outside any job (usage, jobs file); job failures are in their job. */
  error: ErrorInfo | null;
}

/**
 * A thrown value as `ErrorInfo`.
 *
 * @example
 * ```ts
 * errorInfo(new Error("boom")); // { message: "boom" }
 * ```
 */
export function errorInfo(error: unknown): ErrorInfo {
  const info: ErrorInfo = { message: describeError(error) };
  if (error instanceof JobError) {
    info.step = error.place.step;
    if (error.place.table !== undefined) info.table = error.place.table;
    if (error.place.side !== undefined) info.side = error.place.side;
  }
  return info;
}

interface TableRecord extends TableResult {
  progress?: CopyProgress;
  started?: number;
}

interface JobRecord extends Omit<JobResult, "tables"> {
  tables: TableRecord[];
}

/**
 * Follows the jobs of one command: their events, then each one's report or failure.
 *
 * @example
 * ```ts
 * import { runJobConfig } from "../lib/run.ts";
 * import type { JobConfig } from "../lib/config.ts";
 * declare const jobs: JobConfig[];
 * const recorder = new Recorder(jobs);
 * try {
 *   recorder.succeeded(await runJobConfig(jobs[0], { onEvent: (e) => recorder.event(e) }));
 * } catch (error) {
 *   recorder.failed(jobs[0].name, error, 12.5);
 * }
 * recorder.results()[0].status; // "ok" or "failed"
 * ```
 */
export class Recorder {
  readonly #jobs: Map<string, JobRecord>;
  readonly #now: () => number;

  /** `jobs` are the jobs that will run, in order; `now` gives milliseconds. */
  constructor(jobs: readonly JobConfig[], now: () => number = () => performance.now()) {
    this.#now = now;
    this.#jobs = new Map(jobs.map((j): [string, JobRecord] => [j.name, {
      job: j.name,
      status: "not-run",
      source: redactEndpoint(j.source),
      target: redactEndpoint(j.target),
      seconds: 0,
      rows: 0,
      bytes: 0,
      tables: [],
      objects: {},
      leftOut: [],
      steps: {},
      copyWork: null,
      warnings: [],
      error: null,
    }]));
  }

  /** Takes one event of a run. */
  event(e: RunEvent): void {
    const job = this.#jobs.get(e.job);
    if (!job) return;
    const table = (name: string) => job.tables.find((t) => t.table === name);
    switch (e.kind) {
      case "planned":
        job.tables = e.tables.map((t) => ({
          table: t.table,
          status: "not-run",
          rows: 0,
          bytes: 0,
          seconds: 0,
          error: null,
          ...(t.role ? { role: t.role } : {}),
        }));
        return;
      case "table-start": {
        const t = table(e.table);
        if (t) Object.assign(t, { progress: e.progress, started: this.#now() });
        return;
      }
      case "table-end": {
        const t = table(e.table);
        if (t) {
          Object.assign(t, { status: "ok", rows: e.rows, bytes: e.bytes, seconds: e.seconds });
          delete t.progress;
        }
        return;
      }
      case "step-end":
        job.steps[e.step] = e.seconds;
        return;
      case "warning":
        job.warnings.push(e.message);
        return;
    }
  }

  /** A job succeeded. */
  succeeded(report: JobReport): void {
    const job = this.#jobs.get(report.job);
    if (!job) return;
    job.status = "ok";
    job.seconds = report.seconds;
    job.warnings = [...report.warnings];
    job.objects = { ...report.objects };
    job.leftOut = [...report.leftOut];
    job.steps = { ...report.steps };
    job.copyWork = { ...report.copyWork };
    for (const r of report.tables) {
      const t = job.tables.find((x) => x.table === r.table);
      if (t) Object.assign(t, { ...r, status: "ok" });
      else job.tables.push({ ...r, status: "ok", error: null });
    }
    this.#total(job);
  }

  /** A job failed with `error` after `seconds`. */
  failed(name: string, error: unknown, seconds: number): void {
    const job = this.#jobs.get(name);
    if (!job) return;
    job.status = "failed";
    job.seconds = seconds;
    job.error = errorInfo(error);
    for (const t of job.tables) {
      if (!t.progress) continue;
      const failed = job.error.table === t.table;
      Object.assign(t, {
        status: failed ? "failed" : "interrupted",
        rows: t.progress.rows,
        bytes: t.progress.bytes,
        seconds: (this.#now() - (t.started ?? this.#now())) / 1000,
        error: failed ? job.error.message : null,
      });
      delete t.progress;
    }
    this.#total(job);
  }

  #total(job: JobRecord): void {
    job.rows = job.tables.reduce((n, t) => n + t.rows, 0);
    job.bytes = job.tables.reduce((n, t) => n + t.bytes, 0);
  }

  /** Every job, in order, as the report gives them. */
  results(): JobResult[] {
    return [...this.#jobs.values()].map((j) => ({
      ...j,
      tables: j.tables.map(({ progress: _p, started: _s, ...t }) => t),
    }));
  }
}

const MB = 1e6;
/** Tables shown by the table of tables; the rest are summed in one line. */
const MAX_ROWS = 20;

function mbPerSecond(bytes: number, seconds: number): string {
  return seconds >= 0.05 ? (bytes / MB / seconds).toFixed(2) : "-";
}

/**
 * The table of tables of a job (the largest `MAX_ROWS` by bytes, the rest summed) and its total.
 *
 * @example
 * ```ts
 * declare const result: JobResult;
 * formatTableReport(result);
 * // table      rows    MB     s  MB/s
 * // orders      601  0.03   0.0     -
 * // total       601  0.03   0.4   0.1
 * ```
 */
export function formatTableReport(job: JobResult): string {
  const copied = job.tables.filter((t) => t.status !== "not-run");
  const sorted = [...copied].sort((a, b) => b.bytes - a.bytes || a.table.localeCompare(b.table));
  const shown = sorted.slice(0, MAX_ROWS);
  const rest = sorted.slice(MAX_ROWS);
  const row = (name: string, rows: number, bytes: number, seconds: number, note = "") => [
    name,
    formatCount(rows),
    (bytes / MB).toFixed(2),
    seconds.toFixed(1),
    mbPerSecond(bytes, seconds),
    note,
  ];
  const body = shown.map((t) =>
    row(
      t.table,
      t.rows,
      t.bytes,
      t.seconds,
      [t.role, t.status === "ok" ? "" : t.status].filter(Boolean).join(" "),
    )
  );
  if (rest.length) {
    body.push(row(
      `… ${plural(rest.length, "more table")}`,
      rest.reduce((n, t) => n + t.rows, 0),
      rest.reduce((n, t) => n + t.bytes, 0),
      rest.reduce((n, t) => n + t.seconds, 0),
    ));
  }
  const total = row("total", job.rows, job.bytes, job.seconds);
  const notRun = job.tables.length - copied.length;
  if (notRun) total[5] = `(${plural(notRun, "table")} not run)`;
  return alignColumns([["table", "rows", "MB", "s", "MB/s", ""], ...body, total], [
    "l",
    "r",
    "r",
    "r",
    "r",
    "l",
  ]);
}

/**
 * What a job created besides rows, and what it left out: one line.
 *
 * @example
 * ```ts
 * declare const result: JobResult;
 * formatObjects({ ...result, objects: { TABLE: 3, VIEW: 2 }, leftOut: [] });
 * // "  structure: 3 TABLE, 2 VIEW"
 * ```
 */
export function formatObjects(job: JobResult): string {
  const kinds = Object.entries(job.objects).filter(([kind]) => kind !== "COMMENT");
  const line = `  structure: ${kinds.map(([kind, n]) => `${formatCount(n)} ${kind}`).join(", ")}`;
  if (!job.leftOut.length) return line;
  return `${line}; ${
    plural(job.leftOut.length, "object")
  } of the source schema left out (see the warnings)`;
}

/**
 * Where a job's wall time went: each step that ended, and the copy step's workers.
 *
 * @example
 * ```ts
 * declare const result: JobResult;
 * formatTimes({
 *   ...result,
 *   steps: { connect: 0.1, snapshot: 0, plan: 0.4, structure: 1.2, copy: 7.5, "post-data": 1.6, swap: 0.1 },
 *   copyWork: { workers: 2, seconds: 7.5, copying: 12.1, indexing: 2.3, analysing: 0.2, idle: 0.4 },
 * });
 * // "  time: connect 0.1s, snapshot 0.0s, plan 0.4s, structure 1.2s, copy 7.5s, post-data 1.6s, swap 0.1s
 * //   copy: 2 workers for 7.5 s: copying 12.1 s, building indexes 2.3 s, analysing 0.2 s, idle 0.4 s"
 * ```
 */
export function formatTimes(job: JobResult): string {
  const steps = Object.entries(job.steps).map(([step, s]) => `${step} ${s.toFixed(1)}s`);
  const lines = [`  time: ${steps.join(", ")}`];
  if (job.copyWork) lines.push(`  copy: ${describeCopyWork(job.copyWork)}`);
  return lines.join("\n");
}

/**
 * `CopyWork` in words.
 *
 * @example
 * ```ts
 * describeCopyWork({ workers: 2, seconds: 10, copying: 14, indexing: 4, analysing: 0.5, idle: 1.5 });
 * // "2 workers for 10.0 s: copying 14.0 s, building indexes 4.0 s, analysing 0.5 s, idle 1.5 s"
 * ```
 */
export function describeCopyWork(work: CopyWork): string {
  const s = (n: number) => `${n.toFixed(1)} s`;
  return `${work.workers} worker${work.workers === 1 ? "" : "s"} for ${s(work.seconds)}: ` +
    `copying ${s(work.copying)}, building indexes ${s(work.indexing)}, analysing ${
      s(work.analysing)
    }, idle ${s(work.idle)}`;
}

/** Lines of aligned columns (`r`: right-aligned); the first column is cut at 40 columns. */
function alignColumns(rows: string[][], align: readonly ("l" | "r")[]): string {
  // In terminal columns: a wide character (表) takes two.
  const cut = rows.map((r) => [fit(r[0], 40), ...r.slice(1)]);
  const widths = align.map((_, i) => Math.max(...cut.map((r) => textWidth(r[i]))));
  return cut.map((r) =>
    `  ${r.map((c, i) => padWidth(c, widths[i], align[i])).join("  ")}`.trimEnd()
  )
    .join("\n");
}

/**
 * One line per job under a count, for a command that ran several.
 *
 * @example
 * ```ts
 * declare const results: JobResult[];
 * formatJobLines(results);
 * // jobs: 1 ok, 1 failed, 1 not run
 * //   demo:subset  ok       3 tables  813 rows  0.04 MB  0.8s  → shop_subset
 * //   demo:anon    failed   1 table     0 rows  0.00 MB  0.3s  step copy, table customers
 * //   demo:tenant  not-run
 * ```
 */
export function formatJobLines(jobs: readonly JobResult[]): string {
  const count = (status: JobStatusName) => jobs.filter((j) => j.status === status).length;
  const head = [`${count("ok")} ok`, `${count("failed")} failed`];
  if (count("not-run")) head.push(`${count("not-run")} not run`);
  const rows = jobs.map((j) => {
    if (j.status === "not-run") return [j.job, j.status, "", "", "", "", ""];
    return [
      j.job,
      j.status,
      plural(j.tables.length, "table"),
      plural(j.rows, "row"),
      `${(j.bytes / MB).toFixed(2)} MB`,
      `${j.seconds.toFixed(1)}s`,
      j.status === "ok"
        ? `→ ${j.target.schema}`
        : `step ${j.error?.step ?? "?"}${j.error?.table ? `, table ${j.error.table}` : ""}`,
    ];
  });
  return `jobs: ${head.join(", ")}\n${alignColumns(rows, ["l", "l", "r", "r", "r", "r", "l"])}`;
}
