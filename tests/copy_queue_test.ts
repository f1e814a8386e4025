/**
 * The copy step's scheduler, without a server: a table's index builds wait for its last piece,
 * its `ANALYZE` for its last build, workers wait while running tasks may make work ready, and a
 * closed queue hands out nothing.
 */

import { assertEquals } from "./_assert.ts";
import { CopyQueue, type CopyTask } from "../lib/copy_queue.ts";
import type { CopyPiece, IndexBuild } from "../lib/plan.ts";

/** The parts of a piece the queue reads: its table, its number among the table's parts. */
function piece(table: string, part = 1, parts = 1): CopyPiece {
  return { plan: { table: { name: table } }, part, parts } as unknown as CopyPiece;
}

function build(table: string, index: string): IndexBuild {
  return { table, index, create: `CREATE INDEX ${index}`, entries: [] };
}

function describe(task: CopyTask | undefined): string {
  if (!task) return "end";
  if (task.kind === "copy") {
    return `copy ${task.piece.plan.table.name} ${task.piece.part}/${task.piece.parts}`;
  }
  return task.kind === "index" ? `index ${task.build.index}` : `analyze ${task.table}`;
}

/** One worker taking every task in turn. */
async function drain(queue: CopyQueue): Promise<string[]> {
  const order: string[] = [];
  for (let i = 0; i < 100; i++) {
    const task = await queue.next();
    order.push(describe(task));
    if (!task) return order;
    queue.done(task);
  }
  throw new Error("the queue never ended");
}

/** Whether a promise has settled after the tasks already queued have run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(() => (done = true), () => (done = true));
  await new Promise((resolve) => setTimeout(resolve, 0));
  return done;
}

Deno.test("copy queue: pieces first; builds after a table's last piece; ANALYZE after its last build", async () => {
  const queue = new CopyQueue(
    [piece("a", 1, 2), piece("a", 2, 2), piece("b")],
    [build("a", "a_1"), build("a", "a_2")],
    new Set(["a", "b"]),
  );
  assertEquals(await drain(queue), [
    "copy a 1/2",
    "copy a 2/2",
    "copy b 1/1",
    "index a_1",
    "index a_2",
    "analyze b",
    "analyze a",
    "end",
  ]);
});

Deno.test("copy queue: a table not chosen for ANALYZE gets none", async () => {
  const queue = new CopyQueue([piece("a"), piece("b")], [build("b", "b_1")], new Set(["b"]));
  assertEquals(await drain(queue), ["copy a 1/1", "copy b 1/1", "index b_1", "analyze b", "end"]);
});

Deno.test("copy queue: a worker waits while a running task may make work ready", async () => {
  const queue = new CopyQueue([piece("a")], [build("a", "a_1")], new Set());
  const copy = await queue.next();
  assertEquals(describe(copy), "copy a 1/1");
  const waiting = queue.next();
  assertEquals(await settled(waiting), false);
  queue.done(copy!);
  const index = await waiting;
  assertEquals(describe(index), "index a_1");
  const last = queue.next();
  assertEquals(await settled(last), false);
  queue.done(index!);
  assertEquals(describe(await last), "end");
});

Deno.test("copy queue: close ends it for a waiting worker and for every later call", async () => {
  const queue = new CopyQueue([piece("a")], [build("a", "a_1")], new Set(["a"]));
  const copy = await queue.next();
  const waiting = queue.next();
  queue.close();
  assertEquals(describe(await waiting), "end");
  queue.done(copy!);
  assertEquals(describe(await queue.next()), "end");
});
