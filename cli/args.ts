/**
 * Command-line arguments: parsed with `node:util` `parseArgs`, checked, and the help text.
 *
 * @example
 * ```ts
 * import { parseCliArgs } from "./args.ts";
 * parseCliArgs(["export:*", "-c", "jobs.ts", "-j", "4"]).jobs; // 4
 * ```
 * @module
 */

import { parseArgs } from "node:util";
import { UsageError } from "../lib/errors.ts";
import { DEFAULT_JOBS_FILE } from "../lib/load.ts";

/** What the command line asked for. */
export interface CliArgs {
  pattern?: string;
  config: string;
  verbose: boolean;
  help: boolean;
  version: boolean;
  jobs?: number;
  cascade: boolean;
  format: "auto" | "text" | "binary";
}

/** The help text. */
export const HELP = `pg-xmat — cross-database materialisations for PostgreSQL

Usage:
  pg-xmat [JOB_PATTERN] [options]

Rebuilds each matching job's target schema from its source schema: same structure, filtered and
transformed rows, copied from one server to the other. The target schema is replaced only when
the whole job succeeded; the source is only read.

JOB_PATTERN is a glob over job names: "export:*", "mat:use?s", "*". Matching jobs run in the
order of the jobs file. Without a pattern, a file with one job runs it.

Options:
  -c, --config FILE   jobs module (.ts or .js) exporting JOBS or a default export
                      (default: ${DEFAULT_JOBS_FILE} in the working directory)
  -j, --jobs N        tables copied at once (default: 2, or the number of cores up to 8)
      --cascade       also drop objects outside the target schema that depend on it
                      (views, foreign keys), instead of refusing the job
      --format F      COPY data format: text (default), binary, or auto (binary where safe)
  -v, --verbose       more detail, and stack traces with errors
  -h, --help          this help
      --version       the version

Examples:
  pg-xmat "export:*"                  run every job whose name starts with export:
  pg-xmat mat:users -c jobs/prod.ts   run one job of another jobs file
  pg-xmat "*" -j 4                    run all jobs, copying 4 tables at a time

Exit status: 0 all jobs succeeded, 1 a job failed, 2 usage or configuration error.
`;

/** Parses the arguments; throws a `UsageError` for anything it cannot take. */
export function parseCliArgs(argv: readonly string[]): CliArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        config: { type: "string", short: "c" },
        jobs: { type: "string", short: "j" },
        cascade: { type: "boolean" },
        format: { type: "string" },
        verbose: { type: "boolean", short: "v" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean" },
      },
    });
  } catch (error) {
    throw new UsageError(
      `${(error as Error).message.replace(/\. To specify .*$/s, "")} (see --help)`,
    );
  }
  const { values, positionals } = parsed;
  if (positionals.length > 1) {
    throw new UsageError(
      `one job pattern at a time, got ${positionals.length}: ${positionals.join(" ")} ` +
        `(quote a pattern with * so the shell does not expand it)`,
    );
  }
  let jobs: number | undefined;
  if (values.jobs !== undefined) {
    jobs = Number(values.jobs);
    if (!Number.isInteger(jobs) || jobs < 1 || jobs > 64) {
      throw new UsageError(`--jobs takes a whole number from 1 to 64, got "${values.jobs}"`);
    }
  }
  const format = values.format ?? "text";
  if (format !== "auto" && format !== "text" && format !== "binary") {
    throw new UsageError(`--format takes text, binary or auto, got "${format}"`);
  }
  return {
    pattern: positionals[0],
    config: values.config ?? DEFAULT_JOBS_FILE,
    verbose: values.verbose ?? false,
    help: values.help ?? false,
    version: values.version ?? false,
    jobs,
    cascade: values.cascade ?? false,
    format,
  };
}
