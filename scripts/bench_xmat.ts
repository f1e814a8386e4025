/**
 * pg-xmat as the benchmark runs it: one job through the library (the code path of the CLI), in
 * a process of its own so its wall time and peak RSS are measured alone. Prints one JSON line:
 * the job's seconds, each step's seconds and each table's report.
 *
 * @example
 * ```sh
 * deno run -A scripts/bench_xmat.ts '{"job": {…}, "jobs": 2}'
 * ```
 * @module
 */

import { runJob, type RunOptions } from "../lib/run.ts";
import type { Job } from "../lib/types.ts";

/** The driver's input: a job and the run options the benchmark varies. */
export interface DriverInput {
  job: Job;
  options: Pick<RunOptions, "jobs" | "format">;
}

/** The driver's output line. */
export interface DriverOutput {
  seconds: number;
  steps: Record<string, number>;
  tables: { table: string; rows: number; bytes: number; seconds: number }[];
  /** Where the copy step's time went (its log line). */
  copyTime?: string;
}

async function main(input: DriverInput): Promise<void> {
  const steps: Record<string, number> = {};
  let copyTime: string | undefined;
  const report = await runJob(input.job, {
    ...input.options,
    name: "bench",
    onEvent: (e) => {
      if (e.kind === "step-end") steps[e.step] = e.seconds;
      if (e.kind === "info" && e.message.startsWith("copy: ")) copyTime = e.message.slice(6);
    },
  });
  const output: DriverOutput = {
    seconds: report.seconds,
    steps,
    tables: report.tables,
    copyTime,
  };
  console.log(JSON.stringify(output));
}

if (import.meta.main) await main(JSON.parse(Deno.args[0]));
