/**
 * What a run tells its observer as it goes: steps starting and ending, tables copying, warnings.
 * The CLI turns these into log lines and live progress; a library user may ignore them.
 *
 * @example
 * ```ts
 * import type { RunEvent } from "./events.ts";
 * const onEvent = (e: RunEvent) => {
 *   if (e.kind === "warning") console.warn(e.message);
 * };
 * ```
 * @module
 */

import type { CopyProgress } from "./copy.ts";
import type { Step } from "./errors.ts";

/** Every event names its job. */
interface Base {
  job: string;
}

/** A pipeline step started. */
export interface StepStart extends Base {
  kind: "step-start";
  step: Step;
  /** What the step is about to do, e.g. "12 tables". */
  detail?: string;
}

/** A pipeline step ended. */
export interface StepEnd extends Base {
  kind: "step-end";
  step: Step;
  seconds: number;
}

/** A table's copy started; `progress` is updated live while it runs. */
export interface TableStart extends Base {
  kind: "table-start";
  table: string;
  /** The source's estimates (rows is -1 when the table was never analysed). */
  estimatedRows: number;
  estimatedBytes: number;
  progress: CopyProgress;
}

/** A table's copy ended. */
export interface TableEnd extends Base {
  kind: "table-end";
  table: string;
  rows: number;
  bytes: number;
  seconds: number;
}

/** Something the user should know that does not fail the job. */
export interface Warning extends Base {
  kind: "warning";
  message: string;
}

/** A fact worth a log line (leftovers dropped, the plan's size). */
export interface Info extends Base {
  kind: "info";
  message: string;
}

/** Any event of a run. */
export type RunEvent = StepStart | StepEnd | TableStart | TableEnd | Warning | Info;

/** Receives events; must not throw. */
export type EventHandler = (event: RunEvent) => void;
