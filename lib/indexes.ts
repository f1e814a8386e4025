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

import { indexesSql } from "./catalog_sql.ts";
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
  const rows = await conn.unsafe(indexesSql(oids));
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
