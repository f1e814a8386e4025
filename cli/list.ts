/**
 * `--list`: the jobs of a jobs file, each with its source → target (passwords redacted) and its
 * tables, marking those a pattern matches. Pure.
 *
 * @example
 * ```ts
 * import { formatJobList, listJobs } from "./list.ts";
 * import { validateJobs } from "../lib/config.ts";
 * import { loadJobsModule } from "../lib/load.ts";
 * const jobs = validateJobs(await loadJobsModule("pg_xmat_jobs.ts"));
 * console.log(formatJobList(listJobs(jobs, "export:*"), "export:*", "pg_xmat_jobs.ts"));
 * ```
 * @module
 */

import { type JobConfig, matchingJobs } from "../lib/config.ts";
import { redactEndpoint } from "../lib/redact.ts";
import type { Endpoint } from "../lib/types.ts";
import type { ErrorInfo } from "./report.ts";
import { DEFAULT_JOBS_FILE } from "../lib/load.ts";
import { plural, shownName } from "./log.ts";

/** One job in the `--list --json` document. */
export interface ListedJob {
  job: string;
  /** The pattern matches the job (every job matches when no pattern was given). */
  matches: boolean;
  /** Passwords redacted. */
  source: Endpoint;
  /** Passwords redacted. */
  target: Endpoint;
  /** The table names of the job, `*` for every table. */
  tables: string[];
}

/** What `--list --json` prints. */
export interface ListDocument {
  /** The pg-xmat version. */
  pgXmat: string;
  mode: "list";
  ok: boolean;
  exitCode: number;
  /** The jobs file, as given. */
  config: string;
  pattern: string | null;
  jobs: ListedJob[];
  error: ErrorInfo | null;
}

/**
 * The jobs of a file, with whether `pattern` matches each.
 *
 * @example
 * ```ts
 * import type { JobConfig } from "../lib/config.ts";
 * declare const jobs: JobConfig[];
 * listJobs(jobs, "export:*").filter((j) => j.matches).map((j) => j.job);
 * ```
 */
export function listJobs(jobs: readonly JobConfig[], pattern?: string): ListedJob[] {
  const matched = new Set(matchingJobs(jobs, pattern));
  return jobs.map((j) => ({
    job: j.name,
    matches: matched.has(j),
    source: redactEndpoint(j.source),
    target: redactEndpoint(j.target),
    tables: [...(j.wildcard ? ["*"] : []), ...j.tables.keys()],
  }));
}

const SHOWN_TABLES = 8;

/**
 * The listing as text: two lines per job (schemas and tables, then the URLs), `*` before the
 * jobs the pattern matches, and how to run them (nothing when the pattern matches no job).
 *
 * @example
 * ```ts
 * import type { JobConfig } from "../lib/config.ts";
 * declare const jobs: JobConfig[];
 * formatJobList(listJobs(jobs, "demo:s*"), "demo:s*", "jobs/example.ts");
 * // * demo:subset  shop → shop_subset: customers, orders, products
 * //                postgres://u:***@db:5432/prod → postgres://u:***@localhost:5432/dev
 * ```
 */
export function formatJobList(
  jobs: readonly ListedJob[],
  pattern: string | undefined,
  config: string,
): string {
  const width = Math.max(...jobs.map((j) => j.job.length));
  const lines = jobs.flatMap((j) => {
    const tables = j.tables.map((t) => (t === "*" ? "* (every table)" : shownName(t)));
    const shown = tables.length > SHOWN_TABLES
      ? `${tables.slice(0, SHOWN_TABLES).join(", ")}, … (${tables.length} in all)`
      : tables.join(", ");
    const mark = pattern !== undefined && j.matches ? "*" : " ";
    return [
      `${mark} ${j.job.padEnd(width)}  ${shownName(j.source.schema)} → ${
        shownName(j.target.schema)
      }: ${shown}`,
      `  ${" ".repeat(width)}  ${j.source.database} → ${j.target.database}`,
    ];
  });
  const matching = jobs.filter((j) => j.matches);
  const command = (what: string) =>
    ["pg-xmat", what, config === DEFAULT_JOBS_FILE ? "" : `-c ${config}`].filter(Boolean).join(" ");
  if (pattern !== undefined && matching.length === 0) return lines.join("\n"); // the CLI says so
  const plan = "add --dry-run to see what a run would do";
  const footer = pattern === undefined && jobs.length === 1
    ? `1 job in ${config}: run it with ${command("")}; ${plan}`
    : pattern === undefined
    ? `${plural(jobs.length, "job")} in ${config}: run one with ${command("JOB")}, several with ` +
      `a pattern (${command(`"${jobs[0]?.job.split(":")[0] ?? ""}:*"`)}); ${plan}`
    : `${matching.length} of ${plural(jobs.length, "job")} in ${config} match "${pattern}" ` +
      `(marked *): run them with ${command(`"${pattern}"`)}; ${plan}`;
  return [...lines, "", footer].join("\n");
}
