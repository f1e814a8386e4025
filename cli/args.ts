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
import { DEFAULT_FORMAT, type FormatChoice } from "../lib/plan.ts";

/** What the command line asked for. */
export interface CliArgs {
  /** `run` (with `--dry-run` or `--list`, or not) or `init`. */
  command: "run" | "init";
  pattern?: string;
  config: string;
  verbose: boolean;
  help: boolean;
  version: boolean;
  jobs?: number;
  cascade: boolean;
  /** COPY data format; the library's default when not given. */
  format?: FormatChoice;
  dryRun: boolean;
  list: boolean;
  json: boolean;
  quiet: boolean;
}

/** The help text. */
export const HELP = `pg-xmat — cross-database materialisations for PostgreSQL

Usage:
  pg-xmat [JOB_PATTERN] [options]     run the matching jobs
  pg-xmat init [-c FILE]              write a starter jobs file and its types

Rebuilds each matching job's target schema from its source schema: same structure, filtered and
transformed rows, copied from one server to the other. The target schema is replaced only when
the whole job succeeded; the source is only read.

JOB_PATTERN is a glob over job names: "export:*", "mat:use?s", "*". Matching jobs run in the
order of the jobs file. Without a pattern, a file with one job runs it. (A job named "init" is
matched by "[i]nit".)

Options:
  -c, --config FILE   jobs module (.ts or .js) exporting JOBS or a default export
                      (default: ${DEFAULT_JOBS_FILE} in the working directory)
                        pg-xmat mat:users -c jobs/prod.ts
  -j, --jobs N        tables copied at once (default: 2, or the number of cores up to 8)
                        pg-xmat "*" -j 4
      --dry-run       validate, read the source (only) and print each job's plan: its tables
                      with their estimated size and COPY statement, the structure created on
                      the target, the foreign keys left out; for a job with subset: true, each
                      table's role and how each key is followed. Writes nothing anywhere.
                        pg-xmat "export:*" --dry-run
      --list          list the jobs of the file, source → target (passwords hidden), marking
                      those the pattern matches; connects to nothing
                        pg-xmat --list "export:*"
      --json          print a report as JSON on standard output (runs, --dry-run, --list);
                      the human output stays on standard error
                        pg-xmat "nightly:*" --json > report.json
  -q, --quiet         print errors only (no progress, no report)
                        pg-xmat "nightly:*" -q
      --cascade       also drop objects outside the target schema that depend on it
                      (views, foreign keys), instead of refusing the job
                        pg-xmat staging:refresh --cascade
      --format F      COPY data format: text, binary, or auto (binary where every column's
                      type allows it); default: ${DEFAULT_FORMAT}
                        pg-xmat "*" --format text
  -v, --verbose       stack traces with errors
                        pg-xmat export:users -v
  -h, --help          this help
      --version       the version

Output: progress on standard error, live on a terminal (NO_COLOR=1 turns colours off), plain
timestamped lines elsewhere; a table of the copied tables after each job.

Exit status: 0 all jobs succeeded, 1 a job failed, 2 usage or configuration error (bad
arguments, invalid or missing jobs file, no job matching the pattern).
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
        "dry-run": { type: "boolean" },
        list: { type: "boolean" },
        json: { type: "boolean" },
        quiet: { type: "boolean", short: "q" },
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
  const command = positionals[0] === "init" ? "init" : "run";
  const patterns = command === "init" ? positionals.slice(1) : positionals;
  if (command === "init" && patterns.length > 0) {
    throw new UsageError(
      `pg-xmat init takes no job pattern, got ${patterns.join(" ")}; ` +
        `name the file with -c FILE (to run a job named "init", use the pattern "[i]nit")`,
    );
  }
  if (patterns.length > 1) {
    throw new UsageError(
      `one job pattern at a time, got ${patterns.length}: ${patterns.join(" ")} ` +
        `(quote a pattern with * so the shell does not expand it)`,
    );
  }
  const modes = (["dry-run", "list"] as const).filter((m) => values[m]);
  if (command === "init" && (modes.length || values.json)) {
    throw new UsageError(
      `pg-xmat init writes files and takes only -c FILE; drop --${[...modes, "json"][0]}`,
    );
  }
  if (modes.length > 1) {
    throw new UsageError(
      "--dry-run and --list do not go together: --list shows the jobs, --dry-run their plans",
    );
  }
  let jobs: number | undefined;
  if (values.jobs !== undefined) {
    jobs = Number(values.jobs);
    if (!Number.isInteger(jobs) || jobs < 1 || jobs > 64) {
      throw new UsageError(`--jobs takes a whole number from 1 to 64, got "${values.jobs}"`);
    }
  }
  const format = values.format;
  if (format !== undefined && format !== "auto" && format !== "text" && format !== "binary") {
    throw new UsageError(`--format takes text, binary or auto, got "${format}"`);
  }
  return {
    command,
    pattern: patterns[0],
    config: values.config ?? DEFAULT_JOBS_FILE,
    verbose: values.verbose ?? false,
    help: values.help ?? false,
    version: values.version ?? false,
    jobs,
    cascade: values.cascade ?? false,
    format,
    dryRun: values["dry-run"] ?? false,
    list: values.list ?? false,
    json: values.json ?? false,
    quiet: values.quiet ?? false,
  };
}
