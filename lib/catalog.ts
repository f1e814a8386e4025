/**
 * Source introspection, read inside the job's snapshot: the tables and columns of the source
 * schema, and its sequences' values. What the chosen tables need besides is read by
 * `source_objects.ts`, their indexes by `indexes.ts`.
 *
 * @example
 * ```ts
 * import { readSchema } from "./catalog.ts";
 * import type { Snapshot } from "./snapshot.ts";
 * declare const snapshot: Snapshot;
 * const schema = await readSchema(snapshot.conn, "public");
 * schema?.tables.map((t) => t.name);
 * ```
 * @module
 */

import type { Conn } from "./connect.ts";
import { qualify } from "./sql.ts";

/** A column of a source table. */
export interface Column {
  name: string;
  /**
   * `format_type` of the column's type without its typmod, schema-qualified when needed: `bpchar`
   * and `"bit"` for `char(n)` and `bit(n)`, as `character` and `bit` would mean length 1.
   */
  type: string;
  typeOid: number;
  /** A stored generated column: computed on the target, never copied. */
  generated: boolean;
  /** `a` (ALWAYS) or `d` (BY DEFAULT) for an identity column, else "". */
  identity: string;
  /**
   * False when binary COPY would carry a type OID that may differ between servers (arrays and
   * composites of user-defined types), a user-defined base type's own binary format, or an object
   * OID (`regclass` and the other `reg*` types, which text gives by name).
   */
  binarySafe: boolean;
  /** `pg_type.typcategory` of the type, or of its domain's base type (`S` string, `N` numeric…). */
  category: string;
  /** `format_type` of the type, or of its domain's base type. */
  baseType: string;
  notNull: boolean;
}

/** A table (plain or partitioned) of the source schema. */
export interface Table {
  oid: number;
  name: string;
  partitioned: boolean;
  /** The OID of the parent when this table is a partition. */
  parentOid?: number;
  owner: string;
  /** Estimated rows (sum over partitions), -1 when the table was never analysed. */
  rows: number;
  /** Size on disk in bytes (sum over partitions). */
  bytes: number;
  /** Pages of the table's own heap (0 for a partitioned table): what a split divides. */
  pages: number;
  /** Row-level security is enabled on the table or one of its partitions. */
  rowSecurity: boolean;
  columns: Column[];
}

/** The source schema as the planner sees it. */
export interface SchemaCatalog {
  schema: string;
  oid: number;
  tables: Table[];
  /** The source server's `server_version_num` (e.g. 150004). */
  serverVersion: number;
}

/**
 * `'{1,2,3}'::oid[]`: a list of OIDs inlined as a literal (OIDs are integers read from the
 * catalog, so inlining is safe, and it avoids postgres.js array type lookups).
 *
 * @example
 * ```ts
 * oidArray([16385, 16390]); // "'{16385,16390}'::oid[]"
 * ```
 */
export function oidArray(oids: readonly number[]): string {
  if (!oids.every((o) => Number.isInteger(o) && o >= 0)) throw new TypeError("not an OID");
  return `'{${oids.join(",")}}'::oid[]`;
}

/** Reads the tables and columns of `schema`; `undefined` when the schema does not exist. */
export async function readSchema(conn: Conn, schema: string): Promise<SchemaCatalog | undefined> {
  const [ns] = await conn`
    SELECT oid::int8 AS oid, current_setting('server_version_num')::int AS version
      FROM pg_namespace WHERE nspname = ${schema}`;
  if (!ns) return undefined;
  const nsOid = Number(ns.oid);
  const serverVersion = Number(ns.version);
  const rows = await conn`
    SELECT c.oid::int8 AS oid, c.relname AS name, c.relkind = 'p' AS partitioned,
           (SELECT i.inhparent::int8 FROM pg_inherits i WHERE i.inhrelid = c.oid AND c.relispartition)
             AS parent,
           pg_get_userbyid(c.relowner) AS owner,
           -- Partitioned tables sum over their partitions; a plain table is its own sum.
           CASE WHEN c.relkind = 'p' THEN
             COALESCE((SELECT sum(GREATEST(p.reltuples, 0)) FROM pg_partition_tree(c.oid) t
                        JOIN pg_class p ON p.oid = t.relid WHERE t.isleaf), c.reltuples)
           ELSE c.reltuples END::float8 AS rows,
           CASE WHEN c.relkind = 'p' THEN
             COALESCE((SELECT sum(pg_table_size(t.relid)) FROM pg_partition_tree(c.oid) t),
                      pg_table_size(c.oid))
           ELSE pg_table_size(c.oid) END::int8 AS bytes,
           (pg_relation_size(c.oid) / current_setting('block_size')::int)::int8 AS pages,
           CASE WHEN c.relkind = 'p' THEN
             COALESCE((SELECT bool_or(p.relrowsecurity) FROM pg_partition_tree(c.oid) t
                        JOIN pg_class p ON p.oid = t.relid), c.relrowsecurity)
           ELSE c.relrowsecurity END AS row_security
      FROM pg_class c
     WHERE c.relnamespace = ${nsOid} AND c.relkind IN ('r', 'p')
     ORDER BY c.relname`;
  const tables: Table[] = rows.map((r) => ({
    oid: Number(r.oid),
    name: r.name,
    partitioned: r.partitioned,
    parentOid: r.parent === null ? undefined : Number(r.parent),
    owner: r.owner,
    rows: Number(r.rows),
    bytes: Number(r.bytes),
    pages: Number(r.pages),
    rowSecurity: r.row_security,
    columns: [],
  }));
  if (tables.length === 0) return { schema, oid: nsOid, tables, serverVersion };
  const byOid = new Map(tables.map((t) => [t.oid, t]));
  // A type's binary safety is decided once per type, not once per column: per column, the
  // recursive walk made this query take seconds on a thousand tables.
  const columns = await conn.unsafe(`
    WITH RECURSIVE cols AS (
      SELECT a.attrelid, a.attnum, a.attname, a.atttypid, a.attgenerated, a.attidentity,
             a.attnotnull
        FROM pg_attribute a
       WHERE a.attrelid = ANY(${oidArray([...byOid.keys()])}) AND a.attnum > 0
         AND NOT a.attisdropped
    ),
    ty(root, oid) AS (
      SELECT DISTINCT atttypid, atttypid FROM cols
      UNION SELECT ty.root, x FROM ty JOIN pg_type t ON t.oid = ty.oid,
        LATERAL (VALUES (t.typbasetype), (t.typelem),
                        ((SELECT rngsubtype FROM pg_range WHERE rngtypid = t.oid))) v(x)
       WHERE x IS NOT NULL AND x <> 0
    ),
    unsafe AS (
      SELECT DISTINCT ty.root FROM ty JOIN pg_type t ON t.oid = ty.oid
       WHERE (t.oid >= 16384 AND t.typtype IN ('b', 'c'))
          OR (t.oid < 16384 AND t.typname LIKE 'reg%')
    )
    SELECT c.attrelid::int8 AS rel, c.attname AS name, format_type(c.atttypid, -1) AS type,
           c.atttypid::int8 AS type_oid, c.attgenerated <> '' AS generated,
           c.attidentity AS identity, c.attnotnull AS not_null,
           COALESCE(bt.typcategory, t.typcategory) AS category,
           format_type(COALESCE(bt.oid, t.oid), -1) AS base_type,
           NOT EXISTS (SELECT 1 FROM unsafe u WHERE u.root = c.atttypid) AS binary_safe
      FROM cols c
      JOIN pg_type t ON t.oid = c.atttypid
      LEFT JOIN pg_type bt ON bt.oid = NULLIF(t.typbasetype, 0)
     ORDER BY c.attrelid, c.attnum`);
  for (const c of columns) {
    byOid.get(Number(c.rel))!.columns.push({
      name: c.name,
      type: c.type,
      typeOid: Number(c.type_oid),
      generated: c.generated,
      identity: c.identity,
      binarySafe: c.binary_safe,
      category: c.category,
      baseType: c.base_type,
      notNull: c.not_null,
    });
  }
  return { schema, oid: nsOid, tables, serverVersion };
}

/** A sequence's state as `setval` takes it. */
export interface SequenceValue {
  name: string;
  lastValue: string;
  isCalled: boolean;
}

/** Reads each sequence's `last_value` and `is_called` (sequences are not transactional). */
export async function readSequenceValues(
  conn: Conn,
  schema: string,
  sequences: readonly { name: string }[],
): Promise<SequenceValue[]> {
  const values: SequenceValue[] = [];
  for (const s of sequences) {
    const [row] = await conn.unsafe(
      `SELECT last_value::text AS v, is_called FROM ${qualify(schema, s.name)}`,
    );
    values.push({ name: s.name, lastValue: row.v, isCalled: row.is_called });
  }
  return values;
}
