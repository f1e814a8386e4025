/**
 * pg-xmat as the benchmark runs it: one job through the library (the code path of the CLI), in
 * a process of its own so its wall time and peak RSS are measured alone. Prints one JSON line:
 * the job's seconds, each step's seconds, each table's report and where the copy step's time
 * went.
 *
 * @example
 * ```sh
 * deno run -A scripts/bench_xmat.ts '{"job": {…}, "jobs": 2}'
 * ```
 * @module
 */

import { runJob } from "../lib/run.ts";
import type { RunOptions } from "../lib/run_options.ts";
import type { CopyWork, Job, StepSeconds, TableReport } from "../lib/types.ts";

/** The driver's input: a job and the run options the benchmark varies. */
export interface DriverInput {
  job: Job;
  options: Pick<RunOptions, "jobs" | "format">;
}

/** The driver's output line: the parts of the job's report the benchmark reads. */
export interface DriverOutput {
  seconds: number;
  steps: StepSeconds;
  tables: TableReport[];
  copyWork: CopyWork;
}

async function main(input: DriverInput): Promise<void> {
  const report = await runJob(input.job, { ...input.options, name: "bench" });
  const { seconds, steps, tables, copyWork } = report;
  const output: DriverOutput = { seconds, steps, tables, copyWork };
  console.log(JSON.stringify(output));
}

if (import.meta.main) await main(JSON.parse(Deno.args[0]));
