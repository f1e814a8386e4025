/**
 * Plain log lines for a run's events: timestamped, one line per step start and end and per
 * finished table, written to standard error so standard output stays free for data. And the
 * number formats every output of the CLI shares.
 *
 * @example
 * ```ts
 * import { formatEvent } from "./log.ts";
 * formatEvent({ kind: "step-start", job: "export:users", step: "copy" }, new Date(0));
 * // "00:00:00 export:users  copy"
 * ```
 * @module
 */

import type { RunEvent } from "../lib/events.ts";
import type { JobReport } from "../lib/types.ts";

/**
 * `1,234`.
 *
 * @example
 * ```ts
 * formatCount(1234567); // "1,234,567"
 * ```
 */
export function formatCount(n: number): string {
  return Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/**
 * `12.3 MB`.
 *
 * @example
 * ```ts
 * formatBytes(1_500_000); // "1.5 MB"
 * ```
 */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${Math.round(bytes)} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/**
 * `1:05`, `1:02:03`: a duration as a clock shows it (an ETA).
 *
 * @example
 * ```ts
 * formatDuration(65); // "1:05"
 * formatDuration(3723); // "1:02:03"
 * ```
 */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const two = (n: number) => String(n).padStart(2, "0");
  const h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60;
  return h > 0 ? `${h}:${two(m)}:${two(s % 60)}` : `${m}:${two(s % 60)}`;
}

/**
 * `00:00:00 job  `: what every log line starts with (the time in UTC).
 *
 * @example
 * ```ts
 * linePrefix("export:users", new Date(0)); // "00:00:00 export:users  "
 * ```
 */
export function linePrefix(job: string, at: Date = new Date()): string {
  return `${at.toISOString().slice(11, 19)} ${job}  `;
}

/**
 * One event as a line, or `undefined` for events that make no line.
 *
 * @example
 * ```ts
 * formatEvent({ kind: "step-end", job: "j", step: "structure", seconds: 0.42 }, new Date(0));
 * // "00:00:00 j  structure done in 0.4s"
 * ```
 */
export function formatEvent(event: RunEvent, at: Date = new Date()): string | undefined {
  const head = linePrefix(event.job, at);
  switch (event.kind) {
    case "step-start":
      return `${head}${event.step}${event.detail ? ` (${event.detail})` : ""}`;
    case "step-end":
      return `${head}${event.step} done in ${event.seconds.toFixed(1)}s`;
    case "planned":
    case "table-start":
      return undefined;
    case "table-end":
      return `${head}  ${event.table}: ${plural(event.rows, "row")}, ${
        formatBytes(event.bytes)
      } in ${event.seconds.toFixed(1)}s`;
    case "warning":
      return `${head}warning: ${event.message}`;
    case "info":
      return `${head}${event.message}`;
  }
}

/**
 * A name as the plan shows it: plain identifiers as they are, others quoted.
 *
 * @example
 * ```ts
 * shownName("orders"); // "orders"
 * shownName("Order Items"); // '"Order Items"'
 * ```
 */
export function shownName(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : JSON.stringify(name);
}

/**
 * `3 tables`, `1 table`.
 *
 * @example
 * ```ts
 * plural(1, "table"); // "1 table"
 * ```
 */
export function plural(n: number, word: string): string {
  return `${formatCount(n)} ${word}${n === 1 ? "" : "s"}`;
}

/**
 * The closing line of a job.
 *
 * @example
 * ```ts
 * formatJobSummary({ job: "j", target: "t", tables: [], seconds: 1 }, new Date(0));
 * // '00:00:00 j  done: 0 tables, 0 rows, 0 B in 1.0s → schema "t"'
 * ```
 */
export function formatJobSummary(
  report: Pick<JobReport, "job" | "target" | "tables" | "seconds">,
  at: Date = new Date(),
): string {
  const rows = report.tables.reduce((n, t) => n + t.rows, 0);
  const bytes = report.tables.reduce((n, t) => n + t.bytes, 0);
  return `${linePrefix(report.job, at)}done: ${plural(report.tables.length, "table")}, ${
    plural(rows, "row")
  }, ${formatBytes(bytes)} in ${report.seconds.toFixed(1)}s → schema ${
    JSON.stringify(report.target)
  }`;
}
