/**
 * The objects of the source schema a job brings, read inside the job's snapshot: for the chosen
 * tables, everything their structure needs (sequences, types, functions, partitions, indexes,
 * constraints, extensions), and with `objects: all` or `dependent` the schema's other objects,
 * as catalog OIDs, which is how the `pg_dump` table of contents is narrowed.
 *
 * @example
 * ```ts
 * import { readStructure } from "./source_objects.ts";
 * import type { SchemaCatalog } from "./catalog.ts";
 * import type { Snapshot } from "./snapshot.ts";
 * declare const snapshot: Snapshot, catalog: SchemaCatalog;
 * const structure = await readStructure(snapshot.conn, catalog, [16390]);
 * structure.foreignKeys.filter((fk) => !fk.inJob).map((fk) => fk.name);
 * ```
 * @module
 */

import { oidArray, type SchemaCatalog } from "./catalog.ts";
import type { Conn } from "./connect.ts";
import { type Routine } from "./routines.ts";
import { chooseObjects, type SchemaRelation } from "./schema_objects.ts";
import { quoteLiteral, searchPath, setLocalSql } from "./sql.ts";
import { PG_CLASS, PG_CONSTRAINT, tocKey } from "./toc.ts";
import type { LeftOutObject, ObjectsMode } from "./types.ts";

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
