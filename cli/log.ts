/**
 * Plain log lines for a run's events: timestamped, one line per step and per finished table,
 * written to standard error so standard output stays free for data.
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
  if (bytes < 1000) return `${bytes} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

function clock(at: Date): string {
  return at.toISOString().slice(11, 19);
}

/** One event as a line, or `undefined` for events that make no line. */
export function formatEvent(event: RunEvent, at: Date = new Date()): string | undefined {
  const head = `${clock(at)} ${event.job}  `;
  switch (event.kind) {
    case "step-start":
      return `${head}${event.step}${event.detail ? ` (${event.detail})` : ""}`;
    case "step-end":
      return undefined;
    case "table-start":
      return undefined;
    case "table-end":
      return `${head}  ${event.table}: ${formatCount(event.rows)} rows, ${
        formatBytes(event.bytes)
      } in ${event.seconds.toFixed(1)}s`;
    case "warning":
      return `${head}warning: ${event.message}`;
    case "info":
      return `${head}${event.message}`;
  }
}

/** The closing line of a job. */
export function formatJobSummary(report: JobReport): string {
  const rows = report.tables.reduce((n, t) => n + t.rows, 0);
  const bytes = report.tables.reduce((n, t) => n + t.bytes, 0);
  return `${clock(new Date())} ${report.job}  done: ${report.tables.length} tables, ${
    formatCount(rows)
  } rows, ` +
    `${formatBytes(bytes)} in ${report.seconds.toFixed(1)}s → schema "${report.target}"`;
}
