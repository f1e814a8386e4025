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
import { chooseObjects, type Routine, type SchemaRelation } from "./schema_objects.ts";
import { PG_CLASS, PG_CONSTRAINT, tocKey } from "./toc.ts";
import type { LeftOutObject, ObjectsMode } from "./types.ts";

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

/** What the structure of the job consists of, as the dump's TOC identifies it. */
export interface Structure {
  /** `catalogOid:objectOid` of every object of the source schema to restore. */
  objects: Set<string>;
  sequences: Sequence[];
  extensions: Extension[];
  foreignKeys: ForeignKey[];
  /** Objects in other schemas the job needs that pg-xmat does not create (`type shared.money`). */
  outside: string[];
  /**
   * The source schema's tables, views and foreign tables the job does not bring: left out of the
   * dump, so it neither locks them nor needs privileges on them.
   */
  unneeded: string[];
  /**
   * What the chosen tables need of the source schema's other relations, which the job does not
   * bring (`table acme.kid needs table "base"`): their structure cannot be restored without them.
   */
  missing: string[];
  /**
   * The chosen tables with extended statistics (`CREATE STATISTICS`, a post-data entry): they
   * are analysed after post-data, or the statistics would stay empty.
   */
  withStatistics: string[];
  /** The views and materialized views the job brings. */
  relations: SchemaRelation[];
  /** The routines the job brings (for their `search_path` and bodies). */
  routines: Routine[];
  /** Objects of the source schema the job does not bring, and why. */
  leftOut: LeftOutObject[];
  /** `catalogOid:objectOid` of what the dump holds that is left out on purpose (see `leftOut`). */
  explained: Set<string>;
}

/**
 * Every object of the source schema a job may bring, as roots of the walk: the chosen tables
 * (with their partitions), every view and materialized view, and every other object pg_dump
 * dumps for the schema (routines, types, operators and their classes and families, collations,
 * conversions, text search objects, sequences) but extension members and what is part of
 * another object (array types, a table's row type, a sequence owned by a table's column).
 */
function rootsSql(roots: string, ns: number): string {
  return `
    rel(root, oid) AS (
      SELECT r, r FROM unnest(${roots}) r
      UNION SELECT r, t.relid FROM unnest(${roots}) r, pg_partition_tree(r) t
      UNION ALL SELECT c.oid, c.oid FROM pg_class c
                 WHERE c.relnamespace = ${ns} AND c.relkind IN ('v', 'm')
                   AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_class'::regclass
                                     AND e.objid = c.oid AND e.deptype = 'e')
    ),
    owned(root, classid, objid) AS (
      SELECT root, 'pg_class'::regclass::oid, oid FROM rel
      UNION ALL SELECT r.root, 'pg_attrdef'::regclass, a.oid FROM pg_attrdef a JOIN rel r ON r.oid = a.adrelid
      UNION ALL SELECT r.root, 'pg_constraint'::regclass, c.oid FROM pg_constraint c
                  JOIN rel r ON r.oid = c.conrelid WHERE c.contype <> 'f'
      UNION ALL SELECT r.root, 'pg_class'::regclass, i.indexrelid FROM pg_index i JOIN rel r ON r.oid = i.indrelid
      UNION ALL SELECT r.root, 'pg_trigger'::regclass, t.oid FROM pg_trigger t
                  JOIN rel r ON r.oid = t.tgrelid WHERE NOT t.tgisinternal
      UNION ALL SELECT r.root, 'pg_policy'::regclass, p.oid FROM pg_policy p JOIN rel r ON r.oid = p.polrelid
      UNION ALL SELECT r.root, 'pg_statistic_ext'::regclass, s.oid FROM pg_statistic_ext s
                  JOIN rel r ON r.oid = s.stxrelid
      -- A view's query is its _RETURN rule: what the view reads, the rule depends on.
      UNION ALL SELECT r.root, 'pg_rewrite'::regclass, w.oid FROM pg_rewrite w JOIN rel r ON r.oid = w.ev_class
      UNION ALL SELECT r.root, d.classid, d.objid FROM pg_depend d JOIN pg_class s ON s.oid = d.objid
                  JOIN rel r ON r.oid = d.refobjid
                 WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
                   AND d.deptype IN ('a', 'i') AND s.relkind = 'S'
    ),
    objs(classid, objid) AS (
      SELECT 'pg_proc'::regclass::oid, oid FROM pg_proc WHERE pronamespace = ${ns}
      UNION ALL SELECT 'pg_type'::regclass, t.oid FROM pg_type t
                 WHERE t.typnamespace = ${ns}
                   AND (t.typrelid = 0 OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
      UNION ALL SELECT 'pg_operator'::regclass, oid FROM pg_operator WHERE oprnamespace = ${ns}
      UNION ALL SELECT 'pg_opclass'::regclass, oid FROM pg_opclass WHERE opcnamespace = ${ns}
      UNION ALL SELECT 'pg_opfamily'::regclass, oid FROM pg_opfamily WHERE opfnamespace = ${ns}
      UNION ALL SELECT 'pg_collation'::regclass, oid FROM pg_collation WHERE collnamespace = ${ns}
      UNION ALL SELECT 'pg_conversion'::regclass, oid FROM pg_conversion WHERE connamespace = ${ns}
      UNION ALL SELECT 'pg_ts_config'::regclass, oid FROM pg_ts_config WHERE cfgnamespace = ${ns}
      UNION ALL SELECT 'pg_ts_dict'::regclass, oid FROM pg_ts_dict WHERE dictnamespace = ${ns}
      UNION ALL SELECT 'pg_ts_parser'::regclass, oid FROM pg_ts_parser WHERE prsnamespace = ${ns}
      UNION ALL SELECT 'pg_ts_template'::regclass, oid FROM pg_ts_template WHERE tmplnamespace = ${ns}
      UNION ALL SELECT 'pg_class'::regclass, oid FROM pg_class WHERE relnamespace = ${ns} AND relkind = 'S'
    ),
    seeds(root, classid, objid) AS (
      SELECT '1259:' || root, classid, objid FROM owned
      UNION ALL SELECT o.classid || ':' || o.objid, o.classid, o.objid FROM objs o
       WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = o.classid AND d.objid = o.objid
                           AND (d.deptype IN ('e', 'i')
                                -- A sequence OWNED BY a column is part of its table.
                                OR (d.deptype = 'a' AND d.refclassid = 'pg_class'::regclass)))
    )`;
}

/**
 * Follows `pg_depend` from every root (see `rootsSql`: the chosen tables with their partitions,
 * defaults, constraints, indexes, triggers, policies, rules, extended statistics and owned
 * sequences; the views; every other object of the schema) to every object it needs, and lets
 * `chooseObjects` decide, per the job's mode, what comes along. Tables are never pulled in by
 * dependency: only chosen tables are copied (see `Structure.missing`).
 */
export async function readStructure(
  conn: Conn,
  catalog: SchemaCatalog,
  chosen: readonly number[],
  mode: ObjectsMode = "tables",
): Promise<Structure> {
  const roots = oidArray(chosen);
  const rows = await conn.unsafe(`
    WITH RECURSIVE ${rootsSql(roots, catalog.oid)},
    walk(root, classid, objid) AS (
      SELECT root, classid, objid FROM seeds
      UNION
      SELECT w.root, d.refclassid, d.refobjid
        FROM walk w JOIN (
          SELECT classid, objid, refclassid, refobjid, deptype FROM pg_depend
          -- A domain needs its constraints: their CHECKs may call functions, and pg_dump
          -- writes a NOT VALID one as an entry of its own.
          UNION ALL SELECT 'pg_type'::regclass::oid, contypid, 'pg_constraint'::regclass::oid, oid,
                           'n'::"char"
                      FROM pg_constraint WHERE contypid <> 0
          -- A composite type needs its attributes' types, which its relation depends on.
          UNION ALL SELECT 'pg_type'::regclass, t.oid, 'pg_class'::regclass, t.typrelid, 'n'
                      FROM pg_type t JOIN pg_class c ON c.oid = t.typrelid AND c.relkind = 'c'
          -- An operator family needs its operators and support functions.
          UNION ALL SELECT 'pg_opfamily'::regclass, amopfamily, 'pg_operator'::regclass, amopopr, 'n'
                      FROM pg_amop
          UNION ALL SELECT 'pg_opfamily'::regclass, amprocfamily, 'pg_proc'::regclass, amproc, 'n'
                      FROM pg_amproc
        ) d ON d.classid = w.classid AND d.objid = w.objid
       WHERE d.refobjid >= 16384 AND d.deptype IN ('n', 'a', 'i')
         AND d.refclassid NOT IN ('pg_namespace'::regclass, 'pg_extension'::regclass)
         AND NOT (d.refclassid = 'pg_class'::regclass
                  AND (SELECT relkind FROM pg_class WHERE oid = d.refobjid) IN ('r', 'p', 'v', 'm', 'f'))
         AND NOT EXISTS (SELECT 1 FROM pg_depend e
                          WHERE e.classid = w.classid AND e.objid = w.objid AND e.deptype = 'e')
    ),
    nodes AS (SELECT classid, objid, array_agg(DISTINCT root) AS roots FROM walk GROUP BY 1, 2)
    SELECT n.classid::int8 AS classid, n.objid::int8 AS objid, n.roots,
           CASE WHEN n.classid = 'pg_type'::regclass
                THEN CASE (SELECT typtype FROM pg_type WHERE oid = n.objid)
                     WHEN 'd' THEN 'domain' WHEN 'e' THEN 'enum type' WHEN 'c' THEN 'composite type'
                     WHEN 'r' THEN 'range type' ELSE o.type END
                ELSE o.type END AS type,
           o.schema, o.identity,
           -- pg_identify_object() quotes the schema's name where it needs quotes ("HRData").
           o.schema = quote_ident(${quoteLiteral(catalog.schema)}) AS in_schema,
           ow.classid IS NOT NULL AS owned,
           x.extname AS extension, xn.nspname AS extension_schema,
           -- Relations it cannot be created without, which the walk does not follow (what a view
           -- reads, a parent it inherits from, a table its policy reads, the table of an identity
           -- sequence, its own relation).
           (SELECT json_agg(DISTINCT jsonb_build_object(
                     'oid', t.oid, 'schema', tn.nspname, 'name', t.relname,
                     'identity', format('%I.%I', tn.nspname, t.relname),
                     'kind', CASE t.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
                                            WHEN 'f' THEN 'foreign table' ELSE 'table' END))
              FROM pg_depend d JOIN pg_class t ON t.oid = d.refobjid
              JOIN pg_namespace tn ON tn.oid = t.relnamespace
             WHERE d.classid = n.classid AND d.objid = n.objid
               AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('n', 'i')
               AND t.relkind IN ('r', 'p', 'v', 'm', 'f'))
             AS needs
      FROM nodes n
     CROSS JOIN LATERAL pg_identify_object(n.classid, n.objid, 0) o
      LEFT JOIN pg_depend e ON e.classid = n.classid AND e.objid = n.objid AND e.deptype = 'e'
      LEFT JOIN pg_extension x ON x.oid = e.refobjid
      LEFT JOIN pg_namespace xn ON xn.oid = x.extnamespace
      -- A join, not a lookup per row: the walk and "owned" both grow with the objects.
      LEFT JOIN (SELECT DISTINCT classid, objid FROM owned) ow
             ON ow.classid = n.classid AND ow.objid = n.objid`);
  const relationRows = await conn.unsafe(`
    SELECT oid::int8 AS oid, relname AS name, relispopulated AS populated,
           CASE relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
                        ELSE 'foreign table' END AS kind
      FROM pg_class c
     WHERE relnamespace = ${catalog.oid} AND relkind IN ('v', 'm', 'f')
       AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_class'::regclass
                         AND e.objid = c.oid AND e.deptype = 'e')
     ORDER BY relname`);
  // The chosen tables and their partitions: the queries below join this list.
  const tableRows = await conn.unsafe(`
    SELECT r::int8 AS oid FROM unnest(${roots}) r
    UNION SELECT t.relid::int8 FROM unnest(${roots}) r JOIN pg_class c ON c.oid = r AND c.relkind = 'p',
                  pg_partition_tree(r) t`);
  const rels = oidArray(tableRows.map((r) => Number(r.oid)));
  const choice = chooseObjects({
    schema: catalog.schema,
    mode,
    tables: {
      roots: new Set(chosen.map((oid) => tocKey(PG_CLASS, oid))),
      relations: new Set(tableRows.map((r) => tocKey(PG_CLASS, Number(r.oid)))),
    },
    relations: relationRows.map((r) => ({
      key: tocKey(PG_CLASS, Number(r.oid)),
      oid: Number(r.oid),
      name: r.name,
      kind: r.kind,
      populated: r.populated,
    })),
    nodes: rows.map((r) => ({
      key: `${r.classid}:${r.objid}`,
      type: r.type,
      schema: r.schema,
      inSchema: r.in_schema,
      identity: r.identity,
      owned: r.owned,
      extension: r.extension ? { name: r.extension, schema: r.extension_schema } : undefined,
      needs: (r.needs ?? []).map((t: Record<string, string | number>) => ({
        key: tocKey(PG_CLASS, Number(t.oid)),
        schema: t.schema,
        name: t.name,
        kind: t.kind,
        identity: t.identity,
      })),
      roots: r.roots,
    })),
  });
  const objects = choice.objects;
  const brought = new Set([
    ...tableRows.map((r) => Number(r.oid)),
    ...choice.relations.map((r) => r.oid),
  ]);

  const seqRows = await conn.unsafe(`
    SELECT s.oid::int8 AS oid, s.relname AS name,
           EXISTS (SELECT 1 FROM pg_depend d
                    WHERE d.classid = 'pg_class'::regclass AND d.objid = s.oid
                      AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')) AS owned
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
           j.oid IS NOT NULL AS in_job, c.convalidated AS validated,
           (SELECT json_agg(a.attname ORDER BY k.i) FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
              JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n) AS columns,
           (SELECT json_agg(a.attname ORDER BY k.i) FROM unnest(c.confkey) WITH ORDINALITY k(n, i)
              JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n) AS ref_columns,
           pg_get_constraintdef(c.oid) AS definition
      FROM pg_constraint c
      JOIN pg_class t ON t.oid = c.conrelid
      JOIN pg_class r ON r.oid = c.confrelid
      JOIN pg_namespace rn ON rn.oid = r.relnamespace
      -- Joins, not a subquery per key: a schema may have thousands of keys.
      LEFT JOIN unnest(${rels}) j(oid) ON j.oid = c.confrelid
     WHERE c.contype = 'f' AND c.conparentid = 0 AND c.conrelid = ANY(${rels})
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
    SELECT oid::int8 AS oid, relname AS name FROM pg_class
     WHERE relnamespace = ${catalog.oid} AND relkind IN ('r', 'p', 'v', 'm', 'f')
     ORDER BY relname`);
  const procs = [...objects].filter((k) => k.startsWith("1255:")).map((k) => Number(k.slice(5)));
  const routineRows = procs.length === 0 ? [] : await conn.unsafe(`
    SELECT (pg_identify_object('pg_proc'::regclass, p.oid, 0)).identity, p.prokind AS kind,
           l.lanname AS language, COALESCE(p.proconfig, '{}') AS config,
           ${
    catalog.serverVersion >= 140000
      ? "CASE WHEN p.prosqlbody IS NULL THEN p.prosrc ELSE '' END"
      : "p.prosrc"
  }
             AS source
      FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
     WHERE p.oid = ANY(${oidArray(procs)})
     ORDER BY 1`);

  // Casts belong to no schema: pg_dump leaves them out of a schema's dump.
  const casts = await conn.unsafe(`
    SELECT format('(%s AS %s)', format_type(c.castsource, NULL), format_type(c.casttarget, NULL))
             AS name,
           format('CREATE CAST (%s AS %s) %s', format_type(c.castsource, NULL),
                  format_type(c.casttarget, NULL),
                  CASE c.castmethod WHEN 'f' THEN 'WITH FUNCTION ' || c.castfunc::regprocedure::text
                                    WHEN 'i' THEN 'WITH INOUT' ELSE 'WITHOUT FUNCTION' END
                  || CASE c.castcontext WHEN 'i' THEN ' AS IMPLICIT' WHEN 'a' THEN ' AS ASSIGNMENT'
                                        ELSE '' END) AS statement
      FROM pg_cast c
     WHERE c.oid >= 16384
       AND ${catalog.oid} IN ((SELECT typnamespace FROM pg_type WHERE oid = c.castsource),
                              (SELECT typnamespace FROM pg_type WHERE oid = c.casttarget),
                              (SELECT pronamespace FROM pg_proc WHERE oid = c.castfunc))
       AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_cast'::regclass
                         AND e.objid = c.oid AND e.deptype = 'e')
     ORDER BY 1`);
  const leftOut: LeftOutObject[] = [
    ...choice.leftOut,
    ...casts.map((c) => ({
      type: "cast",
      name: c.name,
      reason: "a cast belongs to no schema, and pg_dump leaves it out of a schema's dump",
      todo: `create it on the target after the run, naming the target schema: ${c.statement}`,
    })),
  ];

  return {
    objects,
    sequences,
    extensions: choice.extensions,
    foreignKeys,
    outside: choice.outside,
    missing: choice.missing,
    unneeded: unneeded.filter((r) => !brought.has(Number(r.oid))).map((r) => r.name),
    withStatistics: withStatistics.map((r) => r.name),
    relations: choice.relations,
    routines: routineRows.map((r) => ({
      identity: r.identity,
      kind: r.kind,
      language: r.language,
      config: r.config,
      source: r.source ?? "",
    })),
    leftOut,
    explained: new Set([
      ...choice.leftOutKeys,
      // A sequence owned by a table the job does not copy is part of that table.
      ...seqRows.filter((r) => r.owned).map((r) => tocKey(PG_CLASS, Number(r.oid))),
      ...foreignKeys.filter((f) => !f.inJob).map((f) => tocKey(PG_CONSTRAINT, f.oid)),
    ]),
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
