/**
 * COPY between two connections: source `COPY (SELECT …) TO STDOUT` → target `COPY … FROM STDIN`,
 * joined by Web Streams with backpressure, rows gathered into large writes.
 *
 * Three traps of postgres.js are guarded here:
 * - the readable emits one chunk per row and each write is one CopyData message: rows are
 *   gathered into writes of `BATCH_BYTES`;
 * - a server error that arrives after CopyDone never reaches the writable (porsager/postgres
 *   #1173): the end of each COPY is taken from the query's own completion, not from the stream;
 * - a source error must not look like the end of the data: the source query's completion is
 *   awaited too, and a failed side ends the other (CopyFail on the target, a cancel request on
 *   the source), so no backend is left busy.
 *
 * @example
 * ```ts
 * import { copyTable } from "./copy.ts";
 * const result = await copyTable(sourceConn, targetConn, {
 *   copyOut: 'COPY (SELECT "id" FROM ONLY "public"."t") TO STDOUT',
 *   copyIn: 'COPY "shadow"."t" ("id") FROM STDIN',
 * });
 * result.rows;
 * ```
 * @module
 */

import type { Readable, Writable } from "node:stream";
import type { Conn } from "./connect.ts";

/** Bytes gathered before one write to the target (measured: 128–512 KiB is 3× one-per-row). */
export const BATCH_BYTES = 256 * 1024;

/** One table's two statements. */
export interface CopyStatements {
  copyOut: string;
  copyIn: string;
}

/** Counters a copy updates as data flows (for progress). */
export interface CopyProgress {
  rows: number;
  bytes: number;
}

/** What one copy moved. */
export interface CopyResult {
  /** Rows the target stored (from its `COPY n`). */
  rows: number;
  bytes: number;
  seconds: number;
}

/** Which side of a copy failed first. */
export class CopyFailed extends Error {
  readonly side: "source" | "target";
  constructor(side: "source" | "target", cause: unknown) {
    super((cause as Error)?.message ?? String(cause), { cause });
    this.name = "CopyFailed";
    this.side = side;
  }
}

interface Started<T> {
  /** The stream, once the server accepted the COPY. */
  stream: Promise<T>;
  /** The statement's completion (CommandComplete + ReadyForQuery) or its error. */
  done: Promise<{ count: number | null }>;
  cancel(): void;
}

/**
 * Starts a COPY on a connection and watches the query object itself: postgres.js resolves it
 * once with the stream, then again with the result, or rejects it with the server's error,
 * which is how an error after CopyDone is still seen.
 */
function startCopy<T>(conn: Conn, sql: string, direction: "readable" | "writable"): Started<T> {
  // deno-lint-ignore no-explicit-any
  const query = conn.unsafe(sql) as any;
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
    if (resolved++ === 0) onStream(value as T);
    else onDone(value as { count: number | null });
    return resolve(value);
  };
  query.reject = (error: unknown) => {
    onStreamError(error);
    onDoneError(error);
    return reject(error);
  };
  query[direction]();
  query.catch(() => {}); // executes the query; its outcome is read through `stream` and `done`
  return { stream, done, cancel: () => query.cancel() };
}

/** Gathers the readable's per-row chunks into writes of at least `BATCH_BYTES`. */
async function* batches(readable: Readable, progress: CopyProgress): AsyncGenerator<Uint8Array> {
  let parts: Uint8Array[] = [];
  let size = 0;
  // Not destroyed on an early return: a destroyed readable would pause postgres.js's socket for
  // good, and the source's reply to the cancel request would never be read.
  const chunks = readable.iterator({ destroyOnReturn: false }) as AsyncIterable<Uint8Array>;
  for await (const chunk of chunks) {
    parts.push(chunk);
    size += chunk.length;
    progress.rows++;
    progress.bytes += chunk.length;
    if (size >= BATCH_BYTES) {
      yield concat(parts, size);
      parts = [];
      size = 0;
    }
  }
  if (size > 0) yield concat(parts, size);
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

/** A Web Streams sink over a postgres.js COPY writable; each write waits for the socket. */
function sink(writable: Writable): WritableStream<Uint8Array> {
  return new WritableStream<Uint8Array>({
    write: (chunk) =>
      new Promise<void>((resolve, reject) =>
        writable.write(chunk, (e) => e ? reject(e) : resolve())
      ),
    close: () => {
      // Completion is read from the query (see startCopy), not from 'finish'.
      writable.end();
    },
    abort: (reason) => {
      writable.destroy(reason instanceof Error ? reason : new Error(String(reason)));
    },
  });
}

/** Options of `copyTable`. */
export interface CopyOptions {
  /** Updated as rows flow. */
  progress?: CopyProgress;
  /** Aborting ends both sides of the copy. */
  signal?: AbortSignal;
}

/**
 * Copies one table from a source connection (inside the job's snapshot) to a target connection.
 * Throws `CopyFailed` naming the side whose server failed first; both connections are out of
 * COPY mode when it returns or throws.
 */
export async function copyTable(
  source: Conn,
  target: Conn,
  statements: CopyStatements,
  options: CopyOptions = {},
): Promise<CopyResult> {
  const started = performance.now();
  const progress = options.progress ?? { rows: 0, bytes: 0 };
  const out = startCopy<Readable>(source, statements.copyOut, "readable");
  let readable: Readable;
  try {
    readable = await out.stream;
  } catch (error) {
    throw new CopyFailed("source", error);
  }
  /** Ends the source's COPY early: cancel it, and drain what is still in flight. */
  const stopSource = async () => {
    out.cancel();
    readable.on("error", () => {});
    readable.resume();
    await out.done.catch(() => {});
  };
  const into = startCopy<Writable>(target, statements.copyIn, "writable");
  let writable: Writable;
  try {
    writable = await into.stream;
  } catch (error) {
    await stopSource();
    throw new CopyFailed("target", error);
  }

  // Which server failed first decides what is reported; the other side's error is a consequence.
  let firstFailure: "source" | "target" | undefined;
  let finished = false;
  into.done.catch(() => {
    firstFailure ??= "target";
    if (!finished) out.cancel(); // stop the source at once, even if it is not sending yet
  });
  out.done.catch(() => (firstFailure ??= "source"));
  const reading = (async function* () {
    yield* batches(readable, progress);
    // The data ended: make sure the source really completed, not failed after its last row.
    await out.done;
  })();
  // A cancelled source fails the reading side, which ends the target's COPY with CopyFail.
  const onAbort = () => out.cancel();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    await ReadableStream.from(reading).pipeTo(sink(writable));
    const result = await into.done;
    return {
      rows: result.count ?? progress.rows,
      bytes: progress.bytes,
      seconds: (performance.now() - started) / 1000,
    };
  } catch (error) {
    if (!writable.destroyed) writable.destroy(error as Error);
    const targetError = await into.done.then(() => undefined, (e) => e);
    if (firstFailure === "target") {
      await stopSource();
      throw new CopyFailed("target", targetError ?? error);
    }
    const sourceError = await out.done.then(() => undefined, (e) => e);
    await stopSource();
    throw new CopyFailed("source", sourceError ?? error);
  } finally {
    finished = true;
    options.signal?.removeEventListener("abort", onAbort);
  }
}
