/**
 * The pg-xmat command: arguments → load the jobs module → run the matching jobs → report →
 * exit code (0 all jobs succeeded, 1 a job failed, 2 usage or configuration).
 *
 * @example
 * ```sh
 * deno run -A main.ts "export:*" -c pg_xmat_jobs.ts
 * ```
 * @module
 */

import denoJson from "./deno.json" with { type: "json" };
import { HELP, parseCliArgs } from "./cli/args.ts";
import { formatEvent, formatJobSummary } from "./cli/log.ts";
import { validateJobs } from "./lib/config.ts";
import { describeError, UsageError, XmatError } from "./lib/errors.ts";
import { matchJobs } from "./lib/glob.ts";
import { loadJobsModule } from "./lib/load.ts";
import { redact } from "./lib/redact.ts";
import { runJobConfig } from "./lib/run.ts";

/** The version this build reports. */
export const VERSION: string = denoJson.version;

/** Runs the command with `argv`; returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let verbose = argv.includes("-v") || argv.includes("--verbose");
  const controller = new AbortController();
  const onSignal = () => {
    console.error("pg-xmat: interrupted; stopping the copies and removing the shadow schema…");
    controller.abort();
  };
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  try {
    const args = parseCliArgs(argv);
    verbose = args.verbose;
    if (args.help) {
      console.log(HELP);
      return 0;
    }
    if (args.version) {
      console.log(`pg-xmat ${VERSION}`);
      return 0;
    }
    const jobs = validateJobs(await loadJobsModule(args.config));
    const names = jobs.map((j) => j.name);
    let selected: string[];
    if (args.pattern === undefined) {
      if (names.length > 1) {
        throw new UsageError(
          `${args.config} defines ${names.length} jobs; name the ones to run with a pattern:\n  ` +
            `${names.join("\n  ")}\ne.g. pg-xmat "${names[0].split(":")[0]}:*"`,
        );
      }
      selected = names;
    } else {
      selected = matchJobs(args.pattern, names);
      if (selected.length === 0) {
        throw new UsageError(
          `no job matches "${args.pattern}"; the jobs in ${args.config} are:\n  ${
            names.join("\n  ")
          }`,
        );
      }
    }
    for (const job of jobs.filter((j) => selected.includes(j.name))) {
      const report = await runJobConfig(job, {
        jobs: args.jobs,
        cascade: args.cascade,
        format: args.format,
        signal: controller.signal,
        onEvent: (event) => {
          const line = formatEvent(event);
          if (line !== undefined) console.error(line);
        },
      });
      console.error(formatJobSummary(report));
    }
    return 0;
  } catch (error) {
    console.error(`pg-xmat: error: ${describeError(error)}`);
    if (verbose && error instanceof Error && error.stack) {
      console.error(redact(error.stack));
      if (error.cause instanceof Error && error.cause.stack) {
        console.error(`cause: ${redact(error.cause.stack)}`);
      }
    }
    return error instanceof XmatError ? error.exitCode : 1;
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
