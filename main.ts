/**
 * The pg-xmat command: arguments → load the jobs module → run (or plan, or list) the matching
 * jobs → report → exit code (0 all jobs succeeded, 1 a job failed, 2 usage or configuration).
 * Progress and reports go to standard error; a plan, a listing and the `--json` report go to
 * standard output.
 *
 * @example
 * ```sh
 * deno run -A main.ts "export:*" -c pg_xmat_jobs.ts
 * ```
 * @module
 */

import denoJson from "./deno.json" with { type: "json" };
import { type CliArgs, HELP, parseCliArgs } from "./cli/args.ts";
import { type DryRunDocument, formatPlan, type PlanResult } from "./cli/dry_run.ts";
import { initFiles } from "./cli/init.ts";
import { formatJobList, type ListDocument, type ListedJob, listJobs } from "./cli/list.ts";
import { formatJobSummary } from "./cli/log.ts";
import { Progress } from "./cli/progress.ts";
import {
  type ErrorInfo,
  errorInfo,
  formatJobLines,
  formatObjects,
  formatTableReport,
  formatTimes,
  Recorder,
  type RunDocument,
} from "./cli/report.ts";
import { makeStyle, terminalMode } from "./cli/style.ts";
import { type JobConfig, selectJobs, validateJobs } from "./lib/config.ts";
import { describeError, UsageError, XmatError } from "./lib/errors.ts";
import type { RunEvent } from "./lib/events.ts";
import { loadJobsModule } from "./lib/load.ts";
import { redact } from "./lib/redact.ts";
import { planJobConfig, runJobConfig } from "./lib/run.ts";
import { runSalt, SALT_ENV } from "./lib/mask_key.ts";

/** The version this build reports. */
export const VERSION: string = denoJson.version;

/** The exit status after SIGINT or SIGTERM (128 + SIGINT, as shells report it). */
const INTERRUPTED = 130;

const encoder = new TextEncoder();

function writeAll(stream: typeof Deno.stderr | typeof Deno.stdout, text: string): void {
  const bytes = encoder.encode(text);
  for (let at = 0; at < bytes.length;) at += stream.writeSync(bytes.subarray(at));
}

function terminalColumns(): number {
  try {
    return Deno.consoleSize().columns;
  } catch {
    return 80;
  }
}

/** The jobs a command runs: those the pattern matches, or the only one. */
function jobsToRun(jobs: readonly JobConfig[], args: CliArgs): JobConfig[] {
  if (args.pattern !== undefined) return selectJobs(jobs, args.pattern, args.config);
  if (jobs.length > 1) {
    const names = jobs.map((j) => j.name);
    throw new UsageError(
      `${args.config} defines ${names.length} jobs; name the ones to run with a pattern:\n  ` +
        `${names.join("\n  ")}\ne.g. pg-xmat "${names[0].split(":")[0]}:*" ` +
        `(pg-xmat --list shows where each reads and writes)`,
    );
  }
  return [...jobs];
}

/** What a command did, for the `--json` document. */
interface Outcome {
  mode: "run" | "dry-run" | "list";
  selected: JobConfig[];
  recorder?: Recorder;
  plans: PlanResult[];
  listed: ListedJob[];
}

function jsonDocument(
  outcome: Outcome,
  args: CliArgs | undefined,
  code: number,
  error: ErrorInfo | null,
  seconds: number,
): RunDocument | DryRunDocument | ListDocument {
  const status = { ok: code === 0, exitCode: code };
  switch (outcome.mode) {
    case "list":
      return {
        pgXmat: VERSION,
        mode: "list",
        ...status,
        config: args?.config ?? "",
        pattern: args?.pattern ?? null,
        jobs: outcome.listed,
        error,
      };
    case "dry-run":
      return {
        pgXmat: VERSION,
        mode: "dry-run",
        ...status,
        seconds,
        jobs: outcome.selected.map((j) =>
          outcome.plans.find((p) => p.job === j.name) ??
            { job: j.name, status: "not-run", plan: null, error: null }
        ),
        error,
      };
    case "run":
      return {
        pgXmat: VERSION,
        mode: "run",
        ...status,
        seconds,
        jobs: outcome.recorder?.results() ?? [],
        error,
      };
  }
}

/** Runs the command with `argv`; returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const started = performance.now();
  // Read before parsing, so that a usage error is reported as asked.
  let verbose = argv.includes("-v") || argv.includes("--verbose");
  let quiet = argv.includes("-q") || argv.includes("--quiet");
  let json = argv.includes("--json");
  const mode = terminalMode(Deno.stderr.isTerminal(), {
    NO_COLOR: Deno.env.get("NO_COLOR"),
    TERM: Deno.env.get("TERM"),
  });
  const style = makeStyle(mode.color);
  const progress = new Progress({
    live: mode.live,
    style,
    write: (text) => writeAll(Deno.stderr, text),
    columns: terminalColumns,
  });
  /** Lines for people, on standard error (not with --quiet). */
  const say = (text: string) => {
    if (!quiet) progress.line(text);
  };
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) {
      progress.line(
        "pg-xmat: interrupted again: exiting now; the next run drops what this one left",
      );
      progress.stop();
      Deno.exit(INTERRUPTED);
    }
    progress.line(
      "pg-xmat: interrupted: stopping the copies and removing the shadow schema (interrupt again to exit at once)",
    );
    controller.abort();
    // Clean-up is bounded: a server that does not answer must not keep the process alive.
    Deno.unrefTimer(setTimeout(() => {
      progress.line(
        "pg-xmat: clean-up did not finish in 30 s: exiting; the next run drops what this one left",
      );
      progress.stop();
      Deno.exit(INTERRUPTED);
    }, 30_000));
  };
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  const outcome: Outcome = { mode: "run", selected: [], plans: [], listed: [] };
  let args: CliArgs | undefined;
  let code = 0;
  let failure: ErrorInfo | null = null;
  /** With several jobs run, one line per job. */
  const summarise = () => {
    if (outcome.recorder && outcome.selected.length > 1) {
      say(formatJobLines(outcome.recorder.results()));
    }
  };
  try {
    args = parseCliArgs(argv);
    ({ verbose, quiet, json } = args);
    if (args.help) {
      console.log(HELP);
      return 0;
    }
    if (args.version) {
      console.log(`pg-xmat ${VERSION}`);
      return 0;
    }
    if (args.command === "init") {
      for (const line of await initFiles(args.config, VERSION)) say(line);
      return 0;
    }
    outcome.mode = args.list ? "list" : args.dryRun ? "dry-run" : "run";
    const jobs = validateJobs(await loadJobsModule(args.config));
    if (args.list) {
      outcome.listed = listJobs(jobs, args.pattern);
      const text = formatJobList(outcome.listed, args.pattern, args.config);
      if (!json) console.log(text);
      else say(text);
      if (!outcome.listed.some((j) => j.matches)) {
        throw new UsageError(
          `no job of ${args.config} matches "${args.pattern}" (its jobs are listed above)`,
        );
      }
      return 0;
    }
    outcome.selected = jobsToRun(jobs, args);
    if (!quiet) progress.start();
    const onEvent = quiet ? undefined : (e: RunEvent) => progress.event(e);
    const options = {
      jobs: args.jobs,
      cascade: args.cascade,
      format: args.format,
      signal: controller.signal,
      // One salt for every job of the run that has none of its own.
      salt: runSalt(Deno.env.get(SALT_ENV)),
    };
    if (args.dryRun) {
      for (const job of outcome.selected) {
        try {
          const plan = await planJobConfig(job, { ...options, onEvent });
          outcome.plans.push({ job: job.name, status: "ok", plan, error: null });
          if (!json) console.log(`${formatPlan(plan)}\n`);
          else say(`${formatPlan(plan)}\n`);
        } catch (error) {
          outcome.plans.push({
            job: job.name,
            status: "failed",
            plan: null,
            error: errorInfo(error),
          });
          throw error;
        }
      }
      return 0;
    }
    const recorder = new Recorder(outcome.selected);
    outcome.recorder = recorder;
    for (const job of outcome.selected) {
      const jobStarted = performance.now();
      try {
        const report = await runJobConfig(job, {
          ...options,
          onEvent: (e) => {
            recorder.event(e);
            onEvent?.(e);
          },
        });
        recorder.succeeded(report);
        say(formatJobSummary(report));
        const result = recorder.results().find((r) => r.job === job.name)!;
        say(formatTableReport(result));
        say(formatObjects(result));
        say(formatTimes(result));
      } catch (error) {
        recorder.failed(job.name, error, (performance.now() - jobStarted) / 1000);
        throw error;
      }
    }
    summarise();
    return 0;
  } catch (error) {
    summarise();
    failure = errorInfo(error);
    code = controller.signal.aborted
      ? INTERRUPTED
      : error instanceof XmatError
      ? error.exitCode
      : 1;
    progress.line(`${style.red("pg-xmat: error:")} ${describeError(error)}`);
    if (verbose && error instanceof Error && error.stack) {
      progress.line(redact(error.stack));
      if (error.cause instanceof Error && error.cause.stack) {
        progress.line(`cause: ${redact(error.cause.stack)}`);
      }
    }
    return code;
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
    progress.stop();
    if (json && !args?.help && !args?.version && args?.command !== "init") {
      const inJob = outcome.plans.some((p) => p.error) ||
        outcome.recorder?.results().some((r) => r.error);
      const seconds = (performance.now() - started) / 1000;
      console.log(
        JSON.stringify(
          jsonDocument(outcome, args, code, inJob ? null : failure, seconds),
          // Times to the millisecond (counts are integers, untouched).
          (_key, value) => (typeof value === "number" ? Math.round(value * 1000) / 1000 : value),
          2,
        ),
      );
    }
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
