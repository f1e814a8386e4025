/**
 * Every error class of pg-xmat, and their translation into the one message a user reads. The
 * errors a user sees are `XmatError`s: a message that says what and where, what to do next, and
 * (for the CLI) which exit code it maps to. The others (`ConnectError`, `CopyFailed`,
 * `ToolError`, `ToolFailed`, `SwapError`, `DependentsError`) are thrown by the building blocks
 * and become a `JobError` at the place they happened (`jobError`).
 *
 * @example
 * ```ts
 * import { ConfigError } from "./errors.ts";
 * throw new ConfigError(['jobs["a"].tables: must name at least one table']);
 * ```
 * @module
 */

import { redact, redactUrl } from "./redact.ts";
import type { Step } from "./types.ts";

/**
 * Base of every pg-xmat error; `exitCode` is what the CLI exits with.
 *
 * @example
 * ```ts
 * new UsageError("no job matches \"x:*\"") instanceof XmatError; // true
 * ```
 */
export class XmatError extends Error {
  /** 2: usage or configuration; 1: a job failed. */
  readonly exitCode: 1 | 2;
  /** `message` with every password redacted. */
  constructor(message: string, exitCode: 1 | 2, options?: ErrorOptions) {
    super(redact(message), options);
    this.name = new.target.name;
    this.exitCode = exitCode;
  }
}

/**
 * Wrong command-line use, or no job matched.
 *
 * @example
 * ```ts
 * new UsageError("no job matches \"x:*\"").exitCode; // 2
 * ```
 */
export class UsageError extends XmatError {
  /** A usage error (exit code 2). */
  constructor(message: string) {
    super(message, 2);
  }
}

/**
 * The jobs module could not be loaded or is invalid; `issues` holds one line per fault.
 *
 * @example
 * ```ts
 * new ConfigError(['jobs["a"].tables: at least one table']).issues.length; // 1
 * ```
 */
export class ConfigError extends XmatError {
  /** Each problem, with where it is (`jobs["a"].tables.t.where: …`). */
  readonly issues: string[];
  /** The message lists the first 20 issues under `heading`. */
  constructor(issues: string[], heading = "invalid jobs") {
    const shown = issues.slice(0, 20);
    const more = issues.length > shown.length
      ? `\n  … and ${issues.length - shown.length} more`
      : "";
    super(`${heading}:\n  ${shown.join("\n  ")}${more}`, 2);
    this.issues = issues;
  }
}

export type { Step };

/** Where a job failed: the job, the step, and when known the table and the server side. */
export interface Place {
  /** The job's name. */
  job: string;
  /** The step that failed. */
  step: Step;
  /** The table it worked on, when one. */
  table?: string;
  /** The server whose error it was, when known. */
  side?: "source" | "target";
}

/**
 * A job failed; the message names the place and carries the server's text.
 *
 * @example
 * ```ts
 * new JobError({ job: "a", step: "copy", table: "t" }, "it failed").message;
 * // 'job "a", table "t", step copy: it failed'
 * ```
 */
export class JobError extends XmatError {
  /** Where the job failed: its step, and the table and side when known. */
  readonly place: Place;
  /** The message is the place (`describePlace`), then `detail`. */
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
  // EPIPE: Node's socket saw the server's end first ("This socket has been ended by the other
  // party"); ECONNRESET: the server reset it (a session terminated while its COPY streamed in).
  if (/^(CONNECTION_CLOSED|CONNECTION_DESTROYED|EPIPE|ECONNRESET)$/.test(e.code ?? "")) {
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

/**
 * True for a server error with the given SQLSTATE.
 *
 * @example
 * ```ts
 * hasSqlState({ code: "55P03" }, "55P03"); // true
 * ```
 */
export function hasSqlState(error: unknown, code: string): boolean {
  return error instanceof Error && (error as Error & { code?: string }).code === code;
}

/** Which side of a job a connection belongs to. */
export type Side = "source" | "target";

/**
 * Explains a connection failure in terms a user can act on.
 *
 * @example
 * ```ts
 * connectionHint(Object.assign(new Error("x"), { code: "ECONNREFUSED" })); // "is the server running …"
 * ```
 */
export function connectionHint(error: unknown): string {
  const code = (error as { code?: string })?.code ?? "";
  const message = String((error as Error)?.message ?? "");
  if (code === "ECONNREFUSED" || /refused/i.test(message)) {
    return "is the server running and accepting TCP connections at that host and port?";
  }
  if (code === "ENOTFOUND" || code === "EAI_AGAIN" || /lookup|getaddrinfo|dns/i.test(message)) {
    return "the host name does not resolve; check the URL's host.";
  }
  if (code === "28P01" || code === "28000") {
    return "check the user name and password in the URL (or the PGPASSWORD your job file reads).";
  }
  if (code === "3D000") return "the database does not exist on that server; check the URL's path.";
  if (code === "CONNECT_TIMEOUT" || /timeout/i.test(message)) {
    return "the server did not answer in time; check the host, port and any firewall.";
  }
  if (/ssl|tls|encrypt/i.test(message)) {
    return "TLS failed: the server does not accept it or its certificate is not trusted; check the " +
      "server's ssl setting and the URL's sslmode (disable, prefer, require, verify-full).";
  }
  return "check the URL.";
}

/**
 * A connection to one side could not be opened or was lost.
 *
 * @example
 * ```ts
 * new ConnectError("source", "postgres://app:secret@db/app", new Error("timeout")).side; // "source"
 * ```
 */
export class ConnectError extends Error {
  readonly side: Side;
  constructor(side: Side, url: string, cause: unknown) {
    const what = redact(describeError(cause));
    super(`cannot connect to the ${side} ${redactUrl(url)}: ${what}\n${connectionHint(cause)}`, {
      cause,
    });
    this.name = "ConnectError";
    this.side = side;
  }
}

/**
 * Which side of a copy failed first.
 *
 * @example
 * ```ts
 * new CopyFailed("target", new Error("disk full")).message; // "disk full"
 * ```
 */
export class CopyFailed extends Error {
  readonly side: Side;
  constructor(side: Side, cause: unknown) {
    super((cause as Error)?.message ?? String(cause), { cause });
    this.name = "CopyFailed";
    this.side = side;
  }
}

/**
 * A reserved connection's session ended (terminated, or its server stopped) before a query was
 * sent on it. Its `code` is postgres.js's, and its message ends with the address, as postgres.js's
 * own `CONNECTION_CLOSED` errors do.
 *
 * @example
 * ```ts
 * new ConnectionLost("source", "db:5432").code; // "CONNECTION_CLOSED"
 * ```
 */
export class ConnectionLost extends Error {
  readonly side: Side;
  readonly code = "CONNECTION_CLOSED";
  constructor(side: Side, address: string) {
    super(`the ${side}'s session of this connection ended: CONNECTION_CLOSED ${address}`);
    this.name = "ConnectionLost";
    this.side = side;
  }
}

/**
 * A client tool is missing, or every copy found is older than needed.
 *
 * @example
 * ```ts
 * new ToolError("pg_dump 16 or newer is needed").name; // "ToolError"
 * ```
 */
export class ToolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ToolError";
  }
}

/**
 * A tool exited with a non-zero status; the message is its redacted standard error.
 *
 * @example
 * ```ts
 * new ToolFailed("pg_restore", 1, "error: x").message; // "pg_restore failed: error: x"
 * ```
 */
export class ToolFailed extends Error {
  readonly stderr: string;
  constructor(name: string, code: number, stderr: string) {
    const text = redact(stderr.trim()) || `exit status ${code}`;
    super(`${name} failed: ${text}`);
    this.name = "ToolFailed";
    this.stderr = redact(stderr);
  }
}

/**
 * The swap could not take its locks in time.
 *
 * @example
 * ```ts
 * new SwapError("could not lock target schema \"staging\"").side; // "target"
 * ```
 */
export class SwapError extends Error {
  readonly side: Side = "target";
  constructor(message: string) {
    super(message);
    this.name = "SwapError";
  }
}

/**
 * The target schema has dependents outside it and the job does not allow dropping them.
 *
 * @example
 * ```ts
 * new DependentsError("staging", ["view other.v"]).dependents; // ["view other.v"]
 * ```
 */
export class DependentsError extends Error {
  readonly side: Side = "target";
  readonly dependents: string[];
  constructor(target: string, dependents: string[]) {
    super(
      `objects outside target schema "${target}" depend on it and would be dropped with it:\n  ` +
        dependents.join("\n  ") +
        `\nDrop or move them first, or allow dropping them with \`cascade: true\` in the job or --cascade.`,
    );
    this.name = "DependentsError";
    this.dependents = dependents;
  }
}

/**
 * Why a server refused, in words a user can act on, when the server's own text does not say.
 *
 * @example
 * ```ts
 * failureHint(Object.assign(new Error("permission denied for table t"), { code: "42501" }));
 * // "grant the role the privilege named above (README: Privileges)"
 * ```
 */
export function failureHint(error: unknown): string | undefined {
  const message = String((error as Error)?.message ?? "");
  if (/row-level security/i.test(message)) {
    return "the source role is subject to row-level security on this table; set `rowSecurity: true` " +
      "in the job to copy only the rows it may see, or use a role that bypasses row-level security";
  }
  if ((error as { code?: string })?.code === "42501") {
    return "grant the role the privilege named above (README: Privileges)";
  }
  return undefined;
}

/**
 * Any error thrown at `place` as the `JobError` a user reads: the server's text with a hint, the
 * side it happened on when the error knows it, "interrupted" when the job was aborted. An
 * `XmatError` is already one and is returned as it is.
 *
 * @example
 * ```ts
 * jobError({ job: "a", step: "copy", table: "t" }, new CopyFailed("target", new Error("boom")), false)
 *   .message; // 'job "a", table "t", step copy (target): boom'
 * ```
 */
export function jobError(place: Place, error: unknown, interrupted: boolean): XmatError {
  if (error instanceof XmatError) return error;
  const at: Place = { ...place };
  const side = (error as { side?: unknown })?.side;
  if (error instanceof Error && (side === "source" || side === "target")) at.side ??= side;
  const cause = error instanceof CopyFailed ? error.cause : error;
  if (interrupted) {
    // Whatever failed then failed because of the signal: no table or side is to blame.
    const where = { job: at.job, step: at.step };
    return new JobError(where, "interrupted; the target was left as it was", { cause });
  }
  const hint = failureHint(cause);
  const text = describeError(cause);
  return new JobError(at, hint && !text.includes("HINT:") ? `${text}\nHINT: ${hint}` : text, {
    cause,
  });
}
