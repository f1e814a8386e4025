/**
 * Typed errors. Every failure pg-xmat reports is one of these: a message that says what and
 * where, what to do next, and (for the CLI) which exit code it maps to.
 *
 * @example
 * ```ts
 * import { ConfigError } from "./errors.ts";
 * throw new ConfigError(['jobs["a"].tables: must name at least one table']);
 * ```
 * @module
 */

import { redact } from "./redact.ts";

/** Base of every pg-xmat error; `exitCode` is what the CLI exits with. */
export class XmatError extends Error {
  /** 2: usage or configuration; 1: a job failed. */
  readonly exitCode: 1 | 2;
  constructor(message: string, exitCode: 1 | 2, options?: ErrorOptions) {
    super(redact(message), options);
    this.name = new.target.name;
    this.exitCode = exitCode;
  }
}

/** Wrong command-line use, or no job matched. */
export class UsageError extends XmatError {
  constructor(message: string) {
    super(message, 2);
  }
}

/** The jobs module could not be loaded or is invalid; `issues` holds one line per fault. */
export class ConfigError extends XmatError {
  readonly issues: string[];
  constructor(issues: string[], heading = "invalid jobs") {
    const shown = issues.slice(0, 20);
    const more = issues.length > shown.length
      ? `\n  … and ${issues.length - shown.length} more`
      : "";
    super(`${heading}:\n  ${shown.join("\n  ")}${more}`, 2);
    this.issues = issues;
  }
}

/** The pipeline step a failure happened in, named as the log names it. */
export type Step =
  | "connect"
  | "plan"
  | "snapshot"
  | "structure"
  | "copy"
  | "post-data"
  | "swap";

/** Where a job failed: the job, the step, and when known the table and the server side. */
export interface Place {
  job: string;
  step: Step;
  table?: string;
  side?: "source" | "target";
}

/** A job failed; the message names the place and carries the server's text. */
export class JobError extends XmatError {
  readonly place: Place;
  constructor(place: Place, detail: string, options?: ErrorOptions) {
    super(`${describePlace(place)}: ${detail}`, 1, options);
    this.place = place;
  }
}

/**
 * `job "a", table "t", step copy (target)`: the prefix every job failure starts with.
 *
 * @example
 * ```ts
 * describePlace({ job: "a", step: "copy", table: "t", side: "target" });
 * // 'job "a", table "t", step copy (target)'
 * ```
 */
export function describePlace(place: Place): string {
  const table = place.table === undefined ? "" : `, table ${JSON.stringify(place.table)}`;
  const side = place.side === undefined ? "" : ` (${place.side})`;
  return `job ${JSON.stringify(place.job)}${table}, step ${place.step}${side}`;
}

/** The fields of a PostgreSQL server error that postgres.js exposes. */
interface ServerErrorFields {
  message: string;
  detail?: string;
  hint?: string;
  where?: string;
  column_name?: string;
  code?: string;
}

/**
 * One readable text from any thrown value: the server's message with DETAIL, HINT and CONTEXT
 * lines when present, a connection error's code, redacted.
 *
 * @example
 * ```ts
 * describeError(new Error("boom")); // "boom"
 * ```
 */
export function describeError(error: unknown): string {
  if (error instanceof XmatError) return error.message;
  if (!(error instanceof Error)) return redact(String(error));
  const e = error as Error & Partial<ServerErrorFields> & { errno?: string };
  if (e.code === "CONNECTION_CLOSED" || e.code === "CONNECTION_DESTROYED") {
    // postgres.js drops the server's last words (e.g. "terminating connection due to
    // administrator command") when the socket closes right after them.
    const where = /(\S+:\d+)\s*$/.exec(e.message)?.[1];
    return `the connection${where ? ` to ${where}` : ""} closed unexpectedly: the session was ` +
      `terminated, or the server stopped or restarted`;
  }
  const lines = [e.message];
  if (e.detail) lines.push(`DETAIL: ${e.detail}`);
  if (e.hint) lines.push(`HINT: ${e.hint}`);
  if (e.where) lines.push(`CONTEXT: ${e.where.split("\n")[0]}`);
  return redact(lines.join("\n"));
}

/** True for a server error with the given SQLSTATE. */
export function hasSqlState(error: unknown, code: string): boolean {
  return error instanceof Error && (error as Error & { code?: string }).code === code;
}
