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

/** What every event has. */
export interface EventBase {
  /** The job's name. */
  job: string;
}

/** A pipeline step started. */
export interface StepStart extends EventBase {
  /** Which event this is. */
  kind: "step-start";
  /** The step, as the log names it. */
  step: Step;
  /** What the step is about to do, e.g. "12 tables". */
  detail?: string;
}

/** A pipeline step ended. */
export interface StepEnd extends EventBase {
  /** Which event this is. */
  kind: "step-end";
  /** The step, as the log names it. */
  step: Step;
  /** Its wall time. */
  seconds: number;
}

/** The source's estimates of one table's size. */
export interface TableEstimate {
  /** The table's name (in the source schema and the target's). */
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
export interface Planned extends EventBase {
  /** Which event this is. */
  kind: "planned";
  /** Each table to copy, with the source's estimates. */
  tables: TableEstimate[];
}

/** A table's copy started; `progress` is updated live while it runs. */
export interface TableStart extends EventBase, TableEstimate {
  /** Which event this is. */
  kind: "table-start";
  /** Rows and bytes copied so far, updated as they flow. */
  progress: CopyProgress;
}

/** A table's copy ended. */
export interface TableEnd extends EventBase {
  /** Which event this is. */
  kind: "table-end";
  /** The table's name. */
  table: string;
  /** Rows the target stored. */
  rows: number;
  /** Bytes of COPY data moved. */
  bytes: number;
  /** From its first piece's start to its last piece's end. */
  seconds: number;
}

/**
 * Work on a loaded table while other tables copy (and after the last one): an index build, or
 * its `ANALYZE`. `index` names the index of an index build.
 */
export interface TableWorkStart extends EventBase {
  /** Which event this is. */
  kind: "work-start";
  /** The loaded table. */
  table: string;
  /** The index being built; absent for `ANALYZE`. */
  index?: string;
}

/** That work ended. */
export interface TableWorkEnd extends EventBase {
  /** Which event this is. */
  kind: "work-end";
  /** The loaded table. */
  table: string;
  /** The index built; absent for `ANALYZE`. */
  index?: string;
  /** How long it took. */
  seconds: number;
}

/** Something the user should know that does not fail the job. */
export interface Warning extends EventBase {
  /** Which event this is. */
  kind: "warning";
  /** What happened, where, and what to do. */
  message: string;
}

/** A fact worth a log line (leftovers dropped, the plan's size). */
export interface Info extends EventBase {
  /** Which event this is. */
  kind: "info";
  /** The log line's text. */
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
