/**
 * The copy step's schedule, without a server: the longest chain of work first (a table's copy,
 * its index builds, its ANALYZE); a table's index builds wait for its last piece, its `ANALYZE`
 * for its last build, a split table's other parts for its first (loaded frozen); workers wait
 * while running tasks may make work ready, and a closed queue hands out nothing; and the
 * line that says where the step's time went.
 */

import { assertEquals, settled } from "./_assert.ts";
import { CopyQueue, type CopyTask, copyWork } from "../lib/copy_queue.ts";
import type { CopyPiece, IndexBuild } from "../lib/plan.ts";

/** The parts of a piece the queue reads: its table and size, its number among the table's parts. */
function piece(table: string, bytes: number, part = 1, parts = 1): CopyPiece {
  return {
    plan: { table: { name: table, bytes } },
    part,
    parts,
    bytes: bytes / parts,
  } as unknown as CopyPiece;
}

function build(table: string, index: string): IndexBuild {
  return { table, index, create: `CREATE INDEX ${index}`, entries: [] };
}

function describe(task: CopyTask | undefined): string {
  if (!task) return "end";
  if (task.kind === "copy") {
    return `copy ${task.piece.plan.table.name} ${task.piece.part}/${task.piece.parts}`;
  }
  if (task.kind === "batch") return `batch ${task.batch.pieces.map((p) => p.plan.table.name)}`;
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

Deno.test("copy queue: builds after a table's last piece; ANALYZE after its last build", async () => {
  const queue = new CopyQueue(
    [piece("a", 1000, 1, 2), piece("a", 1000, 2, 2), piece("b", 100)],
    [build("a", "a_1"), build("a", "a_2")],
    new Set(["a", "b"]),
  );
  assertEquals(await drain(queue), [
    "copy a 1/2",
    "copy a 2/2",
    "index a_1",
    "index a_2",
    "copy b 1/1",
    "analyze a",
    "analyze b",
    "end",
  ]);
});

Deno.test("copy queue: the longest chain first, a large table's indexes before a small table's copy", async () => {
  const queue = new CopyQueue(
    [piece("customers", 400), piece("orders", 1000), piece("events", 300), piece("tiny", 10)],
    [
      build("orders", "orders_pkey"),
      build("orders", "orders_at"),
      build("customers", "customers_pkey"),
    ],
    new Set(["orders", "customers", "events", "tiny"]),
  );
  const order: string[] = [];
  const take = async () => {
    const task = await queue.next();
    order.push(describe(task));
    return task!;
  };
  // Two workers.
  const [a, b] = [await take(), await take()];
  queue.done(b); // customers loaded: its index (96) waits behind events' copy (312)
  const c = await take();
  queue.done(a); // orders loaded: its indexes (240 each) before tiny's copy and customers' index
  const [d, e] = [await take(), await take()];
  for (const task of [c, d, e]) queue.done(task);
  for (let i = 0, task = await take(); task && i < 20; task = await take(), i++) queue.done(task);
  assertEquals(order, [
    "copy orders 1/1",
    "copy customers 1/1",
    "copy events 1/1",
    "index orders_pkey",
    "index orders_at",
    "index customers_pkey",
    "analyze orders",
    "analyze customers",
    "analyze events",
    "copy tiny 1/1",
    "analyze tiny",
    "end",
  ]);
});

Deno.test("copy queue: a split table's other parts wait for its first part, loaded frozen", async () => {
  const queue = new CopyQueue(
    [piece("big", 900, 1, 3), piece("big", 900, 2, 3), piece("big", 900, 3, 3), piece("s", 100)],
    [],
    new Set(),
  );
  const first = await queue.next();
  assertEquals(describe(first), "copy big 1/3");
  const small = await queue.next();
  assertEquals(describe(small), "copy s 1/1");
  queue.done(small!);
  const waiting = queue.next();
  assertEquals(await settled(waiting), false, "part 2 waits while part 1's transaction is open");
  queue.done(first!);
  assertEquals(describe(await waiting), "copy big 2/3");
  assertEquals(describe(await queue.next()), "copy big 3/3");
});

Deno.test("copy queue: a table not chosen for ANALYZE gets none", async () => {
  const queue = new CopyQueue(
    [piece("a", 200), piece("b", 100)],
    [build("b", "b_1")],
    new Set(["b"]),
  );
  assertEquals(await drain(queue), ["copy a 1/1", "copy b 1/1", "index b_1", "analyze b", "end"]);
});

Deno.test("copy queue: a worker waits while a running task may make work ready", async () => {
  const queue = new CopyQueue([piece("a", 100)], [build("a", "a_1")], new Set());
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
  const queue = new CopyQueue([piece("a", 100)], [build("a", "a_1")], new Set(["a"]));
  const copy = await queue.next();
  const waiting = queue.next();
  queue.close();
  assertEquals(describe(await waiting), "end");
  queue.done(copy!);
  assertEquals(describe(await queue.next()), "end");
});

Deno.test("where the copy step's time went: each kind of task, and idle workers", () => {
  assertEquals(copyWork(2, 10, { copy: 14, index: 4, analyze: 0.5 }), {
    workers: 2,
    seconds: 10,
    copying: 14,
    indexing: 4,
    analysing: 0.5,
    idle: 1.5,
  });
  // Timer rounding never makes idle time negative.
  assertEquals(copyWork(1, 2, { copy: 2.0001, index: 0, analyze: 0 }).idle, 0);
});

Deno.test("copy queue: a batch of small tables is one task, weighed by its bytes and builds; it releases nothing", async () => {
  const batch = (name: string, bytes: number, builds = 0) => ({
    pieces: [piece(name, bytes)],
    builds: Array.from({ length: builds }, (_, i) => build(name, `${name}_${i}`)),
    analyze: [name],
  });
  const queue = new CopyQueue(
    [piece("big", 1000)],
    [build("big", "big_1")],
    new Set(["big"]),
    [batch("s1", 100), batch("s2", 100, 2), batch("s3", 10)],
  );
  // big: 1000 + 240 ahead; s2: 100 + 4 + 40; s1: 104; index big_1: 240; analyze big: 40.
  assertEquals(await drain(queue), [
    "copy big 1/1",
    "index big_1",
    "batch s2",
    "batch s1",
    "analyze big",
    "batch s3",
    "end",
  ]);
});

Deno.test("copy queue: a task on a table not created yet waits for it; a batch for all its tables", async () => {
  const batch = { pieces: [piece("s1", 10), piece("s2", 10)], builds: [], analyze: [] };
  const queue = new CopyQueue([piece("big", 1000), piece("early", 5)], [], new Set(), [batch]);
  queue.hold(["big", "s1", "s2"]);
  const first = await queue.next();
  assertEquals(describe(first), "copy early 1/1", "the largest is not created yet");
  queue.done(first!);
  const waiting = queue.next();
  assertEquals(await settled(waiting), false, "nothing runs, but tables are to come: it waits");
  queue.created(["s1"]);
  assertEquals(await settled(waiting), false, "the batch waits for s2 too");
  queue.created(["s2", "big"]);
  assertEquals(describe(await waiting), "copy big 1/1");
  const next = await queue.next();
  assertEquals(describe(next), "batch s1,s2");
  queue.done(next!);
  const last = queue.next();
  assertEquals(await settled(last), false, "big still runs");
  queue.close();
  assertEquals(describe(await last), "end");
});
