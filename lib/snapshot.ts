/**
 * The job's one source snapshot: a `REPEATABLE READ READ ONLY` transaction exports it, and
 * `pg_dump --snapshot` and every copy worker import it, so all tables are read as of one
 * moment. The exporting transaction stays open until every reader has imported it.
 *
 * @example
 * ```ts
 * import { exportSnapshot, importSnapshot } from "./snapshot.ts";
 * import type { Sql } from "./connect.ts";
 * declare const source: Sql;
 * const snapshot = await exportSnapshot(source);
 * const worker = await source.reserve();
 * await importSnapshot(worker, snapshot.id, { rowSecurity: false });
 * ```
 * @module
 */

import type { Conn, Sql } from "./connect.ts";
import { MASK_KEY_SETTING } from "./mask.ts";
import { boundLockWaitSql, quoteLiteral, rowSecuritySql, setLocalSql } from "./sql.ts";

/** An exported snapshot and the connection whose transaction holds it. */
export interface Snapshot {
  id: string;
  /** Inside the exporting transaction; catalog reads of the job run here. */
  conn: Conn;
  /**
   * Cancels the statement the exporting transaction runs, from another connection of the pool
   * (a read waiting for a lock does not end when its socket is closed).
   */
  cancel(): Promise<void>;
  /** Ends the exporting transaction and returns the connection (once; later calls do nothing). */
  close(): Promise<void>;
}

/**
 * How long a read of the source waits for a table another session holds (`VACUUM FULL`,
 * `ALTER TABLE`, `LOCK TABLE`): the exporting transaction's `lock_timeout`, and pg_dump's
 * `--lock-wait-timeout`.
 *
 * @example
 * ```ts
 * SOURCE_LOCK_WAIT_MS / 1000; // 30 (s)
 * ```
 */
export const SOURCE_LOCK_WAIT_MS = 30_000;

/**
 * Snapshot ids look like `00000003-0000001B-1`; anything else is refused before it is inlined
 * into `SET TRANSACTION SNAPSHOT` (which takes no parameters).
 *
 * @example
 * ```ts
 * isSnapshotId("00000003-0000001B-1"); // true
 * isSnapshotId("x'; DROP TABLE t; --"); // false
 * ```
 */
export function isSnapshotId(id: string): boolean {
  return /^[0-9A-F]+-[0-9A-F]+(-[0-9]+)?$/i.test(id);
}

const BEGIN = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";

/**
 * Opens the exporting transaction. Its `search_path` is empty, so every name the catalog reads
 * render (`format_type`) is schema-qualified. JIT is off in it: the planner guesses a thousand
 * rows for each `unnest` and `pg_partition_tree` of the catalog reads, and compiling them took
 * longer (1.2 s for 60 tables) than running them (50 ms). Its lock waits last at most
 * `SOURCE_LOCK_WAIT_MS` (or the session's shorter `lock_timeout`). `sql` keeps a connection
 * spare for `cancel`.
 *
 * @example
 * ```ts
 * import type { Sql } from "./connect.ts";
 * declare const source: Sql;
 * const snapshot = await exportSnapshot(source);
 * try { snapshot.id; } finally { await snapshot.close(); }
 * ```
 */
export async function exportSnapshot(sql: Sql): Promise<Snapshot> {
  const conn = await sql.reserve();
  try {
    await conn.unsafe(BEGIN);
    await conn.unsafe(setLocalSql({ search_path: "", jit: "off" }));
    await conn.unsafe(boundLockWaitSql(SOURCE_LOCK_WAIT_MS));
    const [{ id, pid }] = await conn.unsafe(
      "SELECT pg_export_snapshot() AS id, pg_backend_pid() AS pid",
    );
    let open = true;
    return {
      id,
      conn,
      cancel: async () => void await sql`SELECT pg_cancel_backend(${pid})`,
      close: async () => {
        if (!open) return;
        open = false;
        await conn.unsafe("COMMIT").catch(() => {});
        conn.release();
      },
    };
  } catch (error) {
    await conn.unsafe("ROLLBACK").catch(() => {});
    conn.release();
    throw error;
  }
}

/** Options of `importSnapshot`. */
export interface ImportOptions {
  /** Read through row-level security policies instead of failing where they would filter. */
  rowSecurity: boolean;
  /**
   * The key the masks read (`mask_key.ts`), set for the transaction. It goes as a bind
   * parameter: no statement's text (`pg_stat_activity`, a statement log) holds it.
   */
  maskKey?: string;
  /**
   * False: JIT off. A subset's query is planned on guesses (a recursive CTE) whose cost makes
   * PostgreSQL compile it: measured, 8.6 s of compiling for a query that runs in 37 ms.
   */
  jit?: boolean;
}

/**
 * Starts a transaction on `conn` that sees the exported snapshot.
 *
 * @example
 * ```ts
 * import type { Conn } from "./connect.ts";
 * declare const worker: Conn;
 * await importSnapshot(worker, "00000003-0000001B-1", { rowSecurity: false });
 * ```
 */
export async function importSnapshot(
  conn: Conn,
  id: string,
  options: ImportOptions,
): Promise<void> {
  if (!isSnapshotId(id)) throw new TypeError(`not a snapshot id: ${id}`);
  await conn.unsafe(BEGIN);
  await conn.unsafe(`SET TRANSACTION SNAPSHOT ${quoteLiteral(id)}`);
  await conn.unsafe(rowSecuritySql(options.rowSecurity));
  if (options.jit === false) await conn.unsafe(setLocalSql({ jit: "off" }));
  // COPY's text is written in the source's settings and read in the target's: a date style,
  // interval style or float precision set on the source database would change the values.
  // `DateStyle = ISO` keeps the session's day/month order for the job's own date literals.
  await conn.unsafe(
    setLocalSql({ DateStyle: "ISO", IntervalStyle: "postgres", extra_float_digits: "3" }),
  );
  if (options.maskKey !== undefined) {
    await conn`SELECT set_config(${MASK_KEY_SETTING}, ${options.maskKey}, true)`;
  }
}
