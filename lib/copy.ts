/**
 * COPY between two connections: source `COPY (SELECT …) TO STDOUT` → target `COPY … FROM STDIN`,
 * joined with backpressure, rows gathered into large writes, memory bounded by a few batches.
 *
 * Four traps of postgres.js are guarded here:
 * - the readable emits one chunk per row and each write is one CopyData message: rows are
 *   gathered into writes of `BATCH_BYTES`;
 * - a COPY that ends while the readable's buffer is full leaves the socket paused, and the
 *   connection's next reply is never read (porsager/postgres #499): the socket is resumed at
 *   the end of every COPY;
 * - a server error that arrives after CopyDone never reaches the writable (porsager/postgres
 *   #1173): the end of each COPY is taken from the query's own completion, not from the stream;
 * - a source error must not look like the end of the data: the source query's completion is
 *   awaited too, and a failed side ends the other (CopyFail on the target, a cancel request on
 *   the source), so no backend is left busy.
 *
 * @example
 * ```ts
 * import { copyTable } from "./copy.ts";
 * import type { Conn, Sql } from "./connect.ts";
 * declare const pool: Sql, sourceConn: Conn, targetConn: Conn, sourcePid: number;
 * const result = await copyTable(sourceConn, targetConn, {
 *   copyOut: 'COPY (SELECT "id" FROM ONLY "public"."t") TO STDOUT',
 *   copyIn: 'COPY "shadow"."t" ("id") FROM STDIN',
 * }, { cancelSource: async () => { await pool`SELECT pg_cancel_backend(${sourcePid})`; } });
 * result.rows;
 * ```
 * @module
 */

import type { Readable, Writable } from "node:stream";
import type { Conn } from "./connect.ts";
import { BINARY_SIGNATURE, claimCopy, type CopyClaim } from "./copy_relay.ts";
import { CopyFailed } from "./errors.ts";

/**
 * Bytes gathered before one write to the target (measured: 128–512 KiB is 3× one-per-row).
 *
 * @example
 * ```ts
 * BATCH_BYTES; // 262144
 * ```
 */
export const BATCH_BYTES = 256 * 1024;

/** One table's two statements. */
export interface CopyStatements {
  copyOut: string;
  copyIn: string;
}

/** Counters a copy updates as data flows (for progress). */
export interface CopyProgress {
  /** Rows seen so far. */
  rows: number;
  /** Bytes of COPY data seen so far. */
  bytes: number;
}

/** What one copy moved. */
export interface CopyResult {
  /** Rows the target stored (from its `COPY n`). */
  rows: number;
  bytes: number;
  seconds: number;
  /** The rows went socket to socket (see copy_relay.ts), not through postgres.js's streams. */
  relayed: boolean;
}

interface Started<T> {
  /** The stream, once the server accepted the COPY. */
  stream: Promise<T>;
  /** The statement's completion (CommandComplete + ReadyForQuery) or its error. */
  done: Promise<{ count: number | null }>;
}

/**
 * Starts a COPY on a connection and watches the query object itself: postgres.js resolves it
 * once with the stream, then again with the result, or rejects it with the server's error,
 * which is how an error after CopyDone is still seen.
 */
function startCopy<T>(
  conn: Conn,
  claim: CopyClaim,
  direction: "readable" | "writable",
): Started<T> {
  // deno-lint-ignore no-explicit-any
  const query = conn.unsafe(claim.sql) as any;
  let onStream!: (s: T) => void, onStreamError!: (e: unknown) => void;
  let onDone!: (r: { count: number | null }) => void, onDoneError!: (e: unknown) => void;
  const stream = new Promise<T>((res, rej) => (onStream = res, onStreamError = rej));
  const done = new Promise<{ count: number | null }>((
    res,
    rej,
  ) => (onDone = res, onDoneError = rej));
  stream.catch(() => {});
  done.catch(() => {});
  let resolved = 0;
  const resolve = query.resolve, reject = query.reject;
  query.resolve = (value: unknown) => {
    if (resolved++ === 0) {
      claim.confirm();
      onStream(value as T);
    } else onDone(value as { count: number | null });
    return resolve(value);
  };
  query.reject = (error: unknown) => {
    onStreamError(error);
    onDoneError(error);
    return reject(error);
  };
  // Its outcome is read through `stream` and `done`; the promises postgres.js hands back
  // (which follow the query) would otherwise be unhandled rejections.
  query[direction]().catch(() => {});
  query.catch(() => {});
  return { stream, done };
}

/** Batches written to the target and not yet handed to its socket, before the source pauses. */
const MAX_IN_FLIGHT = 2;

/**
 * Makes postgres.js read its socket again. A CopyData that fills the readable's buffer pauses
 * the socket; when CopyDone is in the same network chunk, nothing resumes it, and the next
 * message on that connection (the COPY's own completion, the next query) is never read
 * (porsager/postgres #499, fix proposed in PR #1016). The readable's `_read` is postgres.js's
 * `socket.resume()`.
 */
function resumeSocket(readable: Readable): void {
  try {
    (readable as unknown as { _read(size: number): void })._read(0);
  } catch {
    // The connection closed: postgres.js dropped its socket, and nothing is left to read.
  }
}

/**
 * Moves the source's rows to the target: the readable flows, its per-row chunks are gathered
 * into writes of `BATCH_BYTES`, and it pauses while `MAX_IN_FLIGHT` writes wait for the target's
 * socket, so memory holds a few batches whatever the table's size. Synchronous event handlers,
 * not an async iterator: one promise per row costs twice the CPU (measured, 4 M rows). Resolves
 * when the last write reached the socket; rejects with the first stream error.
 */
function pump(readable: Readable, writable: Writable, progress: CopyProgress): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    // The source may have failed while the target's COPY was starting: its 'error' is past.
    if (readable.errored) return reject(readable.errored);
    if (readable.destroyed) {
      return reject(new Error("the source's COPY stream closed before its end"));
    }
    let parts: Uint8Array[] = [];
    let size = 0;
    let inFlight = 0;
    let ended = false;
    let failed = false;
    const fail = (error: unknown) => {
      if (failed) return;
      failed = true;
      readable.pause();
      reject(error);
    };
    const settle = () => {
      if (ended && inFlight === 0 && !failed) resolve();
    };
    const flush = () => {
      const batch = concat(parts, size);
      parts = [];
      size = 0;
      inFlight++;
      writable.write(batch, (error) => {
        inFlight--;
        if (error) return fail(error);
        if (!ended && !failed && inFlight < MAX_IN_FLIGHT) readable.resume();
        settle();
      });
      if (inFlight >= MAX_IN_FLIGHT) readable.pause();
    };
    readable.on("data", (chunk: Uint8Array) => {
      if (failed) return; // drained after a failure: nowhere to go
      parts.push(chunk);
      size += chunk.length;
      progress.rows += rowsIn(chunk);
      progress.bytes += chunk.length;
      if (size >= BATCH_BYTES) flush();
    });
    readable.once("end", () => {
      ended = true;
      resumeSocket(readable);
      if (size > 0) flush();
      settle();
    });
    readable.once("error", fail);
  });
}

/** Binary COPY's signature, its flags and header extension length: the 19-byte header. */
const BINARY_HEADER = 19;

/**
 * The rows one chunk of `COPY … TO STDOUT` holds: one, but for binary COPY's header and trailer
 * (the header arrives with the first row, the trailer `-1` alone, both alone for no rows), which
 * made the live count overshoot. A text row cannot look like either: it ends at its first `\n`.
 *
 * @example
 * ```ts
 * rowsIn(new TextEncoder().encode("1\tann\n")); // 1
 * rowsIn(new Uint8Array([0xff, 0xff])); // 0
 * ```
 */
export function rowsIn(chunk: Uint8Array): number {
  const trailer = (at: number) =>
    chunk.length === at + 2 && chunk[at] === 0xff && chunk[at + 1] === 0xff;
  if (trailer(0)) return 0;
  if (chunk.length < BINARY_HEADER || BINARY_SIGNATURE.some((b, i) => chunk[i] !== b)) return 1;
  return chunk.length === BINARY_HEADER || trailer(BINARY_HEADER) ? 0 : 1;
}

function concat(parts: Uint8Array[], size: number): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Options of `copyTable`. */
export interface CopyOptions {
  /**
   * Cancels the source's statement from another connection (`pg_cancel_backend`). postgres.js's
   * own cancel request is not used: when it fails, its rejection is unhandled.
   */
  cancelSource: () => Promise<void>;
  /** Updated as rows flow. */
  progress?: CopyProgress;
  /** Aborting ends both sides of the copy. */
  signal?: AbortSignal;
  /**
   * Relay the rows socket to socket (the default where both connections are plain TCP or Unix
   * sockets); `false`: through postgres.js's streams, as over TLS.
   */
  relay?: boolean;
}

/**
 * Copies one table from a source connection (inside the job's snapshot) to a target connection.
 * Throws `CopyFailed` naming the side whose server failed first; both connections are out of
 * COPY mode when it returns or throws.
 *
 * @example
 * ```ts
 * import type { Conn } from "./connect.ts";
 * declare const source: Conn, target: Conn;
 * const result = await copyTable(source, target, {
 *   copyOut: 'COPY (SELECT "id" FROM ONLY "public"."t") TO STDOUT',
 *   copyIn: 'COPY "staging"."t" ("id") FROM STDIN',
 * }, { cancelSource: async () => {} });
 * result.rows;
 * ```
 */
export async function copyTable(
  source: Conn,
  target: Conn,
  statements: CopyStatements,
  options: CopyOptions,
): Promise<CopyResult> {
  // A cancelled source fails its COPY, or the readable, whose error ends the target's COPY with
  // CopyFail. Listened to from the start: a source that has sent nothing yet (a slow filter,
  // a subset's closure: the server sends even the COPY's start only once 8 kB of rows are
  // ready) is stopped too, not when its query ends.
  const onAbort = () => options.cancelSource().catch(() => {});
  options.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    return await copyRows(source, target, statements, options);
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
  }
}

/** `copyTable`'s work, the abort aside. */
async function copyRows(
  source: Conn,
  target: Conn,
  statements: CopyStatements,
  options: CopyOptions,
): Promise<CopyResult> {
  const started = performance.now();
  const progress = options.progress ?? { rows: 0, bytes: 0 };
  const outClaim = claimCopy(statements.copyOut);
  const out = startCopy<Readable>(source, outClaim, "readable");
  let readable: Readable;
  try {
    readable = await out.stream;
  } catch (error) {
    throw new CopyFailed("source", error);
  } finally {
    outClaim.release();
  }
  // Errors are read from the iterator, the write callbacks and the queries' completion; an
  // 'error' event nobody listens to would crash the process instead.
  readable.on("error", () => {});
  // The source's rows wait on its socket for the relay (unless over TLS: then in the readable).
  const held = outClaim.tap?.holding ? outClaim.tap : undefined;
  /**
   * Ends the source's COPY early: cancel it, drain what is still in flight, and leave its socket
   * reading (an error in the chunk that filled the readable would leave it paused: #499 again).
   */
  const stopSource = async (error: unknown) => {
    held?.fail(error);
    await options.cancelSource().catch(() => {});
    readable.resume();
    await out.done.catch(() => {});
    resumeSocket(readable);
  };
  const inClaim = claimCopy(statements.copyIn);
  const into = startCopy<Writable>(target, inClaim, "writable");
  let writable: Writable;
  try {
    writable = await into.stream;
  } catch (error) {
    await stopSource(error);
    throw new CopyFailed("target", error);
  } finally {
    inClaim.release();
  }
  writable.on("error", () => {});
  const relay = held && inClaim.tap && options.relay !== false
    ? { from: held, to: inClaim.tap }
    : undefined;
  if (!relay) held?.release();

  // Which server failed first decides what is reported; the other side's error is a consequence.
  let firstFailure: "source" | "target" | undefined;
  let finished = false;
  into.done.catch((error) => {
    firstFailure ??= "target";
    relay?.from.fail(error);
    if (!finished) options.cancelSource().catch(() => {}); // stop the source at once
  });
  out.done.catch((error) => {
    firstFailure ??= "source";
    relay?.from.fail(error);
  });
  // Aborted before the source's statement reached its server, the cancel found nothing to stop.
  if (options.signal?.aborted) options.cancelSource().catch(() => {});
  try {
    await (relay ? relay.from.relayTo(relay.to, progress) : pump(readable, writable, progress));
    // The data ended: make sure the source really completed, not failed after its last row.
    await out.done;
    // Completion is read from the query (see startCopy), not from 'finish'.
    writable.end();
    const result = await into.done;
    return {
      rows: result.count ?? progress.rows,
      bytes: progress.bytes,
      seconds: (performance.now() - started) / 1000,
      relayed: relay !== undefined,
    };
  } catch (error) {
    if (!writable.destroyed) writable.destroy(error as Error);
    const targetError = await into.done.then(() => undefined, (e) => e);
    if (firstFailure === "target") {
      await stopSource(error);
      throw new CopyFailed("target", targetError ?? error);
    }
    const sourceError = await out.done.then(() => undefined, (e) => e);
    await stopSource(error);
    throw new CopyFailed("source", sourceError ?? error);
  } finally {
    finished = true;
  }
}
