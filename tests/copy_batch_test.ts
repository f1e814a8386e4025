/**
 * Batches of small tables, without a server: which tables go together, under which limits, and
 * what stays as it was.
 */

import { assertEquals } from "./_assert.ts";
import { BATCH_TABLES, batchSmallTables } from "../lib/copy_batch.ts";
import { type CopyPiece, type IndexBuild, SMALL_TABLE } from "../lib/plan.ts";

/** The parts of a piece batching reads. */
function piece(
  name: string,
  bytes = 8192,
  o: { parts?: number; partitioned?: boolean; readLocks?: number } = {},
) {
  return {
    plan: {
      table: { name, bytes, partitioned: o.partitioned ?? false, readLocks: o.readLocks ?? 4 },
    },
    freeze: (o.parts ?? 1) === 1 && !o.partitioned && bytes > SMALL_TABLE,
    part: 1,
    parts: o.parts ?? 1,
    bytes,
  } as unknown as CopyPiece;
}

function build(table: string, index: string): IndexBuild {
  return { table, index, create: `CREATE INDEX ${index}`, entries: [] };
}

const names = (pieces: readonly CopyPiece[]) => pieces.map((p) => p.plan.table.name);
const roomy = { workers: 1, locks: 100_000, reads: 100_000 };

Deno.test("copy batch: small whole tables go together with their builds and ANALYZE; the rest stays", () => {
  const work = batchSmallTables(
    [
      piece("big", SMALL_TABLE + 1),
      piece("split", SMALL_TABLE * 4, { parts: 2 }),
      piece("parent", 0, { partitioned: true }),
      piece("a", SMALL_TABLE),
      piece("b"),
    ],
    [build("big", "big_1"), build("a", "a_1"), build("b", "b_1"), build("b", "b_2")],
    new Set(["big", "a"]),
    roomy,
  );
  assertEquals(names(work.pieces), ["big", "split", "parent"]);
  assertEquals(work.builds.map((b) => b.index), ["big_1"]);
  assertEquals(work.batches.length, 1);
  assertEquals(names(work.batches[0].pieces), ["a", "b"]);
  assertEquals(work.batches[0].builds.map((b) => b.index), ["a_1", "b_1", "b_2"]);
  assertEquals(work.batches[0].analyze, ["a"]);
});

Deno.test("copy batch: one small table alone is copied as before", () => {
  const work = batchSmallTables([piece("big", SMALL_TABLE * 2), piece("a")], [], new Set(), roomy);
  assertEquals(names(work.pieces), ["big", "a"]);
  assertEquals(work.batches, []);
});

Deno.test("copy batch: the small tables are spread over the workers", () => {
  const pieces = Array.from({ length: 10 }, (_, i) => piece(`t${i}`));
  const work = batchSmallTables(pieces, [], new Set(), { ...roomy, workers: 3 });
  assertEquals(work.batches.map((b) => b.pieces.length), [4, 4, 2]);
});

Deno.test("copy batch: a batch stays under the locks of a worker's share and its source reads", () => {
  const pieces = Array.from({ length: 10 }, (_, i) => piece(`t${i}`));
  const builds = pieces.map((p) => build(p.plan.table.name, `${p.plan.table.name}_1`));
  // 4 locks a table and 1 an index build: 3 tables fit in 15, not 4.
  const byLocks = batchSmallTables(pieces, builds, new Set(), { ...roomy, locks: 15 });
  assertEquals(byLocks.batches.map((b) => b.pieces.length), [3, 3, 3, 1]);
  // 4 locks a table read on the source: 4 tables fit in 16.
  const byReads = batchSmallTables(pieces, [], new Set(), { ...roomy, reads: 16 });
  assertEquals(byReads.batches.map((b) => b.pieces.length), [4, 4, 2]);
  // A table with 30 indexes keeps 31 locks on the source when read, plus 2 for its TOAST.
  const indexed = Array.from({ length: 4 }, (_, i) => piece(`t${i}`, 8192, { readLocks: 33 }));
  const byIndexes = batchSmallTables(indexed, [], new Set(), { ...roomy, reads: 100 });
  assertEquals(byIndexes.batches.map((b) => b.pieces.length), [3, 1]);
});

Deno.test("copy batch: at most BATCH_TABLES tables and BATCH_BYTES in one", () => {
  const many = Array.from({ length: BATCH_TABLES + 1 }, (_, i) => piece(`t${i}`));
  assertEquals(
    batchSmallTables(many, [], new Set(), roomy).batches.map((b) => b.pieces.length),
    [BATCH_TABLES, 1],
  );
  const large = Array.from({ length: 20 }, (_, i) => piece(`t${i}`, SMALL_TABLE));
  assertEquals(
    batchSmallTables(large, [], new Set(), roomy).batches.map((b) => b.pieces.length),
    [16, 4],
  );
});

Deno.test("copy batch: with the structure step overlapping, a batch holds tables of one of its transactions", () => {
  const pieces = Array.from({ length: 10 }, (_, i) => piece(`t${i}`));
  // t0–t5 are created by the first transaction, t6–t9 by the second, listed out of order.
  const createdBy = new Map(names(pieces).map((name, i) => [name, i < 6 ? 0 : 1]));
  const shuffled = [pieces[7], ...pieces.slice(0, 7), ...pieces.slice(8)];
  const work = batchSmallTables(shuffled, [], new Set(), { ...roomy, workers: 2, createdBy });
  assertEquals(work.batches.map((b) => names(b.pieces)), [
    ["t0", "t1", "t2"],
    ["t3", "t4", "t5"],
    ["t7", "t6"],
    ["t8", "t9"],
  ]);
});
