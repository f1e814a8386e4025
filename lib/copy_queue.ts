/**
 * The copy step's work, in the order its workers take it: the copy pieces, largest first; then,
 * as each table's last piece is loaded, that table's index builds; then, when its last index is
 * built, its `ANALYZE`. So indexes are built while other tables still copy, and no worker waits
 * for the slowest table before building anything. Pure scheduling: the workers do the I/O.
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

import type { CopyPiece, IndexBuild } from "./plan.ts";

/** One task of the copy step. */
export type CopyTask =
  | { kind: "copy"; piece: CopyPiece }
  | { kind: "index"; build: IndexBuild }
  | { kind: "analyze"; table: string };

/** The copy step's tasks; several workers take from it at once. */
export class CopyQueue {
  readonly #pieces: CopyPiece[];
  readonly #ready: CopyTask[] = [];
  /** Per table: pieces not loaded yet. */
  readonly #piecesLeft = new Map<string, number>();
  /** Per table: its index builds, waiting for its data, then the builds not finished yet. */
  readonly #builds = new Map<string, IndexBuild[]>();
  readonly #buildsLeft = new Map<string, number>();
  readonly #analyze: ReadonlySet<string>;
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
  ) {
    this.#pieces = [...pieces];
    for (const p of pieces) {
      const table = p.plan.table.name;
      this.#piecesLeft.set(table, (this.#piecesLeft.get(table) ?? 0) + 1);
    }
    for (const b of builds) {
      this.#builds.set(b.table, [...this.#builds.get(b.table) ?? [], b]);
      this.#buildsLeft.set(b.table, (this.#buildsLeft.get(b.table) ?? 0) + 1);
    }
    this.#analyze = analyze;
  }

  /**
   * The next task: a copy piece while any is left, else a ready build or `ANALYZE`. Waits while
   * none is ready but running tasks may make one ready; `undefined` once nothing is left.
   */
  async next(): Promise<CopyTask | undefined> {
    for (;;) {
      if (this.#closed) return undefined;
      const piece = this.#pieces.shift();
      const task: CopyTask | undefined = piece ? { kind: "copy", piece } : this.#ready.shift();
      if (task) {
        this.#running++;
        return task;
      }
      if (this.#running === 0) return undefined;
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
  }

  /** A task handed out by `next` finished: what it unblocks becomes ready. */
  done(task: CopyTask): void {
    this.#running--;
    if (task.kind === "copy") {
      const table = task.piece.plan.table.name;
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
