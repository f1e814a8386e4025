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
import {
  columnsSql,
  SCHEMA_SQL,
  sequenceValueSql,
  tableLockersSql,
  tableSizesSql,
  tablesSql,
} from "./catalog_sql.ts";
import { hasSqlState } from "./errors.ts";

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
  /**
   * Size on disk in bytes (sum over partitions): read for the tables a job copies
   * (`readTableSizes`), 0 until then.
   */
  bytes: number;
  /** Pages of the table's own heap (0 for a partitioned table): what a split divides. */
  pages: number;
  /**
   * Locks a query reading the table keeps on the source until its transaction ends: the table,
   * each of its indexes (the planner opens them all) and its TOAST table and index; for a
   * partitioned table, those of every partition too.
   */
  readLocks: number;
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
 * Reads the tables and columns of `schema`; `undefined` when the schema does not exist. Catalog
 * rows only: no table is opened, so none that another session locks makes it wait.
 *
 * @example
 * ```ts
 * import type { Snapshot } from "./snapshot.ts";
 * declare const snapshot: Snapshot;
 * const catalog = await readSchema(snapshot.conn, "public");
 * catalog?.tables.map((t) => `${t.name}: ${t.columns.length} columns`);
 * ```
 */
export async function readSchema(conn: Conn, schema: string): Promise<SchemaCatalog | undefined> {
  const [ns] = await conn.unsafe(SCHEMA_SQL, [schema]);
  if (!ns) return undefined;
  const nsOid = Number(ns.oid);
  const serverVersion = Number(ns.version);
  const rows = await conn.unsafe(tablesSql(nsOid));
  const tables: Table[] = rows.map((r) => ({
    oid: Number(r.oid),
    name: r.name,
    partitioned: r.partitioned,
    parentOid: r.parent === null ? undefined : Number(r.parent),
    owner: r.owner,
    rows: Number(r.rows),
    bytes: 0,
    pages: 0,
    readLocks: Number(r.read_locks),
    rowSecurity: r.row_security,
    columns: [],
  }));
  if (tables.length === 0) return { schema, oid: nsOid, tables, serverVersion };
  const byOid = new Map(tables.map((t) => [t.oid, t]));
  // A type's binary safety is decided once per type, not once per column: per column, the
  // recursive walk made this query take seconds on a thousand tables.
  const columns = await conn.unsafe(columnsSql([...byOid.keys()]));
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

/** A table that another session kept locked while the job waited to read it. */
export interface LockedTable {
  table: string;
  /** The sessions holding or waiting for its `ACCESS EXCLUSIVE` lock, as a person looks them up. */
  holders: string[];
  /** How long the read waited: the transaction's `lock_timeout`, as the server shows it. */
  waited: string;
}

/**
 * Reads the sizes and pages of `tables` (the ones a job copies) into them, in one query. Reading
 * a size opens the table, so it waits for a lock another session holds, at most the
 * transaction's `lock_timeout`; then the table and who holds it are returned (the transaction
 * is usable again), else `undefined`.
 *
 * @example
 * ```ts
 * import type { Snapshot } from "./snapshot.ts";
 * declare const snapshot: Snapshot;
 * const catalog = (await readSchema(snapshot.conn, "public"))!;
 * const locked = await readTableSizes(snapshot.conn, catalog.tables);
 * if (locked) throw new Error(`table "${locked.table}" is locked: ${locked.holders.join("; ")}`);
 * ```
 */
export async function readTableSizes(
  conn: Conn,
  tables: readonly Table[],
): Promise<LockedTable | undefined> {
  const byOid = new Map(tables.map((t) => [t.oid, t]));
  await conn.unsafe("SAVEPOINT sizes");
  try {
    for (const r of await conn.unsafe(tableSizesSql([...byOid.keys()]))) {
      const table = byOid.get(Number(r.oid))!;
      table.bytes = Number(r.bytes);
      table.pages = Number(r.pages);
    }
  } catch (error) {
    if (!hasSqlState(error, "55P03")) throw error;
    await conn.unsafe("ROLLBACK TO SAVEPOINT sizes");
    return await lockedTable(conn, tables);
  }
  await conn.unsafe("RELEASE SAVEPOINT sizes");
  return undefined;
}

/**
 * After a read of the transaction on `conn` gave up waiting for a lock (`lock_timeout`, and
 * the transaction usable again): the first of `tables` (or their partitions) another session
 * holds, or waits for, in `ACCESS EXCLUSIVE` mode, and who; `table` is "" when none is any
 * more.
 *
 * @example
 * ```ts
 * import type { Snapshot } from "./snapshot.ts";
 * declare const snapshot: Snapshot;
 * const catalog = (await readSchema(snapshot.conn, "public"))!;
 * const { table, holders } = await lockedTable(snapshot.conn, catalog.tables);
 * ```
 */
export async function lockedTable(conn: Conn, tables: readonly Table[]): Promise<LockedTable> {
  const [{ lock_timeout }] = await conn`SHOW lock_timeout`;
  const lockers = await conn.unsafe(tableLockersSql(tables.map((t) => t.oid)));
  const table = lockers[0]?.table ?? "";
  return {
    table,
    holders: lockers.filter((r) => r.table === table).map((r) =>
      `pid ${r.pid} (application_name "${r.app ?? ""}", in its transaction for ${
        Number(r.seconds).toFixed(1)
      }s) ${r.granted ? "holds" : "waits for"} an ACCESS EXCLUSIVE lock on it`
    ),
    waited: lock_timeout,
  };
}

/** A sequence's state as `setval` takes it. */
export interface SequenceValue {
  name: string;
  lastValue: string;
  isCalled: boolean;
}

/**
 * Reads each sequence's `last_value` and `is_called` (sequences are not transactional).
 *
 * @example
 * ```ts
 * import type { Snapshot } from "./snapshot.ts";
 * declare const snapshot: Snapshot;
 * await readSequenceValues(snapshot.conn, "public", [{ name: "users_id_seq" }]);
 * // [{ name: "users_id_seq", lastValue: "42", isCalled: true }]
 * ```
 */
export async function readSequenceValues(
  conn: Conn,
  schema: string,
  sequences: readonly { name: string }[],
): Promise<SequenceValue[]> {
  const values: SequenceValue[] = [];
  for (const s of sequences) {
    const [row] = await conn.unsafe(sequenceValueSql(schema, s.name));
    values.push({ name: s.name, lastValue: row.v, isCalled: row.is_called });
  }
  return values;
}
