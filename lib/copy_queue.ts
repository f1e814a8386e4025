/**
 * The copy step's work, in the order its workers take it: always the task at the head of the
 * longest chain of work still ahead (a table's copy, then its index builds, then its `ANALYZE`),
 * so the largest table starts first and its indexes are built while smaller tables still copy.
 * The first part of a split table loads in the transaction that truncates it (with `FREEZE`); its
 * other parts wait for it. A batch of small tables (`copy_batch.ts`) is one task: its loads,
 * builds and `ANALYZE` in one transaction. Pure scheduling: the workers do the I/O.
 *
 * @example
 * ```ts
 * import { CopyQueue, type CopyTask } from "./copy_queue.ts";
 * import type { CopyPiece, IndexBuild } from "./plan.ts";
 * declare const pieces: CopyPiece[], builds: IndexBuild[];
 * declare function run(task: CopyTask): Promise<void>;
 * const queue = new CopyQueue(pieces, builds, new Set(["orders"]));
 * for (let task = await queue.next(); task; task = await queue.next()) {
 *   await run(task);
 *   queue.done(task);
 * }
 * ```
 * @module
 */

import type { CopyBatch } from "./copy_batch.ts";
import type { CopyPiece, IndexBuild } from "./plan.ts";
import type { CopyWork } from "./types.ts";

/** One task of the copy step. */
export type CopyTask =
  | { kind: "copy"; piece: CopyPiece }
  | { kind: "batch"; batch: CopyBatch }
  | { kind: "index"; build: IndexBuild }
  | { kind: "analyze"; table: string };

/**
 * An index build's time as a share of its table's copy, and `ANALYZE`'s (measured on the
 * benchmark's `orders`, 4.5 M rows: COPY 11.5 s, each of its three indexes 2–2.7 s, ANALYZE
 * under 0.5 s).
 */
const INDEX_SHARE = 0.2;
const ANALYZE_SHARE = 0.04;

/**
 * The copy step's tasks; several workers take from it at once.
 *
 * @example
 * ```ts
 * import type { CopyPiece, IndexBuild } from "./plan.ts";
 * declare const pieces: CopyPiece[], builds: IndexBuild[];
 * const queue = new CopyQueue(pieces, builds, new Set(["users"]));
 * for (let task = await queue.next(); task; task = await queue.next()) queue.done(task);
 * ```
 */
export class CopyQueue {
  /** Tasks that may start now. */
  readonly #ready: CopyTask[] = [];
  /** Per table: the parts that wait for its first part's transaction. */
  readonly #afterFirst = new Map<string, CopyPiece[]>();
  /** Per table: pieces not loaded yet. */
  readonly #piecesLeft = new Map<string, number>();
  /** Per table: its index builds, waiting for its data, then the builds not finished yet. */
  readonly #builds = new Map<string, IndexBuild[]>();
  readonly #buildsLeft = new Map<string, number>();
  readonly #bytes = new Map<string, number>();
  readonly #analyze: ReadonlySet<string>;
  /** Per table not created yet: the tasks that wait for it (see `hold`). */
  readonly #uncreated = new Map<string, { task: CopyTask; tables: number }[]>();
  /** Tasks handed out and not done: they may still make others ready. */
  #running = 0;
  #closed = false;
  #waiting: (() => void)[] = [];

  /**
   * `analyze`: the tables analysed here, after their last index (the others are analysed after
   * the post-data script, which builds the rest of their indexes).
   */
  constructor(
    pieces: readonly CopyPiece[],
    builds: readonly IndexBuild[],
    analyze: ReadonlySet<string>,
    batches: readonly CopyBatch[] = [],
  ) {
    for (const batch of batches) this.#ready.push({ kind: "batch", batch });
    for (const b of builds) {
      this.#builds.set(b.table, [...this.#builds.get(b.table) ?? [], b]);
      this.#buildsLeft.set(b.table, (this.#buildsLeft.get(b.table) ?? 0) + 1);
    }
    for (const piece of pieces) {
      const table = piece.plan.table.name;
      this.#bytes.set(table, piece.plan.table.bytes);
      this.#piecesLeft.set(table, (this.#piecesLeft.get(table) ?? 0) + 1);
      if (piece.part > 1) {
        this.#afterFirst.set(table, [...this.#afterFirst.get(table) ?? [], piece]);
      } else this.#ready.push({ kind: "copy", piece });
    }
    this.#analyze = analyze;
  }

  /**
   * The work a task heads, in bytes of its table copied: a piece and its table's index builds
   * after it, a batch and its builds, one build, or an `ANALYZE`.
   */
  #chain(task: CopyTask): number {
    if (task.kind === "batch") {
      const { pieces, builds } = task.batch;
      const bytes = pieces.reduce((n, p) => n + p.bytes, 0);
      return bytes * (1 + ANALYZE_SHARE) + (bytes / pieces.length) * builds.length * INDEX_SHARE;
    }
    if (task.kind === "copy") {
      const table = task.piece.plan.table;
      const builds = this.#builds.get(table.name)?.length ?? 0;
      return task.piece.bytes + table.bytes * (builds * INDEX_SHARE + ANALYZE_SHARE);
    }
    const table = task.kind === "index" ? task.build.table : task.table;
    const share = task.kind === "index" ? INDEX_SHARE + ANALYZE_SHARE : ANALYZE_SHARE;
    return (this.#bytes.get(table) ?? 0) * share;
  }

  /**
   * Holds back the tasks on `tables`, which the structure step has not created yet, until they are
   * `created` (a batch until all of its tables are); call before the first `next`.
   *
   * @example
   * ```ts
   * declare const queue: CopyQueue;
   * queue.hold(["orders"]);
   * queue.created(["orders"]);
   * ```
   */
  hold(tables: Iterable<string>): void {
    const uncreated = new Set(tables);
    const ready = this.#ready.splice(0);
    for (const task of ready) {
      const on = tablesOf(task).filter((t) => uncreated.has(t));
      if (!on.length) {
        this.#ready.push(task);
        continue;
      }
      const waiting = { task, tables: on.length };
      for (const table of on) {
        this.#uncreated.set(table, [...this.#uncreated.get(table) ?? [], waiting]);
      }
    }
  }

  /**
   * The structure step created `tables`: the tasks held for them become ready.
   *
   * @example
   * ```ts
   * declare const queue: CopyQueue;
   * queue.created(["orders", "users"]);
   * ```
   */
  created(tables: Iterable<string>): void {
    for (const table of tables) {
      for (const waiting of this.#uncreated.get(table) ?? []) {
        if (--waiting.tables === 0) this.#ready.push(waiting.task);
      }
      this.#uncreated.delete(table);
    }
    this.#wake();
  }

  /**
   * The ready task that heads the longest chain. Waits while none is ready but running or held
   * tasks may make one ready; `undefined` once nothing is left.
   */
  async next(): Promise<CopyTask | undefined> {
    for (;;) {
      if (this.#closed) return undefined;
      if (this.#ready.length > 0) {
        let best = 0;
        for (let i = 1; i < this.#ready.length; i++) {
          if (this.#chain(this.#ready[i]) > this.#chain(this.#ready[best])) best = i;
        }
        this.#running++;
        return this.#ready.splice(best, 1)[0];
      }
      if (this.#running === 0 && this.#uncreated.size === 0) return undefined;
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
  }

  /** A task handed out by `next` finished: what it unblocks becomes ready. */
  done(task: CopyTask): void {
    this.#running--;
    if (task.kind === "copy") {
      const table = task.piece.plan.table.name;
      if (task.piece.part === 1) {
        for (const piece of this.#afterFirst.get(table) ?? []) {
          this.#ready.push({ kind: "copy", piece });
        }
        this.#afterFirst.delete(table);
      }
      const left = this.#piecesLeft.get(table)! - 1;
      this.#piecesLeft.set(table, left);
      if (left === 0) {
        const builds = this.#builds.get(table) ?? [];
        for (const build of builds) this.#ready.push({ kind: "index", build });
        if (builds.length === 0) this.#analyzeIfChosen(table);
      }
    } else if (task.kind === "index") {
      const left = this.#buildsLeft.get(task.build.table)! - 1;
      this.#buildsLeft.set(task.build.table, left);
      if (left === 0) this.#analyzeIfChosen(task.build.table);
    }
    this.#wake();
  }

  /** Ends the queue early (a worker failed): waiting and later `next` calls get `undefined`. */
  close(): void {
    this.#closed = true;
    this.#wake();
  }

  #analyzeIfChosen(table: string): void {
    if (this.#analyze.has(table)) this.#ready.push({ kind: "analyze", table });
  }

  #wake(): void {
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const resolve of waiting) resolve();
  }
}

/** The tables a task that starts a table's chain loads. */
function tablesOf(task: CopyTask): string[] {
  if (task.kind === "batch") return task.batch.pieces.map((p) => p.plan.table.name);
  if (task.kind === "copy") return [task.piece.plan.table.name];
  return [];
}

/** Seconds the workers spent on each kind of task. */
export type BusySeconds = Record<"copy" | "index" | "analyze", number>;

/**
 * Where the copy step's wall time went: the workers' seconds per kind of task, and their seconds
 * without one (waiting for the structure step to create their tables, for a table's data before
 * its index builds, or for a split table's first part).
 *
 * @example
 * ```ts
 * copyWork(2, 10, { copy: 14, index: 4, analyze: 0.5 });
 * // { workers: 2, seconds: 10, copying: 14, indexing: 4, analysing: 0.5, idle: 1.5 }
 * ```
 */
export function copyWork(workers: number, seconds: number, busy: BusySeconds): CopyWork {
  const idle = Math.max(0, workers * seconds - busy.copy - busy.index - busy.analyze);
  return {
    workers,
    seconds,
    copying: busy.copy,
    indexing: busy.index,
    analysing: busy.analyze,
    idle,
  };
}
