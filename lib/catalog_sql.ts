/**
 * The catalog queries the plan step reads the source with, inside the job's snapshot (the
 * walk over the schema's other objects is `source_objects_sql.ts`'s): the schema, its tables
 * and columns, sequence values, indexes, large object columns, row triggers, and the values and
 * volatility a subset's `where` depends on. Pure: each returns the query's text, names quoted
 * and OIDs inlined as literals, or `$1` where it takes a parameter; the modules that run them
 * read the rows.
 *
 * @example
 * ```ts
 * import { SCHEMA_SQL, tablesSql } from "./catalog_sql.ts";
 * import type { Conn } from "./connect.ts";
 * declare const conn: Conn;
 * const [ns] = await conn.unsafe(SCHEMA_SQL, ["public"]);
 * const tables = await conn.unsafe(tablesSql(Number(ns.oid)));
 * ```
 * @module
 */

import { qualify, quoteIdent, quoteLiteral } from "./sql.ts";

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

/**
 * The OID of the schema named `$1`, and the server's `server_version_num`; no row when there is
 * no such schema.
 *
 * @example
 * ```ts
 * import type { Conn } from "./connect.ts";
 * declare const conn: Conn;
 * const [ns] = await conn.unsafe(SCHEMA_SQL, ["public"]);
 * ```
 */
export const SCHEMA_SQL = `
    SELECT oid::int8 AS oid, current_setting('server_version_num')::int AS version
      FROM pg_namespace WHERE nspname = $1`;

/**
 * The locks a query reading the table `rel` (a `pg_class` alias) keeps until its transaction
 * ends: the table, each of its indexes (the planner opens them all), and its TOAST table and
 * TOAST index.
 */
const READ_LOCKS = (rel: string) =>
  `(1 + (SELECT count(*) FROM pg_index x WHERE x.indrelid = ${rel}.oid)
      + CASE WHEN ${rel}.reltoastrelid <> 0 THEN 2 ELSE 0 END)`;

/**
 * The tables of schema `ns` (plain and partitioned, partitions included), with their parent,
 * owner, estimated rows, the locks a read of them keeps and whether row-level security is on
 * (for a partitioned table: the sums over its partitions). Catalog rows only: nothing here opens
 * or locks a table, so a table another session holds (`VACUUM FULL`, `ALTER TABLE`) never makes
 * it wait. The partition trees are walked in `pg_inherits`, as `pg_partition_tree` would lock
 * every partition; sizes are read apart, for the tables a job copies (`tableSizesSql`).
 *
 * @example
 * ```ts
 * tablesSql(2200).includes("c.relnamespace = 2200"); // true
 * ```
 */
export function tablesSql(ns: number): string {
  return `
    WITH RECURSIVE tree(root, relid) AS (
      SELECT c.oid, c.oid FROM pg_class c WHERE c.relnamespace = ${ns} AND c.relkind = 'p'
      UNION ALL
      SELECT tree.root, i.inhrelid FROM tree JOIN pg_inherits i ON i.inhparent = tree.relid
    ),
    -- Partitioned tables sum over their partitions (rows over the leaves, which hold them).
    sums AS (
      SELECT tree.root, sum(GREATEST(p.reltuples, 0)) FILTER (WHERE p.relkind <> 'p') AS rows,
             sum(${READ_LOCKS("p")}) AS read_locks, bool_or(p.relrowsecurity) AS row_security
        FROM tree JOIN pg_class p ON p.oid = tree.relid
       GROUP BY tree.root
    )
    SELECT c.oid::int8 AS oid, c.relname AS name, c.relkind = 'p' AS partitioned,
           (SELECT i.inhparent::int8 FROM pg_inherits i WHERE i.inhrelid = c.oid AND c.relispartition)
             AS parent,
           pg_get_userbyid(c.relowner) AS owner,
           COALESCE(s.rows, c.reltuples)::float8 AS rows,
           COALESCE(s.read_locks, ${READ_LOCKS("c")})::int8 AS read_locks,
           COALESCE(s.row_security, c.relrowsecurity) AS row_security
      FROM pg_class c LEFT JOIN sums s ON s.root = c.oid
     WHERE c.relnamespace = ${ns} AND c.relkind IN ('r', 'p')
     ORDER BY c.relname`;
}

/**
 * The size on disk of `tables` (for a partitioned table, the sum over its partitions) and the
 * pages of each one's own heap. Reading a size opens the table: it waits for a lock another
 * session holds on it, so only the tables a job copies are asked.
 *
 * @example
 * ```ts
 * tableSizesSql([16390]).includes("c.oid = ANY('{16390}'::oid[])"); // true
 * ```
 */
export function tableSizesSql(tables: readonly number[]): string {
  return `
    SELECT c.oid::int8 AS oid,
           CASE WHEN c.relkind = 'p' THEN
             COALESCE((SELECT sum(pg_table_size(t.relid)) FROM pg_partition_tree(c.oid) t),
                      pg_table_size(c.oid))
           ELSE pg_table_size(c.oid) END::int8 AS bytes,
           (pg_relation_size(c.oid) / current_setting('block_size')::int)::int8 AS pages
      FROM pg_class c
     WHERE c.oid = ANY(${oidArray(tables)})`;
}

/**
 * The other sessions that hold, or wait for, an `ACCESS EXCLUSIVE` lock (the one mode a read
 * waits for) on one of `tables` or their partitions, as a person would look them up.
 *
 * @example
 * ```ts
 * tableLockersSql([16390]).includes("'{16390}'::oid[]"); // true
 * ```
 */
export function tableLockersSql(tables: readonly number[]): string {
  return `
    WITH RECURSIVE tree(root, relid) AS (
      SELECT t, t FROM unnest(${oidArray(tables)}) t
      UNION ALL
      SELECT tree.root, i.inhrelid FROM tree JOIN pg_inherits i ON i.inhparent = tree.relid
    )
    SELECT DISTINCT l.pid, a.application_name AS app, l.granted, c.relname AS table,
           -- The clock's time: now() is when the reader's own transaction (the snapshot's) began.
           extract(epoch FROM clock_timestamp() - COALESCE(a.xact_start, a.backend_start))::float8
             AS seconds
      FROM pg_locks l
      JOIN tree ON tree.relid = l.relation
      JOIN pg_class c ON c.oid = tree.root
      LEFT JOIN pg_stat_activity a ON a.pid = l.pid
     WHERE l.locktype = 'relation' AND l.mode = 'AccessExclusiveLock'
       AND l.pid <> pg_backend_pid()
       AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
     ORDER BY c.relname, l.pid`;
}

/**
 * The columns of `tables`, with their type, generated and identity kind, NOT NULL, type
 * category and base type, and whether binary COPY may carry them (no user-defined base or
 * composite type and no `reg*` type anywhere in their type).
 *
 * @example
 * ```ts
 * columnsSql([16390]).includes("a.attrelid = ANY('{16390}'::oid[])"); // true
 * ```
 */
export function columnsSql(tables: readonly number[]): string {
  return `
    WITH RECURSIVE cols AS (
      SELECT a.attrelid, a.attnum, a.attname, a.atttypid, a.attgenerated, a.attidentity,
             a.attnotnull
        FROM pg_attribute a
       WHERE a.attrelid = ANY(${oidArray(tables)}) AND a.attnum > 0
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
     ORDER BY c.attrelid, c.attnum`;
}

/**
 * A sequence's `last_value` (as text) and `is_called`.
 *
 * @example
 * ```ts
 * sequenceValueSql("Shop", "order_id_seq");
 * // 'SELECT last_value::text AS v, is_called FROM "Shop"."order_id_seq"'
 * ```
 */
export function sequenceValueSql(schema: string, sequence: string): string {
  return `SELECT last_value::text AS v, is_called FROM ${qualify(schema, sequence)}`;
}

/**
 * The indexes of `tables`, with their definition, the `CREATE INDEX … USING ` prefix it starts
 * with, their constraint, and whether the copy step can build them apart (`apart`: a valid
 * index of a plain table, its constraint named as the index, nothing else depending on it).
 *
 * @example
 * ```ts
 * indexesSql([16390]).includes("i.indrelid = ANY('{16390}'::oid[])"); // true
 * ```
 */
export function indexesSql(tables: readonly number[]): string {
  return `
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
     WHERE i.indrelid = ANY(${oidArray(tables)})
     ORDER BY t.relname, x.relname`;
}

/**
 * Whether the database has any large object.
 *
 * @example
 * ```ts
 * import type { Conn } from "./connect.ts";
 * declare const conn: Conn;
 * const [{ any }] = await conn.unsafe(LARGE_OBJECTS_SQL);
 * ```
 */
export const LARGE_OBJECTS_SQL = "SELECT EXISTS (SELECT 1 FROM pg_largeobject_metadata) AS any";

/**
 * The columns of `tables` of type `oid` (or a domain over it), which may hold large object OIDs.
 *
 * @example
 * ```ts
 * oidColumnsSql([16390]).includes("a.attrelid = ANY('{16390}'::oid[])"); // true
 * ```
 */
export function oidColumnsSql(tables: readonly number[]): string {
  return `
    SELECT a.attrelid::int8 AS rel, a.attname AS name
      FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
     WHERE a.attrelid = ANY(${oidArray(tables)}) AND a.attnum > 0
       AND NOT a.attisdropped AND a.attgenerated = ''
       AND (t.oid = 'oid'::regtype OR t.typbasetype = 'oid'::regtype)
     ORDER BY a.attrelid, a.attnum`;
}

/**
 * Whether a value of `column` of `schema`.`table` names a large object (`refers`).
 *
 * @example
 * ```ts
 * largeObjectRefsSql("shop", "Docs", "body").includes('FROM "shop"."Docs" t'); // true
 * ```
 */
export function largeObjectRefsSql(schema: string, table: string, column: string): string {
  return `SELECT EXISTS (SELECT 1 FROM ${qualify(schema, table)} t
                    JOIN pg_largeobject_metadata m ON m.oid = t.${quoteIdent(column)}::oid)
     AS refers`;
}

/**
 * The row triggers of `tables` with their function's name and source, whether it is built in,
 * their arguments (`tgargs`, escaped) and their table's columns.
 *
 * @example
 * ```ts
 * rowTriggersSql([16390]).includes("g.tgrelid = ANY('{16390}'::oid[])"); // true
 * ```
 */
export function rowTriggersSql(tables: readonly number[]): string {
  return `
    SELECT c.relname AS table, g.tgname AS trigger, p.proname AS function, p.prosrc AS source,
           (p.pronamespace = 'pg_catalog'::regnamespace) AS builtin,
           encode(g.tgargs, 'escape') AS args,
           (SELECT json_agg(a.attname ORDER BY a.attnum) FROM pg_attribute a
             WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns
      FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid JOIN pg_proc p ON p.oid = g.tgfoid
     WHERE g.tgrelid = ANY(${oidArray(tables)}) AND NOT g.tgisinternal
       AND (g.tgtype & 1) = 1
     ORDER BY 1, 2`;
}

/**
 * The values of the transaction-time functions `names` (`now` as `now()`, the others as
 * keywords such as `current_date`) as text, each in a column of its name.
 *
 * @example
 * ```ts
 * transactionTimesSql(["now", "current_date"]);
 * // "SELECT now()::text AS now, current_date::text AS current_date"
 * ```
 */
export function transactionTimesSql(names: readonly string[]): string {
  return `SELECT ${names.map((n) => `${n === "now" ? "now()" : n}::text AS ${n}`).join(", ")}`;
}

/**
 * Which of the functions `names` are volatile (any function of that name).
 *
 * @example
 * ```ts
 * volatileFunctionsSql(["random", "it's"]).endsWith("proname IN ('random', 'it''s')"); // true
 * ```
 */
export function volatileFunctionsSql(names: readonly string[]): string {
  return `SELECT DISTINCT proname AS name FROM pg_catalog.pg_proc
     WHERE provolatile = 'v' AND proname IN (${names.map(quoteLiteral).join(", ")})`;
}
