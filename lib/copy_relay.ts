/**
 * COPY data relayed socket to socket: the source's CopyData messages are written to the target
 * as they arrived, whole, without postgres.js handling them one row at a time. A CopyData message
 * from a server has the same layout as one to a server (`d`, length, bytes), so the relay only
 * reads each message's length to find where it ends. postgres.js still sends every statement and
 * reads every other message: the relay takes over a source connection from its CopyOutResponse to
 * its last CopyData, and writes to a target connection between its CopyInResponse and CopyDone.
 *
 * postgres.js has no API for this. Its connections' sockets come from pg-xmat (its `socket`
 * option), and `tapSocket` wraps each one: its `write` recognises the statement of a claimed COPY
 * (a marker appended to the SQL), and its `data` events then go through the relay instead of
 * postgres.js. A connection over TLS never shows its statements to the plain socket: no claim is
 * taken, and `copyTable` moves its rows through postgres.js's streams instead.
 *
 * @example
 * ```ts
 * import { connect } from "node:net";
 * import type { Conn } from "./connect.ts";
 * import { claimCopy, tapSocket } from "./copy_relay.ts";
 * declare const conn: Conn;
 * tapSocket(connect(5432, "127.0.0.1")); // returned to postgres.js's `socket` option
 * const out = claimCopy("COPY t TO STDOUT");
 * conn.unsafe(out.sql); // …then out.confirmed, out.tap?.relayTo(target, progress)
 * ```
 * @module
 */

import type { Socket } from "node:net";
import type { Buffer } from "node:buffer";

const COPY_DATA = 0x64; // d
const COPY_OUT_RESPONSE = 0x48; // H
const COPY_IN_RESPONSE = 0x47; // G
const READY_FOR_QUERY = 0x5a; // Z
const QUERY = 0x51; // Q

/** Reads a message's length field (big-endian, after the type byte at `at`). */
function lengthAt(bytes: Uint8Array, at: number): number {
  return bytes[at + 1] * 0x1000000 + (bytes[at + 2] << 16 | bytes[at + 3] << 8 | bytes[at + 4]);
}

/** Counters a relay updates once per network read (for progress). */
export interface RelayProgress {
  rows: number;
  /** Bytes of row data (the messages' contents, without their headers). */
  bytes: number;
}

/** Claims waiting for the statement they mark to be written, by marker number. */
const claims = new Map<number, CopyClaim>();
let nextClaim = 0;
const MARKER = /\/\* pg-xmat copy (\d+) \*\/$/;

/**
 * A COPY statement whose connection is to be found: `sql` carries a marker (a trailing comment),
 * and the tapped socket that writes it is `tap`. The statement's response must then be confirmed
 * by the query (`confirm`, called when postgres.js hands out the COPY's stream) for the relay to
 * take the data over.
 *
 * @example
 * ```ts
 * const claim = new CopyClaim("COPY (SELECT 1) TO STDOUT");
 * claim.sql.startsWith("COPY (SELECT 1) TO STDOUT"); // true, a marker after it
 * claim.release();
 * ```
 */
export class CopyClaim {
  readonly sql: string;
  readonly id: number;
  /** The socket that sent the statement, once it did (never for TLS connections). */
  tap?: Tap;
  #confirmed = false;

  constructor(sql: string) {
    this.id = nextClaim++;
    this.sql = `${sql} /* pg-xmat copy ${this.id} */`;
    claims.set(this.id, this);
  }

  /** Called when postgres.js resolved the COPY's stream (it handled the Copy…Response). */
  confirm(): void {
    this.#confirmed = true;
  }

  get confirmed(): boolean {
    return this.#confirmed;
  }

  /** Ends the claim: a later write of its statement is not recognised. */
  release(): void {
    claims.delete(this.id);
  }
}

/**
 * Marks a COPY statement so the socket that sends it can be found (see `CopyClaim`).
 *
 * @example
 * ```ts
 * claimCopy("COPY t TO STDOUT").sql; // "COPY t TO STDOUT /* pg-xmat copy 0 *\/"
 * ```
 */
export function claimCopy(sql: string): CopyClaim {
  return new CopyClaim(sql);
}

/** The `Q` messages' claims found in bytes postgres.js writes (usually one message). */
function claimsIn(bytes: Uint8Array): CopyClaim[] {
  const found: CopyClaim[] = [];
  for (let at = 0; at + 5 <= bytes.length;) {
    const end = at + 1 + lengthAt(bytes, at);
    if (bytes[at] === QUERY && end <= bytes.length) {
      // The statement ends with the marker and a NUL: decode only its tail.
      const tail = new TextDecoder().decode(bytes.subarray(Math.max(at + 5, end - 40), end - 1));
      const claim = claims.get(Number(MARKER.exec(tail)?.[1] ?? -1));
      if (claim) found.push(claim);
    }
    at = end;
  }
  return found;
}

type Emit = (event: string | symbol, ...args: unknown[]) => boolean;
type Write = (chunk: Uint8Array, callback?: (error?: Error | null) => void) => boolean;

/** What a tapped socket is doing with the data it reads. */
type Mode =
  /** Everything to postgres.js. */
  | "idle"
  /** Everything to postgres.js, message by message, until the claimed COPY's response. */
  | "armed"
  /** After the CopyOutResponse: reads paused, what was read kept, until `relayTo`/`release`. */
  | "holding"
  /** CopyData to the target socket, the rest to postgres.js. */
  | "relaying"
  /** CopyData dropped (the copy failed), the rest to postgres.js. */
  | "discarding";

/**
 * A socket under postgres.js, with the relay's hooks.
 *
 * @example
 * ```ts
 * import type { Socket } from "node:net";
 * declare const socket: Socket;
 * const tap = new Tap(socket);
 * tap.release();
 * ```
 */
export class Tap {
  readonly socket: Socket;
  readonly #emit: Emit;
  readonly #write: Write;
  #mode: Mode = "idle";
  #claim?: CopyClaim;
  /** While armed: the type of the message being read, and its bytes still to come. */
  #type = 0;
  #skip = 0;
  #head = new Uint8Array(5);
  #headLength = 0;
  /** While holding: what was read after the CopyOutResponse. */
  #held: Buffer[] = [];
  /** While relaying: the start of a CopyData message not read whole yet. */
  #partial: Buffer[] = [];
  #partialBytes = 0;
  /** The partial message's whole length (type byte included), or -1 before its header is in. */
  #partialTotal = -1;
  #target?: Tap;
  #progress?: RelayProgress;
  /** Writes handed to the target's socket and not yet flushed. */
  #unflushed = 0;
  #pausedByRelay = false;
  #sourceEnded = false;
  #settle?: { resolve: () => void; reject: (error: unknown) => void };
  #failure?: unknown;

  constructor(socket: Socket) {
    this.socket = socket;
    this.#emit = socket.emit.bind(socket) as Emit;
    this.#write = socket.write.bind(socket) as Write;
    socket.emit = ((event: string | symbol, ...args: unknown[]) => {
      if (event === "data" && this.#mode !== "idle") {
        this.#data(args[0] as Buffer);
        return true;
      }
      return this.#emit(event, ...args);
    }) as typeof socket.emit;
    socket.write = ((chunk: Uint8Array, ...rest: unknown[]) => {
      if (claims.size > 0 && chunk instanceof Uint8Array) {
        for (const claim of claimsIn(chunk)) this.#claimed(claim);
      }
      return (this.#write as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof socket.write;
  }

  /** This socket sent a claimed statement: its response starts with the next byte read. */
  #claimed(claim: CopyClaim): void {
    claim.release();
    if (this.#mode !== "idle") return; // not expected: leave this connection to postgres.js
    claim.tap = this;
    this.#claim = claim;
    this.#mode = "armed";
    this.#type = 0;
    this.#skip = 0;
    this.#headLength = 0;
  }

  #data(chunk: Buffer): void {
    switch (this.#mode) {
      case "armed":
        return this.#armedData(chunk);
      case "holding":
        this.#held.push(chunk);
        return;
      case "relaying":
      case "discarding":
        return this.#relayData(chunk);
      default:
        this.#emit("data", chunk);
    }
  }

  /**
   * Hands messages to postgres.js up to the end of the claimed COPY's response. Once postgres.js
   * confirms it (it resolved the COPY's stream while handling exactly those bytes), a COPY OUT
   * is held for the relay; a COPY IN needs nothing more; anything else ends the claim.
   */
  #armedData(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.#headLength < 5 && this.#skip === 0) {
        const take = Math.min(5 - this.#headLength, chunk.length - at);
        this.#head.set(chunk.subarray(at, at + take), this.#headLength);
        this.#headLength += take;
        at += take;
        if (this.#headLength < 5) break;
        this.#type = this.#head[0];
        this.#skip = lengthAt(this.#head, 0) - 4;
      }
      const take = Math.min(this.#skip, chunk.length - at);
      at += take;
      this.#skip -= take;
      if (this.#skip > 0) break;
      this.#headLength = 0;
      const type = this.#type;
      if (type !== COPY_OUT_RESPONSE && type !== COPY_IN_RESPONSE && type !== READY_FOR_QUERY) {
        continue;
      }
      const claim = this.#claim!;
      this.#mode = "idle";
      this.#claim = undefined;
      const before = claim.confirmed;
      this.#emit("data", chunk.subarray(0, at));
      // Confirmed by exactly these bytes, or this socket's messages were not read right.
      if (before || !claim.confirmed) claim.tap = undefined;
      else if (type === COPY_OUT_RESPONSE) {
        this.#mode = "holding";
        this.#held = at < chunk.length ? [chunk.subarray(at)] : [];
        this.socket.pause();
        this.#pausedByRelay = true;
        return;
      }
      if (at < chunk.length) this.#emit("data", chunk.subarray(at));
      return;
    }
    this.#emit("data", chunk);
    // postgres.js saw the response where this walk did not: give the connection back to it.
    if (this.#claim?.confirmed) {
      this.#claim.tap = undefined;
      this.#claim = undefined;
      this.#mode = "idle";
    }
  }

  /**
   * Relays this held COPY OUT to `target` (a tapped socket in COPY IN). Resolves once the source
   * sent its last CopyData and every message was flushed to the target's socket; the messages
   * that follow (CopyDone, the source's completion or error) go to postgres.js. Rejects after
   * `fail`, or when a write to the target fails.
   */
  relayTo(target: Tap, progress: RelayProgress): Promise<void> {
    if (this.#mode !== "holding") throw new Error("relayTo: no COPY OUT is held on this socket");
    this.#target = target;
    this.#progress = progress;
    this.#sourceEnded = false;
    this.#failure = undefined;
    const done = new Promise<void>((resolve, reject) => (this.#settle = { resolve, reject }));
    this.#mode = "relaying";
    this.#drainHeld();
    return done;
  }

  /** A COPY OUT is held for `relayTo`. */
  get holding(): boolean {
    return this.#mode === "holding";
  }

  /** Gives a held COPY OUT back to postgres.js: its stream then receives the rows. */
  release(): void {
    if (this.#mode !== "holding") return;
    this.#mode = "idle";
    const held = this.#held;
    this.#held = [];
    for (const chunk of held) this.#emit("data", chunk);
    this.#resume();
  }

  /**
   * Stops relaying after a failure: CopyData still arriving is dropped, the socket reads on, so
   * postgres.js sees the source's end (the cancel's error) and the connection is not left paused.
   */
  fail(error: unknown): void {
    if (this.#mode !== "holding" && this.#mode !== "relaying") return;
    if (this.#mode === "holding") {
      this.#mode = "discarding";
      this.#drainHeld();
    }
    if (this.#mode === "relaying") this.#mode = "discarding";
    this.#failure ??= error;
    this.#resume();
    this.#finish();
  }

  #drainHeld(): void {
    const held = this.#held;
    this.#held = [];
    for (const chunk of held) {
      if (this.#mode === "idle") this.#emit("data", chunk);
      else this.#relayData(chunk);
    }
    if (this.#mode !== "idle" && !this.#waitingForDrain) this.#resume();
  }

  #waitingForDrain = false;

  #resume(): void {
    if (!this.#pausedByRelay) return;
    this.#pausedByRelay = false;
    this.socket.resume();
  }

  /**
   * The hot path: one network read of the source. Whole CopyData messages go to the target as
   * one write; a message cut by the read's end waits for the rest; the first other message ends
   * the relay and goes, with what follows it, to postgres.js.
   */
  #relayData(chunk: Buffer): void {
    let at = 0;
    let rows = 0;
    let forwarded = 0;
    if (this.#partialBytes > 0) {
      if (this.#partialTotal < 0) {
        const head = new Uint8Array(5);
        let filled = 0;
        for (const piece of [...this.#partial, chunk]) {
          const take = Math.min(5 - filled, piece.length);
          head.set(piece.subarray(0, take), filled);
          filled += take;
          if (filled === 5) break;
        }
        if (filled < 5) return this.#keepPartial(chunk);
        this.#partialTotal = 1 + lengthAt(head, 0);
      }
      at = this.#partialTotal - this.#partialBytes;
      if (at > chunk.length) return this.#keepPartial(chunk);
      for (const piece of this.#partial) this.#forward(piece);
      forwarded = this.#partialBytes;
      this.#partial = [];
      this.#partialBytes = 0;
      this.#partialTotal = -1;
      rows++;
    }
    let ended = false;
    while (at < chunk.length) {
      if (chunk[at] !== COPY_DATA) {
        ended = true;
        break;
      }
      if (at + 5 > chunk.length) break;
      const end = at + 1 + lengthAt(chunk, at);
      if (end > chunk.length) break;
      if (!binaryFrame(chunk, at + 5, end)) rows++;
      at = end;
    }
    // The completed message's rest and the whole messages after it: one write.
    if (at > 0) this.#forward(chunk.subarray(0, at));
    if (this.#mode === "relaying") {
      this.#progress!.rows += rows;
      this.#progress!.bytes += forwarded + at - 5 * rows;
    }
    if (ended) return this.#sourceEnd(chunk.subarray(at));
    if (at < chunk.length) {
      this.#partialTotal = chunk.length - at >= 5 ? 1 + lengthAt(chunk, at) : -1;
      this.#keepPartial(chunk.subarray(at));
    }
  }

  #keepPartial(piece: Buffer): void {
    this.#partial.push(piece);
    this.#partialBytes += piece.length;
  }

  #forward(bytes: Buffer): void {
    if (this.#mode !== "relaying") return;
    const target = this.#target!;
    this.#unflushed++;
    const more = target.#write(bytes, (error) => {
      this.#unflushed--;
      if (error) this.fail(error);
      else this.#finish();
    });
    if (!more && !this.#waitingForDrain) {
      this.#waitingForDrain = true;
      this.socket.pause();
      this.#pausedByRelay = true;
      target.socket.once("drain", () => {
        this.#waitingForDrain = false;
        if (this.#mode === "relaying") this.#resume();
      });
    }
  }

  /** The source's first message after its CopyData: the relay is done with this connection. */
  #sourceEnd(rest: Buffer): void {
    this.#sourceEnded = true;
    this.#mode = "idle";
    this.#resume();
    if (rest.length > 0) this.#emit("data", rest);
    this.#finish();
  }

  #finish(): void {
    const settle = this.#settle;
    if (!settle) return;
    if (this.#failure !== undefined) {
      this.#settle = undefined;
      settle.reject(this.#failure);
    } else if (this.#sourceEnded && this.#unflushed === 0) {
      this.#settle = undefined;
      settle.resolve();
    }
  }
}

/**
 * Wraps a socket for postgres.js's `socket` option, so COPYs on it can be relayed.
 *
 * @example
 * ```ts
 * import { connect } from "node:net";
 * // What postgres.js's `socket` option returns (see connect.ts):
 * const socket = tapSocket(connect(5432, "127.0.0.1"));
 * ```
 */
export function tapSocket<S extends Socket>(socket: S): S {
  new Tap(socket);
  return socket;
}

/**
 * The signature that starts binary COPY's header (19 bytes with its flags and extension length).
 *
 * @example
 * ```ts
 * new TextDecoder().decode(new Uint8Array(BINARY_SIGNATURE.slice(0, 5))); // "PGCOP"
 * ```
 */
export const BINARY_SIGNATURE = [0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00];

/**
 * A CopyData payload (`chunk[from..to)`) that holds no row: binary COPY's trailer (`-1`) or its
 * header alone (with the trailer, for no rows); the header sent with the first row is one row.
 * Only those few bytes are looked at, so the hot path stays free of per-row work.
 */
function binaryFrame(chunk: Uint8Array, from: number, to: number): boolean {
  const size = to - from;
  if (size === 2) return chunk[from] === 0xff && chunk[from + 1] === 0xff;
  if (size !== 19 && size !== 21) return false;
  for (let i = 0; i < BINARY_SIGNATURE.length; i++) {
    if (chunk[from + i] !== BINARY_SIGNATURE[i]) return false;
  }
  return size === 19 || (chunk[from + 19] === 0xff && chunk[from + 20] === 0xff);
}
