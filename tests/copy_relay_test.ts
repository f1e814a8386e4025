/**
 * The relay's reading of the protocol, without a server: a COPY's messages cut into network reads
 * at every size (a header, a row, a large row split anywhere), the target's backpressure, a
 * failure mid-stream, a statement that is no COPY. A stand-in for postgres.js reads what the
 * relay hands it and confirms the COPY's response, as postgres.js does. The relay on real
 * servers (byte-identical rows, errors, memory) is in copy_test.ts.
 */

import { EventEmitter } from "node:events";
import { Buffer } from "node:buffer";
import type { Socket } from "node:net";
import { assertEquals, assertOk } from "./_assert.ts";
import { claimCopy, type CopyClaim, Tap } from "../lib/copy_relay.ts";

function message(type: string, body: Uint8Array | string = ""): Buffer {
  const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
  const out = Buffer.alloc(5 + bytes.length);
  out[0] = type.charCodeAt(0);
  out.writeUInt32BE(4 + bytes.length, 1);
  out.set(bytes, 5);
  return out;
}

/** A socket whose reads the test feeds and whose writes it records. */
class FakeSocket extends EventEmitter {
  written: Buffer[] = [];
  paused = false;
  /** What the next writes return (false: the socket's buffer is full). */
  accepting = true;
  write(chunk: Uint8Array, callback?: (error?: Error | null) => void): boolean {
    this.written.push(Buffer.from(chunk));
    queueMicrotask(() => callback?.());
    return this.accepting;
  }
  pause(): this {
    this.paused = true;
    return this;
  }
  resume(): this {
    this.paused = false;
    return this;
  }
}

/** What postgres.js would read: every byte handed to it, and the COPY's response confirmed. */
function standIn(socket: FakeSocket, claim: () => CopyClaim | undefined): Buffer[] {
  const seen: Buffer[] = [];
  let pending = Buffer.alloc(0);
  socket.on("data", (chunk: Buffer) => {
    seen.push(chunk);
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 5 && pending.length >= 1 + pending.readUInt32BE(1)) {
      const type = String.fromCharCode(pending[0]);
      if (type === "H" || type === "G") claim()?.confirm();
      pending = pending.subarray(1 + pending.readUInt32BE(1));
    }
  });
  return seen;
}

interface Side {
  socket: FakeSocket;
  tap: Tap;
  seen: Buffer[];
  claim?: CopyClaim;
}

function side(): Side {
  const socket = new FakeSocket();
  const s = { socket, seen: [] as Buffer[] } as unknown as Side;
  s.seen = standIn(socket, () => s.claim);
  s.tap = new Tap(socket as unknown as Socket);
  return s;
}

/** Sends a claimed COPY statement on a side, as postgres.js would (a `Q` message). */
function send(s: Side, sql: string): CopyClaim {
  s.claim = claimCopy(sql);
  s.socket.write(message("Q", `${s.claim.sql}\0`));
  return s.claim;
}

function rowsOf(count: number): Buffer[] {
  return Array.from({ length: count }, (_, i) => {
    const size = i === 7 ? 200_000 : i % 11; // one row larger than any read, empty ones
    return message("d", new Uint8Array(size).fill(97 + i % 26));
  });
}

function cut(bytes: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size));
  return chunks;
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

Deno.test("every CopyData reaches the target whole and in order, however the reads are cut", async () => {
  const rows = rowsOf(40);
  const before = message("H", new Uint8Array([0, 0, 0]));
  const after = Buffer.concat([message("c"), message("C", "COPY 40\0"), message("Z", "I")]);
  const stream = Buffer.concat([before, ...rows, after]);
  for (const size of [1, 2, 3, 4, 5, 6, 7, 13, 4096, 65536, stream.length]) {
    const source = side(), target = side();
    const claim = send(source, "COPY t TO STDOUT");
    send(target, "COPY t FROM STDIN");
    target.tap.socket.emit("data", message("G", new Uint8Array([0, 0, 0])));
    assertEquals(target.claim!.tap, target.tap, "the target's COPY IN is found");
    const progress = { rows: 0, bytes: 0 };
    let relayed: Promise<void> | undefined;
    for (const chunk of cut(stream, size)) {
      source.socket.emit("data", chunk);
      if (!relayed && source.tap.holding) {
        assertEquals(claim.tap, source.tap);
        assertOk(source.socket.paused, "reads wait for the target");
        relayed = source.tap.relayTo(target.tap, progress);
      }
    }
    await relayed;
    assertEquals(
      Buffer.concat(target.socket.written.slice(1)).equals(Buffer.concat(rows)),
      true,
      `cut every ${size} bytes: the target got the messages`,
    );
    assertEquals(
      Buffer.concat(source.seen).equals(Buffer.concat([before, after])),
      true,
      `cut every ${size} bytes: postgres.js got the rest`,
    );
    assertEquals(progress.rows, 40);
    assertEquals(progress.bytes, rows.reduce((n, r) => n + r.length - 5, 0));
    assertOk(!source.socket.paused, "the source reads on");
  }
});

/** A source's COPY OUT relayed to a target's COPY IN whose socket's buffer is full. */
function relayingWithFullTarget() {
  const source = side(), target = side();
  send(source, "COPY t TO STDOUT");
  send(target, "COPY t FROM STDIN");
  target.tap.socket.emit("data", message("G", new Uint8Array([0, 0, 0])));
  source.socket.emit("data", message("H", new Uint8Array([0, 0, 0])));
  target.socket.accepting = false;
  return { source, target, relayed: source.tap.relayTo(target.tap, { rows: 0, bytes: 0 }) };
}

Deno.test("a full target pauses the source until it drains", async () => {
  const { source, target, relayed } = relayingWithFullTarget();
  source.socket.emit("data", Buffer.concat(rowsOf(3)));
  assertOk(source.socket.paused, "paused while the target's buffer is full");
  target.socket.accepting = true;
  target.socket.emit("drain");
  assertOk(!source.socket.paused, "resumed on drain");
  source.socket.emit("data", Buffer.concat([message("c"), message("C", "COPY 3\0")]));
  await relayed;
});

Deno.test("after a failure the rest is dropped, the source reads on, and postgres.js sees its end", async () => {
  const { source, target, relayed } = relayingWithFullTarget();
  const [first, ...rest] = rowsOf(5);
  source.socket.emit("data", Buffer.concat([first, rest[0].subarray(0, 3)]));
  const failure = relayed.then(() => "resolved", (e) => (e as Error).message);
  source.tap.fail(new Error("the target failed"));
  assertEquals(await failure, "the target failed");
  assertOk(!source.socket.paused, "not left paused (postgres.js #499)");
  const writes = target.socket.written.length;
  const error = message("E", "SERROR\0C57014\0Mcanceling statement\0\0");
  source.socket.emit("data", Buffer.concat([rest[0].subarray(3), ...rest.slice(1), error]));
  await tick();
  assertEquals(target.socket.written.length, writes, "nothing more is written to the target");
  assertEquals(source.seen.at(-1)!.equals(error), true, "postgres.js reads the error");
});

Deno.test("a statement that answers with an error, or no claim at all, leaves everything to postgres.js", () => {
  const source = side();
  const claim = send(source, "COPY missing TO STDOUT");
  const error = message("E", "SERROR\0C42P01\0Mrelation does not exist\0\0");
  source.socket.emit("data", Buffer.concat([error, message("Z", "I")]));
  assertEquals(claim.tap, undefined);
  assertOk(!source.tap.holding);
  const rows = Buffer.concat([message("H", new Uint8Array(3)), ...rowsOf(2)]);
  source.socket.emit("data", rows); // unclaimed (as over TLS, where no statement shows)
  assertEquals(Buffer.concat(source.seen.slice(1)).equals(rows), true);
});
