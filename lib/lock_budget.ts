/**
 * How many locks one target transaction may take, and the packing of work into transactions
 * that stay under it. PostgreSQL keeps every lock a transaction holds until it ends, in one
 * shared table of about `max_locks_per_transaction × (max_connections +
 * max_prepared_transactions)` entries; a transaction that creates or drops every table of a
 * large schema runs out of it ("out of shared memory") on default settings, whatever the
 * server's memory. So the structure, post-data and drop work is cut into transactions that each
 * take a bounded share of that table. Pure functions, and the one read of the settings.
 *
 * @example
 * ```ts
 * import { lockBudget, packBatches } from "./lock_budget.ts";
 * const budget = lockBudget({ maxLocksPerTransaction: 64, maxConnections: 100, maxPreparedTransactions: 0 });
 * packBatches([{ locks: 3 }, { locks: 3 }, { locks: 3 }], (x) => x.locks, 6).length; // 2
 * ```
 * @module
 */

import type { Conn, Sql } from "./connect.ts";

/** The server settings that size the shared lock table. */
export interface LockSettings {
  maxLocksPerTransaction: number;
  maxConnections: number;
  maxPreparedTransactions: number;
}

/**
 * The query that reads `LockSettings` (one row: `locks`, `connections`, `prepared`).
 *
 * @example
 * ```ts
 * import type { Conn } from "./connect.ts";
 * declare const conn: Conn;
 * const [{ locks, connections, prepared }] = await conn.unsafe(LOCK_SETTINGS_SQL);
 * ```
 */
export const LOCK_SETTINGS_SQL = `SELECT current_setting('max_locks_per_transaction')::int AS locks,
          current_setting('max_connections')::int AS connections,
          current_setting('max_prepared_transactions')::int AS prepared`;

/**
 * The locks one of pg-xmat's transactions may take: a quarter of the shared lock table, so that
 * the job's other sessions and everyone else's keep room, and never less than one
 * transaction's own guaranteed share (`max_locks_per_transaction`).
 *
 * @example
 * ```ts
 * lockBudget({ maxLocksPerTransaction: 64, maxConnections: 100, maxPreparedTransactions: 0 }); // 1600
 * lockBudget({ maxLocksPerTransaction: 10, maxConnections: 20, maxPreparedTransactions: 0 }); // 50
 * ```
 */
export function lockBudget(s: LockSettings): number {
  const table = s.maxLocksPerTransaction * (s.maxConnections + s.maxPreparedTransactions);
  return Math.max(s.maxLocksPerTransaction, Math.floor(table / 4));
}

/**
 * Cuts `items` into consecutive batches, in order, whose weights add up to at most `budget` and of
 * at most `maxItems` items; an item heavier than the budget gets a batch of its own (one
 * statement's locks cannot be split).
 *
 * @example
 * ```ts
 * packBatches([1, 2, 3, 4], (n) => n, 5); // [[1, 2], [3], [4]]
 * packBatches([9, 1], (n) => n, 5); // [[9], [1]]
 * packBatches([], (n) => n, 5); // []
 * packBatches([1, 1, 1], (n) => n, 5, 2); // [[1, 1], [1]]
 * ```
 */
export function packBatches<T>(
  items: readonly T[],
  weight: (item: T) => number,
  budget: number,
  maxItems = Infinity,
): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let used = 0;
  for (const item of items) {
    const w = Math.max(1, weight(item));
    if (current.length && (used + w > budget || current.length >= maxItems)) {
      batches.push(current);
      current = [];
      used = 0;
    }
    current.push(item);
    used += w;
  }
  if (current.length) batches.push(current);
  return batches;
}

/**
 * The locks one transaction of a run may take on the server of `conn` (see `lockBudget`).
 *
 * @example
 * ```ts
 * import type { Conn } from "./connect.ts";
 * declare const conn: Conn;
 * await readLockBudget(conn); // 1600 on default settings
 * ```
 */
export async function readLockBudget(conn: Conn | Sql): Promise<number> {
  const [row] = await conn.unsafe(LOCK_SETTINGS_SQL);
  return lockBudget({
    maxLocksPerTransaction: row.locks,
    maxConnections: row.connections,
    maxPreparedTransactions: row.prepared,
  });
}
