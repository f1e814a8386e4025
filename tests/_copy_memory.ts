/**
 * A copy in a process of its own, for the memory test in copy_test.ts (the test process also
 * runs the test files beside it), started with `--v8-flags=--expose-gc`. Prints one JSON line:
 * the rows copied and the most memory the copy held: every 50 ms, after a full garbage
 * collection, the heap and the buffers in use, over what they were before. (The resident set
 * also holds buffers already dropped until the collector runs, some tens of MiB.)
 *
 * @module
 */

import { openClient } from "../lib/connect.ts";
import { copyTable } from "../lib/copy.ts";

const gc = (globalThis as unknown as { gc: () => void }).gc;

/** The heap and buffers in use, after a full collection. */
function held(): number {
  gc();
  const m = Deno.memoryUsage();
  return m.heapUsed + m.external;
}

const { sourceUrl, targetUrl, copyOut, copyIn, relay } = JSON.parse(Deno.args[0]);
const source = await openClient("source", sourceUrl, { max: 2 });
const target = await openClient("target", targetUrl, { max: 1 });
const [s, t] = [await source.reserve(), await target.reserve()];
const [{ pid }] = await s`SELECT pg_backend_pid() AS pid`;
const before = held();
let peak = before;
const sampler = setInterval(() => peak = Math.max(peak, held()), 50);
const copied = await copyTable(s, t, { copyOut, copyIn }, {
  cancelSource: async () => void await source`SELECT pg_cancel_backend(${pid})`,
  relay,
}).finally(() => clearInterval(sampler));
const grown = peak - before;
s.release();
t.release();
await Promise.all([source.end(), target.end()]);
console.log(JSON.stringify({ rows: copied.rows, grown }));
