/**
 * What a run tells its observer as it goes: steps starting and ending, the planned tables with
 * the source's estimates, tables copying (with live counters) and copied, index builds and
 * `ANALYZE` of loaded tables, warnings. The CLI turns
 * these into log lines, live progress and its reports; a library user may ignore them.
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
import type { SubsetRole } from "./types.ts";

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

/** The source's estimates of one table's size. */
export interface TableEstimate {
  table: string;
  /** Rows of the whole table (before `where`); -1 when the table was never analysed. */
  estimatedRows: number;
  /** Size on disk in bytes. */
  estimatedBytes: number;
  /** With `subset`: what the table keeps. */
  role?: SubsetRole;
  /** With `subset`: foreign-key steps from the nearest seed. */
  distance?: number;
}

/** The job is planned: the tables it copies, in copy order (largest first). */
export interface Planned extends Base {
  kind: "planned";
  tables: TableEstimate[];
}

/** A table's copy started; `progress` is updated live while it runs. */
export interface TableStart extends Base, TableEstimate {
  kind: "table-start";
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

/**
 * Work on a loaded table while other tables copy (and after the last one): an index build, or
 * its `ANALYZE`. `index` names the index of an index build.
 */
export interface TableWorkStart extends Base {
  kind: "work-start";
  table: string;
  index?: string;
}

/** That work ended. */
export interface TableWorkEnd extends Base {
  kind: "work-end";
  table: string;
  index?: string;
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
export type RunEvent =
  | StepStart
  | StepEnd
  | Planned
  | TableStart
  | TableEnd
  | TableWorkStart
  | TableWorkEnd
  | Warning
  | Info;

/** Receives events; must not throw. */
export type EventHandler = (event: RunEvent) => void;
