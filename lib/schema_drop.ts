/**
 * Dropping a whole schema on the target without running out of the shared lock table: its
 * relations go a batch per transaction (views first, then leaf partitions, tables, partitioned
 * tables from the deepest, sequences), each batch within the run's lock budget, and the schema
 * itself last, with what is left (types, functions, an extension the run created in it). Used
 * for the old target schema after the swap, a failed run's shadow schema and the leftovers of
 * killed runs. Every batch is a transaction of its own: a drop that is interrupted leaves a
 * smaller schema, still marked, that the next run drops.
 *
 * @example
 * ```ts
 * import { dropSchemaInBatches } from "./schema_drop.ts";
 * import type { Conn } from "./connect.ts";
 * declare const conn: Conn;
 * await dropSchemaInBatches(conn, "_pgxmat_old_a1b2c3_staging", { budget: 1600 });
 * ```
 * @module
 */

import { type Conn, inLockedTransaction, type LockWait } from "./connect.ts";
import { packBatches } from "./lock_budget.ts";
import { dropSchemaSql } from "./shadow.ts";
import { qualify, quoteLiteral } from "./sql.ts";

/** A relation to drop, and how many locks dropping it takes (its indexes, TOAST, keys…). */
export interface RelationToDrop {
  name: string;
  kind: "v" | "m" | "f" | "r" | "p" | "S";
  locks: number;
}

/**
 * The relations of `schema` that a batch may drop, in the order they are dropped, each with an
 * upper bound of the locks its drop takes. Members of an extension are left to the extension.
 *
 * @example
 * ```ts
 * relationsToDropSql("old"); // "SELECT c.relname AS name, … WHERE n.nspname = 'old' …"
 * ```
 */
export function relationsToDropSql(schema: string): string {
  // Keys and rules counted per relation once, joined: a subquery per relation that cannot use
  // an index (pg_constraint has none on confrelid) scans the catalog once per relation, minutes
  // for a schema of 10,000 tables.
  return `
    WITH keys AS (
      SELECT rel, count(*) AS n
        FROM pg_constraint k, LATERAL (VALUES (k.conrelid), (k.confrelid)) AS side(rel)
       WHERE k.contype = 'f'
       GROUP BY rel
    )
    SELECT c.relname AS name, c.relkind AS kind,
           (1 + CASE WHEN c.reltoastrelid <> 0 THEN 2 ELSE 0 END
              + (SELECT count(*) FROM pg_index i WHERE i.indrelid = c.oid)
              + (SELECT count(*) FROM pg_depend d
                  WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = c.oid
                    AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i'))
              + COALESCE(keys.n, 0)
              + (SELECT count(*) FROM pg_inherits h WHERE h.inhparent = c.oid)
              + (SELECT count(*) FROM pg_depend d
                  WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = c.oid
                    AND d.classid = 'pg_rewrite'::regclass))::int AS locks
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      LEFT JOIN keys ON keys.rel = c.oid
     WHERE n.nspname = ${quoteLiteral(schema)} AND c.relkind IN ('v', 'm', 'f', 'r', 'p', 'S')
       AND NOT EXISTS (SELECT 1 FROM pg_depend e
                        WHERE e.classid = 'pg_class'::regclass AND e.objid = c.oid
                          AND e.deptype = 'e')
     ORDER BY CASE c.relkind WHEN 'v' THEN 0 WHEN 'm' THEN 0 WHEN 'f' THEN 1 WHEN 'r' THEN 2
                             WHEN 'p' THEN 3 ELSE 4 END,
              (SELECT count(*) FROM pg_partition_ancestors(c.oid)) DESC, c.relname`;
}

const DROP_KIND: Record<RelationToDrop["kind"], string> = {
  v: "VIEW",
  m: "MATERIALIZED VIEW",
  f: "FOREIGN TABLE",
  r: "TABLE",
  p: "TABLE",
  S: "SEQUENCE",
};

/**
 * The statements that drop one batch, a statement per kind of relation, in the batch's order.
 * `IF EXISTS`: an earlier batch's `CASCADE` may have dropped one already (a view over a table).
 *
 * @example
 * ```ts
 * dropBatchSql("old", [{ name: "v", kind: "v", locks: 2 }, { name: "t", kind: "r", locks: 4 }]);
 * // ['DROP VIEW IF EXISTS "old"."v" CASCADE', 'DROP TABLE IF EXISTS "old"."t" CASCADE']
 * ```
 */
export function dropBatchSql(schema: string, batch: readonly RelationToDrop[]): string[] {
  const byKind = new Map<string, string[]>();
  for (const r of batch) {
    const kind = DROP_KIND[r.kind];
    byKind.set(kind, [...byKind.get(kind) ?? [], qualify(schema, r.name)]);
  }
  return [...byKind].map(([kind, names]) => `DROP ${kind} IF EXISTS ${names.join(", ")} CASCADE`);
}

/**
 * Reads the relations of `schema` to drop, in order (see `relationsToDropSql`).
 *
 * @example
 * ```ts
 * import type { Conn } from "./connect.ts";
 * declare const conn: Conn;
 * (await relationsToDrop(conn, "_pgxmat_old_1a2b3c4d_staging")).length;
 * ```
 */
export async function relationsToDrop(conn: Conn, schema: string): Promise<RelationToDrop[]> {
  return [...await conn.unsafe<RelationToDrop[]>(relationsToDropSql(schema))];
}

/** How a batched drop waits for the locks readers hold. */
export interface DropOptions extends LockWait {
  /** Locks one transaction may take (see `lockBudget`). */
  budget: number;
}

/**
 * Drops `schema` and everything in it, a batch of relations per transaction; a batch whose
 * locks are not granted in time is tried again, a bounded number of times, then the error is
 * thrown (what was dropped stays dropped).
 *
 * @example
 * ```ts
 * import type { Conn } from "./connect.ts";
 * declare const conn: Conn;
 * await dropSchemaInBatches(conn, "_pgxmat_old_1a2b3c4d_staging", { budget: 1600 });
 * ```
 */
export async function dropSchemaInBatches(
  conn: Conn,
  schema: string,
  options: DropOptions,
): Promise<void> {
  const relations = await relationsToDrop(conn, schema);
  for (const batch of packBatches(relations, (r) => r.locks, options.budget)) {
    await inLockedTransaction(conn, options, async (tx) => {
      for (const statement of dropBatchSql(schema, batch)) await tx.unsafe(statement);
    });
  }
  await inLockedTransaction(conn, options, (tx) => tx.unsafe(dropSchemaSql(schema)));
}
