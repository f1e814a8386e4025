/**
 * The copy step: workers, each with a source connection in the job's snapshot and a target
 * connection, take tasks from the copy queue (`copy_queue.ts`), the longest chain of work first:
 * the tables' pieces, moved by the COPY pump (`copy.ts`), each loaded table's index builds and
 * `ANALYZE`, and the small tables in batches, each one transaction (`copy_batch.ts`). The first
 * failure stops every worker and is the one reported.
 *
 * @example
 * ```ts
 * import { copyData } from "./copy.ts";
 * import { SPLIT_ABOVE } from "../plan.ts";
 * import type { JobContext } from "../job_context.ts";
 * declare const ctx: JobContext;
 * declare const input: Omit<CopyInput, "parallel" | "splitAbove" | "streams">;
 * const { tables, work } = await copyData(ctx, { ...input, parallel: 4, splitAbove: SPLIT_ABOVE, streams: 4 });
 * ```
 * @module
 */

import { type Conn, connectionLost, type Sql } from "../connect.ts";
import { type CopyProgress, copyTable } from "../copy.ts";
import { batchSmallTables, type CopyBatch } from "../copy_batch.ts";
import type { CreatedTables } from "../created_tables.ts";
import { type BusySeconds, CopyQueue, type CopyTask, copyWork } from "../copy_queue.ts";
import type { JobContext } from "../job_context.ts";
import { type CopyPiece, copyPieces, SMALL_TABLE, type SourcePlan } from "../plan.ts";
import { analyzeSql, truncateSql } from "../shadow.ts";
import { readLockBudget } from "../lock_budget.ts";
import { importSnapshot, type Snapshot } from "../snapshot.ts";
import { setLocalSql } from "../sql.ts";
import { FLUSH_STATS_SQL, MAY_FLUSH_STATS_SQL } from "../target_sql.ts";
import type { CopyWork, TableReport } from "../types.ts";

/** What the copy step needs. */
export interface CopyInput {
  source: Sql;
  target: Sql;
  /** The job's snapshot; closed once every worker imported it and the dump read it. */
  snapshot: Snapshot;
  plan: SourcePlan;
  /** The schema the tables are loaded into. */
  shadow: string;
  /** Workers at most. */
  parallel: number;
  /** The smallest table that may be split among workers (bytes on disk). */
  splitAbove: number;
  /** Copies the machines can run at full speed at once (see `copyStreams`). */
  streams: number;
  /**
   * The shadow's tables as the structure step creates them, when the copy overlaps that step: a
   * table's tasks wait for the transaction that completes it. Without it, every table exists.
   */
  created?: CreatedTables;
}

/** A table being copied, possibly in several pieces at once. */
interface TableCopy {
  progress: CopyProgress;
  started: number;
  /** Pieces not finished yet. */
  left: number;
  /** Rows the finished pieces stored. */
  rows: number;
}

/** What a copy worker holds: its two connections (the source's in the snapshot). */
interface Worker {
  source: Conn;
  target: Conn;
  signal: AbortSignal;
  /** Cancel the worker's statement on that side, from another connection. */
  cancelSource: () => Promise<void>;
  cancelTarget: () => Promise<void>;
  /** The target session may run `FLUSH_STATS_SQL` (before an `ANALYZE`). */
  flushStats: boolean;
}

/**
 * Copies every table into the shadow schema; returns one report per table, as they ended, and
 * where the workers' time went.
 *
 * @example
 * ```ts
 * import type { JobContext } from "../job_context.ts";
 * declare const ctx: JobContext;
 * declare const input: CopyInput;
 * const { tables, work } = await copyData(ctx, input);
 * tables.map((r) => `${r.table}: ${r.rows} rows`);
 * work.idle; // workers' seconds without a task
 * ```
 */
export async function copyData(
  ctx: JobContext,
  input: CopyInput,
): Promise<{ tables: TableReport[]; work: CopyWork }> {
  const { plan } = input;
  const pieces = copyPieces(plan.tables, {
    workers: input.parallel,
    splitAbove: input.splitAbove,
    freezeAbove: SMALL_TABLE,
    streams: input.streams,
    tidRangeScan: plan.catalog.serverVersion >= 140000,
    schema: input.shadow,
  });
  const workers = Math.min(input.parallel, pieces.length);
  // A worker's transaction keeps the locks of every table it read (`readLocks`: the table, its
  // indexes, its TOAST table): past its share of the source's lock budget, it ends and imports
  // the snapshot again, which then must stay exported for the whole copy.
  const readShare = Math.floor(await readLockBudget(input.snapshot.conn) / workers);
  const keepSnapshot = pieces.reduce((n, p) => n + p.plan.table.readLocks, 0) > readShare;
  const copying = new Map<string, TableCopy>();
  const reports: TableReport[] = [];
  // The first failure stops the other workers; it is the one reported.
  const stop = new AbortController();
  const signal = ctx.signal ? AbortSignal.any([ctx.signal, stop.signal]) : stop.signal;
  let first: { error: unknown } | undefined;
  const started = performance.now();
  const busy: BusySeconds = { copy: 0, index: 0, analyze: 0 };
  const snapshot = {
    rowSecurity: ctx.config.rowSecurity,
    maskKey: input.plan.maskKey,
    jit: !ctx.config.subset,
  };
  // A privilege of the job's role: the same for every worker's session.
  const [{ flush: flushStats }] = await input.target.unsafe(MAY_FLUSH_STATS_SQL);
  const start = async (): Promise<Worker> => {
    const source = await input.source.reserve();
    const target = await input.target.reserve();
    const [{ pid }] = await source`SELECT pg_backend_pid() AS pid`;
    const [{ pid: targetPid }] = await target`SELECT pg_backend_pid() AS pid`;
    // From the pools' spare connections, so they work while every worker is busy.
    const cancelSource = async () => void await input.source`SELECT pg_cancel_backend(${pid})`;
    const cancelTarget = async () =>
      void await input.target`SELECT pg_cancel_backend(${targetPid})`;
    await importSnapshot(source, input.snapshot.id, snapshot);
    return { source, target, signal, cancelSource, cancelTarget, flushStats };
  };
  // Every worker holds its connections and the snapshot before any takes a task: one still
  // connecting once the others had copied every table would fail the job for a source session
  // it no longer needs. (On a failure, clean-up closes the pools and the connections in them.)
  const ready = await Promise.all(Array.from({ length: workers }, start));
  // The structure step plans its transactions once pg_dump has read the snapshot.
  const createdBy = await input.created?.plan(signal);
  // Every reader holds the snapshot now: the exporting transaction is not left idle for the
  // whole copy, where a timeout or an administrator could end its session.
  if (!keepSnapshot) await input.snapshot.close();
  const loads = batchSmallTables(pieces, plan.indexBuilds, plan.analyzedInCopy, {
    workers,
    locks: Math.floor(await readLockBudget(input.target) / workers),
    reads: readShare,
    createdBy,
  });
  const queue = new CopyQueue(loads.pieces, loads.builds, plan.analyzedInCopy, loads.batches);
  const fail = (error: unknown) => {
    first ??= { error };
    stop.abort();
    queue.close();
  };
  if (input.created && createdBy) release(queue, input.created, createdBy, signal).catch(fail);
  const worker = async (w: Worker) => {
    const { source, target } = w;
    try {
      let read = 0;
      for (let task = await queue.next(); task && !signal.aborted; task = await queue.next()) {
        if (task.kind === "copy" || task.kind === "batch") {
          const locks = task.kind === "copy"
            ? task.piece.plan.table.readLocks
            : task.batch.pieces.reduce((n, p) => n + p.plan.table.readLocks, 0);
          if (read > 0 && read + locks > readShare) {
            read = 0;
            await source.unsafe("COMMIT");
            await importSnapshot(source, input.snapshot.id, snapshot);
          }
          read += locks;
        }
        const taskStarted = performance.now();
        if (task.kind === "batch") {
          reports.push(...await copyBatch(ctx, task.batch, copying, w, input.shadow, busy));
        } else {
          if (task.kind === "copy") {
            const report = await copyPiece(ctx, task.piece, copying, w, input.shadow);
            if (report) reports.push(report);
          } else await buildOrAnalyze(ctx, task, w, input.shadow);
          busy[task.kind] += (performance.now() - taskStarted) / 1000;
        }
        queue.done(task);
      }
      try {
        await source.unsafe("COMMIT");
      } catch (error) {
        // Read-only, and every row it read was copied: a session ended since loses nothing.
        if (!connectionLost(error)) throw error;
      }
      // The rows of the tables analysed in post-data are counted before that ANALYZE too.
      if (w.flushStats) await target.unsafe(FLUSH_STATS_SQL);
      source.release();
      target.release();
    } catch (error) {
      // The connections may be dead or mid-COPY: they are not used again, and clean-up
      // closes them.
      fail(error);
    }
  };
  await Promise.all(ready.map(worker));
  if (keepSnapshot) await input.snapshot.close();
  if (first) throw first.error;
  ctx.signal?.throwIfAborted();
  return { tables: reports, work: copyWork(workers, (performance.now() - started) / 1000, busy) };
}

/**
 * Holds back every table's tasks until the structure step's transaction that completes it has
 * committed; throws when `signal` aborts first (the structure step failed).
 */
async function release(
  queue: CopyQueue,
  created: CreatedTables,
  createdBy: ReadonlyMap<string, number>,
  signal: AbortSignal,
): Promise<void> {
  const byTransaction = Map.groupBy(createdBy.keys(), (table) => createdBy.get(table)!);
  queue.hold(createdBy.keys());
  for (let committed = 0, last = Math.max(-1, ...byTransaction.keys()); committed <= last;) {
    const now = await created.after(committed, signal);
    for (let t = committed; t < now; t++) queue.created(byTransaction.get(t) ?? []);
    committed = now;
  }
}

/**
 * An index build or an `ANALYZE` of a loaded table, on the worker's target connection (`inBatch`:
 * in a batch's transaction). The index is created as PostgreSQL rendered it: with an empty
 * search_path. An `ANALYZE` of its own comes after `FLUSH_STATS_SQL`.
 */
async function buildOrAnalyze(
  ctx: JobContext,
  task: Exclude<CopyTask, { kind: "copy" | "batch" }>,
  w: Worker,
  shadow: string,
  inBatch = false,
): Promise<void> {
  const table = task.kind === "index" ? task.build.table : task.table;
  const index = task.kind === "index" ? { index: task.build.index } : {};
  const started = performance.now();
  ctx.emit({ kind: "work-start", table, ...index });
  const onAbort = () => w.cancelTarget().catch(() => {});
  w.signal.addEventListener("abort", onAbort, { once: true });
  try {
    if (task.kind === "index" && inBatch) await w.target.unsafe(task.build.create);
    else if (task.kind === "index") {
      await w.target.unsafe("BEGIN");
      await w.target.unsafe(setLocalSql({ search_path: "" }));
      await w.target.unsafe(task.build.create);
      await w.target.unsafe("COMMIT");
    } else {
      if (w.flushStats && !inBatch) await w.target.unsafe(FLUSH_STATS_SQL);
      await w.target.unsafe(analyzeSql(shadow, table));
    }
    const seconds = (performance.now() - started) / 1000;
    ctx.emit({ kind: "work-end", table, ...index, seconds });
  } catch (error) {
    throw ctx.fail({ step: "post-data", table, side: "target" }, error);
  } finally {
    w.signal.removeEventListener("abort", onAbort);
  }
}

/**
 * Copies a batch of small tables in one target transaction: each loaded (without `FREEZE`), then
 * their index builds (with an empty search_path, as PostgreSQL rendered them); its tables' rows
 * appear in the shadow together, at its commit. Then their `ANALYZE`, in one more transaction.
 * Its seconds count in `busy` as copying, building indexes and analysing.
 */
async function copyBatch(
  ctx: JobContext,
  batch: CopyBatch,
  copying: Map<string, TableCopy>,
  w: Worker,
  shadow: string,
  busy: BusySeconds,
): Promise<TableReport[]> {
  let since = performance.now();
  const lap = (kind: keyof BusySeconds) => {
    const now = performance.now();
    busy[kind] += (now - since) / 1000;
    since = now;
  };
  const reports: TableReport[] = [];
  await w.target.unsafe("BEGIN");
  for (const piece of batch.pieces) {
    reports.push((await copyPiece(ctx, piece, copying, w, shadow))!);
  }
  lap("copy");
  await w.target.unsafe(setLocalSql({ search_path: "" }));
  for (const build of batch.builds) {
    await buildOrAnalyze(ctx, { kind: "index", build }, w, shadow, true);
  }
  await w.target.unsafe("COMMIT");
  lap("index");
  // ANALYZE after the commit, once the server has counted the rows (`FLUSH_STATS_SQL`): in the
  // loading transaction, the rows were counted after it, as changes since, and autovacuum
  // analysed every table again.
  if (batch.analyze.length > 0) {
    if (w.flushStats) await w.target.unsafe(FLUSH_STATS_SQL);
    await w.target.unsafe("BEGIN");
    for (const table of batch.analyze) {
      await buildOrAnalyze(ctx, { kind: "analyze", table }, w, shadow, true);
    }
    await w.target.unsafe("COMMIT");
  }
  lap("analyze");
  return reports;
}

/**
 * Copies one piece: a whole table (loaded frozen: truncated and copied in one target
 * transaction) or one part of a split table. A table's events come once, when its first piece
 * starts and its last ends; its report is returned by its last piece.
 */
async function copyPiece(
  ctx: JobContext,
  piece: CopyPiece,
  copying: Map<string, TableCopy>,
  w: Worker,
  shadow: string,
): Promise<TableReport | undefined> {
  const { table } = piece.plan;
  let copy = copying.get(table.name);
  if (!copy) {
    copy = {
      progress: { rows: 0, bytes: 0 },
      started: performance.now(),
      left: piece.parts,
      rows: 0,
    };
    copying.set(table.name, copy);
    ctx.emit({
      kind: "table-start",
      table: table.name,
      estimatedRows: table.rows,
      estimatedBytes: table.bytes,
      progress: copy.progress,
    });
  }
  try {
    if (piece.freeze) {
      await w.target.unsafe("BEGIN");
      await w.target.unsafe(truncateSql(shadow, table.name));
    }
    const result = await copyTable(w.source, w.target, piece, {
      progress: copy.progress,
      signal: w.signal,
      cancelSource: w.cancelSource,
    });
    if (piece.freeze) await w.target.unsafe("COMMIT");
    copy.rows += result.rows;
    if (--copy.left > 0) return undefined;
    const report: TableReport = {
      table: table.name,
      rows: copy.rows,
      bytes: copy.progress.bytes,
      seconds: (performance.now() - copy.started) / 1000,
    };
    ctx.emit({ kind: "table-end", ...report });
    return report;
  } catch (error) {
    throw ctx.fail({ step: "copy", table: table.name }, error);
  }
}
