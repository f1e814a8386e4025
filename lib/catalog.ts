/**
 * Source introspection, read inside the job's snapshot: the tables and columns of the source
 * schema, and, for the chosen tables, everything their structure needs (sequences, types,
 * functions, partitions, indexes, constraints, extensions) as catalog OIDs, which is how the
 * `pg_dump` table of contents is narrowed.
 *
 * @example
 * ```ts
 * import { readSchema } from "./catalog.ts";
 * const schema = await readSchema(snapshot.conn, "public");
 * schema.tables.map((t) => t.name);
 * ```
 * @module
 */

import type { Conn } from "./connect.ts";
import { qualify, quoteLiteral, searchPath, setLocalSql } from "./sql.ts";
import { PG_CLASS, PG_CONSTRAINT, tocKey } from "./toc.ts";

const SYSTEM_SCHEMAS = ["pg_catalog", "information_schema", "pg_toast"];

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

/** A sequence the chosen tables use (owned, identity, or named by a column default). */
export interface Sequence {
  oid: number;
  name: string;
}

/** An extension whose objects (types, operators, functions) the chosen tables use. */
export interface Extension {
  name: string;
  /** Its schema on the source. */
  schema: string;
}

/** A foreign key of a chosen table. */
export interface ForeignKey {
  oid: number;
  name: string;
  table: string;
  tablePartitioned: boolean;
  columns: string[];
  refSchema: string;
  refTable: string;
  refColumns: string[];
  /** The referenced table is one of the chosen tables (or their partitions). */
  inJob: boolean;
  /** The source's key is validated (not `NOT VALID`): its rows have their parents. */
  validated: boolean;
  /** `pg_get_constraintdef` rendered with the source schema on the search path. */
  definition: string;
}

/** What the structure of the chosen tables consists of, as the dump's TOC identifies it. */
export interface Structure {
  /** `catalogOid:objectOid` of every object of the source schema to restore. */
  objects: Set<string>;
  sequences: Sequence[];
  extensions: Extension[];
  foreignKeys: ForeignKey[];
  /** Objects in other schemas the tables need that pg-xmat does not create (`type shared.money`). */
  outside: string[];
  /**
   * The source schema's other tables, views and foreign tables: left out of the dump, so it
   * neither locks them nor needs privileges on them.
   */
  unneeded: string[];
  /**
   * What the chosen tables need of the source schema's other tables and views, which the job does
   * not copy (`table acme.kid needs table "base"`): their structure cannot be restored without them.
   */
  missing: string[];
  /**
   * The chosen tables with extended statistics (`CREATE STATISTICS`, a post-data entry): they
   * are analysed after post-data, or the statistics would stay empty.
   */
  withStatistics: string[];
}

/**
 * Follows `pg_depend` from the chosen tables (and their partitions, defaults, constraints,
 * indexes, triggers, policies, rules, extended statistics and owned sequences) to every object
 * of the source schema they need, and records the extensions whose members they use. Tables are
 * never pulled in by dependency: only chosen tables are copied (see `Structure.missing`).
 */
export async function readStructure(
  conn: Conn,
  catalog: SchemaCatalog,
  chosen: readonly number[],
): Promise<Structure> {
  const roots = oidArray(chosen);
  const rows = await conn.unsafe(`
    WITH RECURSIVE
    rel AS (
      SELECT r AS oid FROM unnest(${roots}) r
      UNION SELECT t.relid FROM unnest(${roots}) r, pg_partition_tree(r) t
    ),
    owned(classid, objid) AS (
      SELECT 'pg_class'::regclass::oid, oid FROM rel
      UNION ALL SELECT 'pg_attrdef'::regclass, oid FROM pg_attrdef WHERE adrelid IN (SELECT oid FROM rel)
      UNION ALL SELECT 'pg_constraint'::regclass, oid FROM pg_constraint
                 WHERE conrelid IN (SELECT oid FROM rel) AND contype <> 'f'
      UNION ALL SELECT 'pg_class'::regclass, indexrelid FROM pg_index WHERE indrelid IN (SELECT oid FROM rel)
      UNION ALL SELECT 'pg_trigger'::regclass, oid FROM pg_trigger
                 WHERE tgrelid IN (SELECT oid FROM rel) AND NOT tgisinternal
      UNION ALL SELECT 'pg_policy'::regclass, oid FROM pg_policy WHERE polrelid IN (SELECT oid FROM rel)
      UNION ALL SELECT 'pg_statistic_ext'::regclass, oid FROM pg_statistic_ext
                 WHERE stxrelid IN (SELECT oid FROM rel)
      UNION ALL SELECT 'pg_rewrite'::regclass, oid FROM pg_rewrite
                 WHERE ev_class IN (SELECT oid FROM rel) AND rulename <> '_RETURN'
      UNION ALL SELECT d.classid, d.objid FROM pg_depend d JOIN pg_class s ON s.oid = d.objid
                 WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
                   AND d.refobjid IN (SELECT oid FROM rel) AND d.deptype IN ('a', 'i')
                   AND s.relkind = 'S'
    ),
    walk(classid, objid) AS (
      SELECT classid, objid FROM owned
      UNION
      SELECT d.refclassid, d.refobjid
        FROM walk w JOIN (
          SELECT classid, objid, refclassid, refobjid, deptype FROM pg_depend
          -- A domain needs its constraints: their CHECKs may call functions, and pg_dump
          -- writes a NOT VALID one as an entry of its own.
          UNION ALL SELECT 'pg_type'::regclass::oid, contypid, 'pg_constraint'::regclass::oid, oid,
                           'n'::"char"
                      FROM pg_constraint WHERE contypid <> 0
        ) d ON d.classid = w.classid AND d.objid = w.objid
       WHERE d.refobjid >= 16384 AND d.deptype IN ('n', 'a', 'i')
         AND d.refclassid NOT IN ('pg_namespace'::regclass, 'pg_extension'::regclass)
         AND NOT (d.refclassid = 'pg_class'::regclass
                  AND (SELECT relkind FROM pg_class WHERE oid = d.refobjid) IN ('r', 'p', 'v', 'm', 'f'))
         AND NOT EXISTS (SELECT 1 FROM pg_depend e
                          WHERE e.classid = w.classid AND e.objid = w.objid AND e.deptype = 'e')
    )
    -- pg_identify_object() quotes the schema's name where it needs quotes ("HRData").
    SELECT w.classid::int8 AS classid, w.objid::int8 AS objid, o.type, o.schema, o.identity,
           o.schema = quote_ident(${quoteLiteral(catalog.schema)}) AS in_schema,
           ow.classid IS NOT NULL AS owned,
           x.extname AS extension, xn.nspname AS extension_schema,
           -- Tables it cannot be created without, which the walk does not follow (a parent it
           -- inherits from, a table its policy reads, the table of an identity sequence).
           (SELECT json_agg(DISTINCT jsonb_build_object(
                     'schema', tn.nspname, 'table', t.relname,
                     'identity', format('%I.%I', tn.nspname, t.relname),
                     'kind', CASE t.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
                                            WHEN 'f' THEN 'foreign table' ELSE 'table' END))
              FROM pg_depend d JOIN pg_class t ON t.oid = d.refobjid
              JOIN pg_namespace tn ON tn.oid = t.relnamespace
             WHERE d.classid = w.classid AND d.objid = w.objid
               AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('n', 'i')
               AND t.relkind IN ('r', 'p', 'v', 'm', 'f')
               AND NOT EXISTS (SELECT 1 FROM rel WHERE rel.oid = t.oid))
             AS needs
      FROM walk w
     CROSS JOIN LATERAL pg_identify_object(w.classid, w.objid, 0) o
      LEFT JOIN pg_depend e ON e.classid = w.classid AND e.objid = w.objid AND e.deptype = 'e'
      LEFT JOIN pg_extension x ON x.oid = e.refobjid
      LEFT JOIN pg_namespace xn ON xn.oid = x.extnamespace
      -- A join, not a lookup per row: the walk and "owned" both grow with the tables.
      LEFT JOIN (SELECT DISTINCT classid, objid FROM owned) ow
             ON ow.classid = w.classid AND ow.objid = w.objid`);

  const objects = new Set<string>();
  const extensions = new Map<string, Extension>();
  const outside = new Set<string>();
  const missing = new Set<string>();
  for (const r of rows) {
    for (const t of r.needs ?? []) {
      if (t.schema === catalog.schema) {
        missing.add(`${r.type} ${r.identity} needs ${t.kind} ${JSON.stringify(t.table)}`);
      } else outside.add(`${t.kind} ${t.identity}`);
    }
    if (r.extension) extensions.set(r.extension, { name: r.extension, schema: r.extension_schema });
    // What belongs to a chosen table (a default, a trigger) may have no schema of its own.
    else if (r.owned || r.in_schema) {
      objects.add(tocKey(Number(r.classid), Number(r.objid)));
    } else if (
      r.schema && !SYSTEM_SCHEMAS.includes(r.schema) && r.type !== "schema" &&
      !r.identity.endsWith("[]") // an array type goes with its element type
    ) outside.add(`${r.type} ${r.identity}`);
  }

  const relOids =
    `(SELECT r FROM unnest(${roots}) r UNION SELECT t.relid FROM unnest(${roots}) r, pg_partition_tree(r) t)`;
  const seqRows = await conn.unsafe(`
    SELECT s.oid::int8 AS oid, s.relname AS name
      FROM pg_class s WHERE s.relkind = 'S' AND s.relnamespace = ${catalog.oid}
     ORDER BY s.relname`);
  const sequences: Sequence[] = seqRows
    .filter((s) => objects.has(tocKey(PG_CLASS, Number(s.oid))))
    .map((s) => ({ oid: Number(s.oid), name: s.name }));

  // Foreign keys are rendered with the source schema on the search path: the post-data step
  // runs them with the shadow schema there.
  await conn.unsafe(setLocalSql({ search_path: searchPath([catalog.schema]) }));
  const fkRows = await conn.unsafe(`
    SELECT c.oid::int8 AS oid, c.conname AS name, t.relname AS table, t.relkind = 'p' AS partitioned,
           rn.nspname AS ref_schema, r.relname AS ref_table,
           c.confrelid IN ${relOids} AS in_job, c.convalidated AS validated,
           (SELECT json_agg(a.attname ORDER BY k.i) FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
              JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n) AS columns,
           (SELECT json_agg(a.attname ORDER BY k.i) FROM unnest(c.confkey) WITH ORDINALITY k(n, i)
              JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n) AS ref_columns,
           pg_get_constraintdef(c.oid) AS definition
      FROM pg_constraint c
      JOIN pg_class t ON t.oid = c.conrelid
      JOIN pg_class r ON r.oid = c.confrelid
      JOIN pg_namespace rn ON rn.oid = r.relnamespace
     WHERE c.contype = 'f' AND c.conparentid = 0 AND c.conrelid IN ${relOids}
     ORDER BY t.relname, c.conname`);
  await conn.unsafe(setLocalSql({ search_path: "" }));
  const foreignKeys: ForeignKey[] = fkRows.map((f) => ({
    oid: Number(f.oid),
    name: f.name,
    table: f.table,
    tablePartitioned: f.partitioned,
    columns: f.columns,
    refSchema: f.ref_schema,
    refTable: f.ref_table,
    refColumns: f.ref_columns,
    inJob: f.in_job,
    validated: f.validated,
    definition: f.definition,
  }));
  for (const fk of foreignKeys.filter((f) => f.inJob)) objects.add(tocKey(PG_CONSTRAINT, fk.oid));
  const withStatistics = await conn.unsafe(`
    SELECT DISTINCT c.relname AS name FROM pg_statistic_ext s JOIN pg_class c ON c.oid = s.stxrelid
     WHERE s.stxrelid = ANY(${roots})`);
  const unneeded = await conn.unsafe(`
    SELECT relname AS name FROM pg_class
     WHERE relnamespace = ${catalog.oid} AND relkind IN ('r', 'p', 'v', 'm', 'f')
       AND oid NOT IN ${relOids}
     ORDER BY relname`);

  return {
    objects,
    sequences,
    extensions: [...extensions.values()].sort((a, b) => a.name.localeCompare(b.name)),
    foreignKeys,
    outside: [...outside].sort(),
    missing: [...missing].sort(),
    unneeded: unneeded.map((r) => r.name),
    withStatistics: withStatistics.map((r) => r.name),
  };
}

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
  sequences: readonly Sequence[],
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
