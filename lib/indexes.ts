/**
 * The indexes of the chosen tables, read in the job's snapshot, and which of them the copy step
 * can build apart from pg_dump's post-data script, as soon as their table is loaded.
 *
 * @example
 * ```ts
 * import { readIndexes } from "./indexes.ts";
 * import type { Snapshot } from "./snapshot.ts";
 * declare const snapshot: Snapshot;
 * (await readIndexes(snapshot.conn, [16390])).filter((i) => i.apart).length;
 * ```
 * @module
 */

import { oidArray } from "./catalog.ts";
import type { Conn } from "./connect.ts";

/** An index of a chosen table. */
export interface Index {
  oid: number;
  name: string;
  table: string;
  unique: boolean;
  /** `pg_get_indexdef`, rendered with an empty search_path. */
  definition: string;
  /** How `definition` starts: `CREATE [UNIQUE] INDEX name ON schema.table USING `. */
  prefix: string;
  /** The primary key or unique constraint the index implements. */
  constraint?: {
    oid: number;
    name: string;
    type: "p" | "u";
    deferrable: boolean;
    deferred: boolean;
  };
  /**
   * It can be built apart from pg_dump's post-data script, on the shadow table by name: an index
   * (or the index of a primary key or unique constraint named like it) of a plain table, using
   * only built-in types, functions, operator classes and collations, and nothing else pg_dump
   * writes with it (`CLUSTER ON`, `REPLICA IDENTITY`, per-column statistics).
   */
  apart: boolean;
}

/**
 * Reads the indexes of the tables `oids` (in the snapshot); see `Index.apart`.
 *
 * @example
 * ```ts
 * import type { Snapshot } from "./snapshot.ts";
 * declare const snapshot: Snapshot;
 * const indexes = await readIndexes(snapshot.conn, [16390]);
 * indexes.filter((i) => i.apart).map((i) => i.name); // ["orders_pkey", "orders_placed_at"]
 * ```
 */
export async function readIndexes(conn: Conn, oids: readonly number[]): Promise<Index[]> {
  const rows = await conn.unsafe(`
    SELECT i.indexrelid::int8 AS oid, x.relname AS name, t.relname AS table,
           i.indisunique AS unique, pg_get_indexdef(i.indexrelid) AS definition,
           format('CREATE %sINDEX %I ON %I.%I USING ', CASE WHEN i.indisunique THEN 'UNIQUE ' END,
                  x.relname, n.nspname, t.relname) AS prefix,
           k.oid::int8 AS constraint_oid, k.conname AS constraint_name,
           k.contype AS constraint_type, k.condeferrable AS deferrable, k.condeferred AS deferred,
           (t.relkind = 'r' AND NOT t.relispartition AND i.indisvalid AND i.indisready
            AND NOT i.indisclustered AND NOT i.indisreplident
            AND (k.oid IS NULL OR (k.contype IN ('p', 'u') AND k.conname = x.relname))
            AND NOT EXISTS (SELECT 1 FROM pg_attribute a
                             WHERE a.attrelid = i.indexrelid AND a.attstattarget > 0)
            AND NOT EXISTS (
              SELECT 1 FROM pg_depend d
               WHERE d.classid = 'pg_class'::regclass AND d.objid = i.indexrelid
                 AND d.refobjid >= 16384
                 AND NOT (d.refclassid = 'pg_class'::regclass AND d.refobjid = i.indrelid)
                 AND NOT (d.refclassid = 'pg_constraint'::regclass
                          AND d.refobjid = COALESCE(k.oid, 0)))) AS apart
      FROM pg_index i
      JOIN pg_class x ON x.oid = i.indexrelid
      JOIN pg_class t ON t.oid = i.indrelid
      JOIN pg_namespace n ON n.oid = t.relnamespace
      LEFT JOIN pg_constraint k ON k.conindid = i.indexrelid AND k.conrelid = i.indrelid
                                AND k.contype IN ('p', 'u', 'x')
     WHERE i.indrelid = ANY(${oidArray(oids)})
     ORDER BY t.relname, x.relname`);
  return rows.map((r) => ({
    oid: Number(r.oid),
    name: r.name,
    table: r.table,
    unique: r.unique,
    definition: r.definition,
    prefix: r.prefix,
    constraint: r.constraint_oid === null || r.constraint_type === "x" ? undefined : {
      oid: Number(r.constraint_oid),
      name: r.constraint_name,
      type: r.constraint_type,
      deferrable: r.deferrable,
      deferred: r.deferred,
    },
    apart: r.apart,
  }));
}
