/**
 * The catalog queries `source_objects.ts` reads the source schema's objects with, inside the
 * job's snapshot: the dependency walk from every root, the schema's views, sequences, foreign
 * keys, extended statistics, routines and casts. Pure: each function returns the query's text,
 * its OIDs and names inlined as literals (`oidArray`, `quoteLiteral`); the module that runs them
 * reads the rows.
 *
 * @example
 * ```ts
 * import { foreignKeysSql } from "./source_objects_sql.ts";
 * import type { Conn } from "./connect.ts";
 * declare const conn: Conn;
 * const keys = await conn.unsafe(foreignKeysSql([16390, 16402]));
 * ```
 * @module
 */

import { oidArray } from "./catalog_sql.ts";
import { quoteLiteral } from "./sql.ts";

/**
 * Every object of the source schema a job may bring, as roots of the walk: the chosen tables
 * (with their partitions), every view and materialized view, and every other object pg_dump
 * dumps for the schema (routines, types, operators and their classes and families, collations,
 * conversions, text search objects, sequences) but extension members and what is part of
 * another object (array types, a table's row type, a sequence owned by a table's column):
 * the common table expressions `rel`, `owned`, `objs` and `seeds` of `structureWalkSql`.
 *
 * @example
 * ```ts
 * rootsSql("'{16390}'::oid[]", 2200).includes("FROM unnest('{16390}'::oid[]) r"); // true
 * ```
 */
export function rootsSql(roots: string, ns: number): string {
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
 * Every object the walk reaches from each root (`rootsSql`) through `pg_depend` — never into a
 * table, view or foreign table, nor out of the schema's extensions — with its kind, identity,
 * schema (`in_schema`: it is `schema`, the source schema of OID `ns`), extension and the relations
 * it cannot be created without (`needs`).
 *
 * @example
 * ```ts
 * structureWalkSql([16390], 2200, "Shop").includes("quote_ident('Shop')"); // true
 * ```
 */
export function structureWalkSql(roots: readonly number[], ns: number, schema: string): string {
  return `
    WITH RECURSIVE ${rootsSql(oidArray(roots), ns)},
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
           o.schema = quote_ident(${quoteLiteral(schema)}) AS in_schema,
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
             ON ow.classid = n.classid AND ow.objid = n.objid`;
}

/**
 * The views, materialized views and foreign tables of schema `ns` but extension members.
 *
 * @example
 * ```ts
 * schemaRelationsSql(2200).includes("relnamespace = 2200"); // true
 * ```
 */
export function schemaRelationsSql(ns: number): string {
  return `
    SELECT oid::int8 AS oid, relname AS name, relispopulated AS populated,
           CASE relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
                        ELSE 'foreign table' END AS kind
      FROM pg_class c
     WHERE relnamespace = ${ns} AND relkind IN ('v', 'm', 'f')
       AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_class'::regclass
                         AND e.objid = c.oid AND e.deptype = 'e')
     ORDER BY relname`;
}

/**
 * The tables `roots` and the partitions of the partitioned ones, as `oid`.
 *
 * @example
 * ```ts
 * tablesWithPartitionsSql([16390]).includes("unnest('{16390}'::oid[])"); // true
 * ```
 */
export function tablesWithPartitionsSql(roots: readonly number[]): string {
  return `
    SELECT r::int8 AS oid FROM unnest(${oidArray(roots)}) r
    UNION SELECT t.relid::int8 FROM unnest(${
    oidArray(roots)
  }) r JOIN pg_class c ON c.oid = r AND c.relkind = 'p',
                  pg_partition_tree(r) t`;
}

/**
 * The sequences of schema `ns`, each with whether a table owns it (`OWNED BY`, identity).
 *
 * @example
 * ```ts
 * schemaSequencesSql(2200).includes("s.relnamespace = 2200"); // true
 * ```
 */
export function schemaSequencesSql(ns: number): string {
  return `
    SELECT s.oid::int8 AS oid, s.relname AS name,
           EXISTS (SELECT 1 FROM pg_depend d
                    WHERE d.classid = 'pg_class'::regclass AND d.objid = s.oid
                      AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')) AS owned
      FROM pg_class s WHERE s.relkind = 'S' AND s.relnamespace = ${ns}
     ORDER BY s.relname`;
}

/**
 * The foreign keys of `relations` (partitions' keys inherited from their parent left out), with
 * their columns, the referenced table, whether it is one of `relations` (`in_job`), and their
 * definition as the session's `search_path` renders it.
 *
 * @example
 * ```ts
 * foreignKeysSql([16390, 16402]).includes("c.conrelid = ANY('{16390,16402}'::oid[])"); // true
 * ```
 */
export function foreignKeysSql(relations: readonly number[]): string {
  return `
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
      LEFT JOIN unnest(${oidArray(relations)}) j(oid) ON j.oid = c.confrelid
     WHERE c.contype = 'f' AND c.conparentid = 0 AND c.conrelid = ANY(${oidArray(relations)})
     ORDER BY t.relname, c.conname`;
}

/**
 * The names of the tables `roots` that have extended statistics (`CREATE STATISTICS`).
 *
 * @example
 * ```ts
 * extendedStatisticsSql([16390]).includes("s.stxrelid = ANY('{16390}'::oid[])"); // true
 * ```
 */
export function extendedStatisticsSql(roots: readonly number[]): string {
  return `
    SELECT DISTINCT c.relname AS name FROM pg_statistic_ext s JOIN pg_class c ON c.oid = s.stxrelid
     WHERE s.stxrelid = ANY(${oidArray(roots)})`;
}

/**
 * The tables, views and foreign tables of schema `ns`, by OID and name.
 *
 * @example
 * ```ts
 * schemaRelationNamesSql(2200).includes("relnamespace = 2200"); // true
 * ```
 */
export function schemaRelationNamesSql(ns: number): string {
  return `
    SELECT oid::int8 AS oid, relname AS name FROM pg_class
     WHERE relnamespace = ${ns} AND relkind IN ('r', 'p', 'v', 'm', 'f')
     ORDER BY relname`;
}

/**
 * The routines `procs` with their kind, language, settings (`proconfig`) and body as text (empty
 * for a `BEGIN ATOMIC` one, from PostgreSQL 14 on, `serverVersion` being `server_version_num`).
 *
 * @example
 * ```ts
 * routinesSql([16500], 130000).includes("prosqlbody"); // false
 * ```
 */
export function routinesSql(procs: readonly number[], serverVersion: number): string {
  return `
    SELECT (pg_identify_object('pg_proc'::regclass, p.oid, 0)).identity, p.prokind AS kind,
           l.lanname AS language, COALESCE(p.proconfig, '{}') AS config,
           ${
    serverVersion >= 140000
      ? "CASE WHEN p.prosqlbody IS NULL THEN p.prosrc ELSE '' END"
      : "p.prosrc"
  }
             AS source
      FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
     WHERE p.oid = ANY(${oidArray(procs)})
     ORDER BY 1`;
}

/**
 * The user-defined casts that involve schema `ns` (a type or function of it), each with the
 * statement that creates it; pg_dump leaves casts out of a schema's dump.
 *
 * @example
 * ```ts
 * castsSql(2200).includes("2200 IN ((SELECT typnamespace"); // true
 * ```
 */
export function castsSql(ns: number): string {
  return `
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
       AND ${ns} IN ((SELECT typnamespace FROM pg_type WHERE oid = c.castsource),
                              (SELECT typnamespace FROM pg_type WHERE oid = c.casttarget),
                              (SELECT pronamespace FROM pg_proc WHERE oid = c.castfunc))
       AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_cast'::regclass
                         AND e.objid = c.oid AND e.deptype = 'e')
     ORDER BY 1`;
}
