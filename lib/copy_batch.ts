/**
 * Small tables loaded together: one target transaction loads each, builds their indexes and
 * analyses them, where a table on its own costs a transaction for its load, one per index build
 * and one for `ANALYZE`. A schema of a thousand small tables spends its copy step in those
 * commits (each waits for the WAL to reach the disk), not in moving rows.
 *
 * @example
 * ```ts
 * import { batchSmallTables } from "./copy_batch.ts";
 * import type { CopyPiece, IndexBuild } from "./plan.ts";
 * declare const pieces: CopyPiece[], builds: IndexBuild[];
 * const work = batchSmallTables(pieces, builds, new Set(["t1"]), { workers: 2, locks: 800, reads: 200 });
 * work.batches.length; // transactions of several small tables
 * work.pieces; // the tables copied one at a time, as before
 * ```
 * @module
 */

import type { CopyPiece, IndexBuild } from "./plan.ts";

/**
 * At most this many tables, and `BATCH_BYTES`, in one transaction: workers share the rest.
 *
 * @example
 * ```ts
 * BATCH_TABLES; // 100
 * ```
 */
export const BATCH_TABLES = 100;
/**
 * At most this many bytes of tables (on disk, on the source) in one transaction.
 *
 * @example
 * ```ts
 * BATCH_BYTES / 2 ** 20; // 16 (MiB)
 * ```
 */
export const BATCH_BYTES = 16 * 1024 * 1024;

/** Small tables, their index builds and their `ANALYZE`, in one target transaction. */
export interface CopyBatch {
  /** Whole plain tables loaded without `FREEZE` (at most `SMALL_TABLE` bytes). */
  pieces: CopyPiece[];
  /** Their index builds, run after every load of the batch. */
  builds: IndexBuild[];
  /** Of its tables, those analysed in the copy step (`analyzedInCopy`), after the builds. */
  analyze: string[];
}

/** What `batchSmallTables` weighs. */
export interface BatchLimits {
  /** Workers that take batches at once: the batches are cut so that each gets some. */
  workers: number;
  /** Locks one worker's target transaction may take (its share of `lockBudget`). */
  locks: number;
  /**
   * Locks one worker's source transaction may keep from its reads (`readLocks`) before it renews
   * its snapshot (its share of the source's `lockBudget`).
   */
  reads: number;
  /**
   * Per table, the structure step's transaction that creates it (`completingBatch`), when the
   * copy overlaps that step: a batch holds tables of one transaction, so it waits for no other.
   */
  createdBy?: ReadonlyMap<string, number>;
}

/**
 * Groups the small whole tables among `pieces` (those `copyPieces` loads without `FREEZE`) into
 * batches, with their index builds and `ANALYZE`; the other pieces and builds are returned as they
 * were. A batch stays under the
 * worker's share of the target's lock table (a table, its TOAST table and TOAST index, and each
 * index built: `4 + builds` locks, the 4th for good measure) and of the source's (each table's
 * `readLocks`), and `BATCH_TABLES`, `BATCH_BYTES`; the small tables (of each structure transaction,
 * with `createdBy`) are spread over at least `workers` batches.
 *
 * @example
 * ```ts
 * import type { CopyPiece } from "./plan.ts";
 * const piece = (name: string, bytes: number) =>
 *   ({ plan: { table: { name, readLocks: 4 } }, freeze: bytes > 2 ** 20, parts: 1, bytes }) as unknown as CopyPiece;
 * const work = batchSmallTables([piece("big", 2 ** 30), piece("a", 8192), piece("b", 8192)], [], new Set(), {
 *   workers: 1,
 *   locks: 1600,
 *   reads: 200,
 * });
 * work.pieces.map((p) => p.plan.table.name); // ["big"]
 * work.batches.map((b) => b.pieces.map((p) => p.plan.table.name)); // [["a", "b"]]
 * ```
 */
export function batchSmallTables(
  pieces: readonly CopyPiece[],
  builds: readonly IndexBuild[],
  analyzed: ReadonlySet<string>,
  limits: BatchLimits,
): { pieces: CopyPiece[]; builds: IndexBuild[]; batches: CopyBatch[] } {
  const small = pieces.filter((p) => p.parts === 1 && !p.freeze && !p.plan.table.partitioned);
  // One small table alone gains nothing from a batch.
  if (small.length < 2) return { pieces: [...pieces], builds: [...builds], batches: [] };
  const buildsOf = Map.groupBy(builds, (b) => b.table);
  const batches: CopyBatch[] = [];
  const groups = Map.groupBy(small, (p) => limits.createdBy?.get(p.plan.table.name) ?? 0);
  for (const group of [...groups.keys()].sort((a, b) => a - b).map((k) => groups.get(k)!)) {
    batches.push(...packGroup(group, buildsOf, analyzed, limits));
  }
  const batched = new Set(small.map((p) => p.plan.table.name));
  return {
    pieces: pieces.filter((p) => !batched.has(p.plan.table.name)),
    builds: builds.filter((b) => !batched.has(b.table)),
    batches,
  };
}

/** The batches of one group of small tables: see `batchSmallTables`. */
function packGroup(
  small: readonly CopyPiece[],
  buildsOf: ReadonlyMap<string, IndexBuild[]>,
  analyzed: ReadonlySet<string>,
  limits: BatchLimits,
): CopyBatch[] {
  const tables = Math.min(BATCH_TABLES, Math.ceil(small.length / limits.workers));
  const batches: CopyBatch[] = [];
  let batch: CopyBatch = { pieces: [], builds: [], analyze: [] };
  let locks = 0;
  let reads = 0;
  let bytes = 0;
  for (const piece of small) {
    const { name, readLocks } = piece.plan.table;
    const own = buildsOf.get(name) ?? [];
    const weight = 4 + own.length;
    if (
      batch.pieces.length > 0 &&
      (batch.pieces.length === tables || locks + weight > limits.locks ||
        reads + readLocks > limits.reads || bytes + piece.bytes > BATCH_BYTES)
    ) {
      batches.push(batch);
      batch = { pieces: [], builds: [], analyze: [] };
      locks = reads = bytes = 0;
    }
    batch.pieces.push(piece);
    batch.builds.push(...own);
    if (analyzed.has(name)) batch.analyze.push(name);
    locks += weight;
    reads += readLocks;
    bytes += piece.bytes;
  }
  batches.push(batch);
  return batches;
}
