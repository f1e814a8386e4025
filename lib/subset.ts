/**
 * Subsets (`subset: true`): which rows each table of a job keeps so that the copied rows are
 * closed under the foreign keys among the job's tables. Pure: it works on the catalog's foreign
 * keys and returns, per table, its role and the SQL its `COPY (…) TO STDOUT` reads with.
 *
 * The rules: a table with a `where` is a **seed**; a table that references a seed, directly or
 * through a chain of keys, is **owned**: it keeps the rows that belong to kept seed or owned
 * rows, through the keys that point one step closer to a seed (self-references and keys between
 * tables at the same distance never own); the others are **whole**, or **referenced** (only the
 * rows kept rows reference) when the job says so. Then every row a kept row references is kept
 * too, up to a fixpoint; rows added that way do not bring their children.
 *
 * Each table's query computes its rows on the source, read-only and in the job's snapshot: one
 * `WITH RECURSIVE` whose common table expressions carry key columns only. `_xmat_dN` holds the
 * key columns of table N's seed or owned rows; `_xmat_k(_t, _v)` is the fixpoint, a tagged union
 * of (table, values of its foreign-key columns as text) over the kept rows, grown through one
 * LATERAL branch per key; `UNION` (not `UNION ALL`) ends it on cyclic data.
 *
 * @example
 * ```ts
 * import { planSubset, subsetKeys, type SubsetTable } from "./subset.ts";
 * import type { SchemaCatalog } from "./catalog.ts";
 * import type { ForeignKey } from "./source_objects.ts";
 * declare const foreignKeys: ForeignKey[], catalog: SchemaCatalog, tables: SubsetTable[];
 * const keys = subsetKeys(foreignKeys, catalog, ["customers", "rental"]);
 * const plan = planSubset({ job: "dev", schema: "public", tables, keys });
 * plan.tables.map((t) => `${t.table}: ${t.role}`); // ["customers: seed", "rental: owned"]
 * ```
 * @module
 */

import { pathKey } from "./config.ts";
import { ConfigError } from "./errors.ts";
import type { SchemaCatalog, Table } from "./catalog.ts";
import type { ForeignKey } from "./source_objects.ts";
import { qualify } from "./sql.ts";
import { type Edge, SubsetSql } from "./_subset_sql.ts";
import type { KeyOption, PlannedKey, SubsetRole } from "./types.ts";

export type { SubsetRole };

/** One table of a subset job (a partitioned table copied through its parent is one). */
export interface SubsetTable {
  name: string;
  partitioned: boolean;
  columns: readonly { name: string; type: string; notNull: boolean }[];
  /** The table's own `where` as SQL (already resolved): the table is a seed. */
  where?: string;
  rows?: "all" | "referenced";
  keys?: { readonly [foreignKey: string]: KeyOption };
}

/** A foreign key of a job's table, its two ends named as the job's tables. */
export interface SubsetKey {
  oid: number;
  name: string;
  /** The job's table that has the key (the partitioned parent for a key of a partition). */
  table: string;
  /** The table the key is declared on (a partition's name, for a key of a partition). */
  declaredOn: string;
  columns: string[];
  /** The job's table it references; absent when the job does not copy it. */
  refTable?: string;
  /** The referenced table, schema-qualified and quoted. */
  references: string;
  refColumns: string[];
}

/**
 * The catalog's foreign keys of the job's tables, each end mapped to the job's table that copies
 * it: a key declared on a partition belongs to the partitioned table copied through its parent.
 *
 * @example
 * ```ts
 * import type { SchemaCatalog } from "./catalog.ts";
 * import type { ForeignKey } from "./source_objects.ts";
 * declare const foreignKeys: ForeignKey[], catalog: SchemaCatalog;
 * subsetKeys(foreignKeys, catalog, ["payment", "customer"])
 *   .map((k) => `${k.table} → ${k.refTable}`); // ["payment → customer", …] (from payment_p2022_01)
 * ```
 */
export function subsetKeys(
  foreignKeys: readonly ForeignKey[],
  catalog: SchemaCatalog,
  tables: readonly string[],
): SubsetKey[] {
  const byName = new Map(catalog.tables.map((t) => [t.name, t]));
  const byOid = new Map(catalog.tables.map((t) => [t.oid, t]));
  const copied = new Set(tables);
  const unitOf = (name: string): string | undefined => {
    for (let t: Table | undefined = byName.get(name); t; t = byOid.get(t.parentOid ?? -1)) {
      if (copied.has(t.name)) return t.name;
    }
    return undefined;
  };
  return foreignKeys.flatMap((fk) => {
    const table = unitOf(fk.table);
    if (table === undefined) return [];
    return [{
      oid: fk.oid,
      name: fk.name,
      table,
      declaredOn: fk.table,
      columns: fk.columns,
      refTable: fk.refSchema === catalog.schema ? unitOf(fk.refTable) : undefined,
      references: qualify(fk.refSchema, fk.refTable),
      refColumns: fk.refColumns,
    }];
  });
}

/** What `planSubset` needs. */
export interface SubsetInput {
  /** The job's name, for messages. */
  job: string;
  /** The source schema. */
  schema: string;
  tables: readonly SubsetTable[];
  keys: readonly SubsetKey[];
}

/** One table's part of a subset. */
export interface SubsetTablePlan {
  table: string;
  role: SubsetRole;
  /** Foreign-key steps from the nearest seed: 0 for a seed, 1 and more for an owned table. */
  distance?: number;
  /** The common table expressions the table's query starts with, when it needs them. */
  with?: string;
  /** Which rows the table keeps (a boolean expression on its row); absent: every row. */
  keep?: string;
  /**
   * The columns of `"null"` keys, each with the condition under which its value is kept (the
   * referenced row is kept too); elsewhere it is NULL.
   */
  nulled?: { [column: string]: string };
}

/** How a subset treats one foreign key. */
export type SubsetKeyPlan = PlannedKey;

/** The subset of a job: every table's role and query, every key's treatment. */
export interface SubsetPlan {
  tables: SubsetTablePlan[];
  keys: SubsetKeyPlan[];
  /** The keys left out of the target (`"drop"`), by constraint OID. */
  dropped: number[];
}

/**
 * Plans a subset: roles, keys, and each table's query parts (see the module's description).
 * Throws a `ConfigError` naming every key it cannot close the subset over: a key to a table the
 * job does not copy, a `keys` option naming no key of its table, `"null"` on a NOT NULL column.
 *
 * @example
 * ```ts
 * declare const tables: SubsetTable[], keys: SubsetKey[];
 * const plan = planSubset({ job: "dev", schema: "public", tables, keys });
 * plan.keys.find((k) => k.name === "rental_customer_id_fkey"); // { down: true, up: true, … }
 * ```
 */
export function planSubset(input: SubsetInput): SubsetPlan {
  const { tables, keys } = input;
  const index = new Map(tables.map((t, i) => [t.name, i]));
  const issues = checkKeys(input);
  if (issues.length) {
    throw new ConfigError(
      issues,
      `job ${JSON.stringify(input.job)}: the subset cannot be closed over these foreign keys`,
    );
  }
  const edges: Edge[] = keys
    .filter((k) =>
      k.refTable !== undefined && tables[index.get(k.table)!].keys?.[k.name] === undefined
    )
    .map((key) => ({ key, child: index.get(key.table)!, parent: index.get(key.refTable!)! }));

  const distance = distances(tables, edges);
  const role = tables.map((t, i): SubsetRole =>
    t.rows === "all"
      ? "whole"
      : t.rows === "referenced"
      ? "referenced"
      : t.where !== undefined
      ? "seed"
      : distance[i] !== undefined
      ? "owned"
      : "whole"
  );
  const owning = tables.map((_, i) =>
    role[i] === "owned"
      ? edges.filter((e) =>
        e.child === i && distance[e.parent] !== undefined && distance[e.parent] === distance[i]! - 1
      )
      : []
  );
  const up = edges.filter((e) => role[e.parent] !== "whole");
  const active = new Set(activeEdges(up, owning));
  const sql = new SubsetSql(input, role, owning, [...active]);

  return {
    tables: tables.map((t, i) => ({
      table: t.name,
      role: role[i],
      ...(role[i] === "seed" || role[i] === "owned" ? { distance: distance[i] } : {}),
      ...sql.table(i),
    })),
    keys: keys.map((k) => {
      const option = tables[index.get(k.table)!].keys?.[k.name];
      const edge = edges.find((e) => e.key === k);
      return {
        name: k.name,
        table: k.table,
        references: k.references,
        ...(option === undefined ? {} : { option }),
        down: edge !== undefined && owning[edge.child].includes(edge),
        up: edge !== undefined && up.includes(edge),
      };
    }),
    dropped: keys.filter((k) => tables[index.get(k.table)!].keys?.[k.name] === "drop").map((k) =>
      k.oid
    ),
  };
}

/** Every key the subset cannot close over, with what to do. */
function checkKeys({ job, tables, keys }: SubsetInput): string[] {
  const issues: string[] = [];
  const path = (table: string, key: string) =>
    `jobs[${JSON.stringify(job)}].tables${pathKey(table)}.keys${pathKey(key)}`;
  for (const t of tables) {
    const own = keys.filter((k) => k.table === t.name);
    for (const [name, option] of Object.entries(t.keys ?? {})) {
      const key = own.find((k) => k.name === name);
      if (!key) {
        issues.push(
          `${path(t.name, name)}: table ${JSON.stringify(t.name)} has no foreign key ${
            JSON.stringify(name)
          } (its keys: ${own.map((k) => k.name).join(", ") || "none"})`,
        );
      } else if (option === "null" && key.refTable === undefined) {
        issues.push(
          `${
            path(t.name, name)
          }: "null" keeps the key, but the job does not copy ${key.references}: ` +
            `use "drop", or add the table to the job`,
        );
      } else if (option === "null") {
        const notNull = key.columns.filter((c) => t.columns.find((x) => x.name === c)?.notNull);
        if (notNull.length) {
          issues.push(
            `${path(t.name, name)}: "null" cannot set ${
              notNull.map((c) => JSON.stringify(c)).join(", ")
            } NULL (NOT NULL): use "drop" (the key is left out of the target)`,
          );
        }
      }
    }
    for (const key of own.filter((k) => k.refTable === undefined && !t.keys?.[k.name])) {
      issues.push(
        `foreign key ${JSON.stringify(key.name)} of table ${
          JSON.stringify(key.declaredOn)
        } references ${key.references}, which the job does not copy: add that table to the job, ` +
          `or set \`keys: { ${JSON.stringify(key.name)}: "drop" }\` on table ${
            JSON.stringify(t.name)
          } (the key is then left out of the target)`,
      );
    }
  }
  return issues;
}

/**
 * Foreign-key steps from the nearest seed, through tables that may be owned (no `where`, no
 * `rows`): a breadth-first walk from the seeds to the tables that reference them.
 */
function distances(tables: readonly SubsetTable[], edges: readonly Edge[]): (number | undefined)[] {
  const distance: (number | undefined)[] = tables.map((t) =>
    t.where !== undefined && t.rows === undefined ? 0 : undefined
  );
  const queue = tables.flatMap((_, i) => distance[i] === 0 ? [i] : []);
  for (let head = 0; head < queue.length; head++) {
    const parent = queue[head];
    for (const e of edges.filter((e) => e.parent === parent)) {
      const child = tables[e.child];
      if (distance[e.child] !== undefined || child.rows !== undefined) continue;
      distance[e.child] = distance[parent]! + 1;
      queue.push(e.child);
    }
  }
  return distance;
}

/**
 * The keys the fixpoint must follow up. A table's only owning key adds nothing when the table
 * keeps no rows beyond its owned ones (no key into it does): its rows reference kept rows by
 * construction. Leaving such keys out keeps a seed's query to its own `where` (an index scan),
 * where an `OR` with the rows its children reference would read the whole table.
 */
function activeEdges(up: readonly Edge[], owning: readonly Edge[][]): Edge[] {
  const needed = new Set(
    up.filter((e) => owning[e.child].length !== 1 || owning[e.child][0] !== e),
  );
  for (let changed = true; changed;) {
    changed = false;
    for (const e of up) {
      if (needed.has(e)) continue;
      if (up.some((into) => into.parent === e.child && needed.has(into))) {
        needed.add(e);
        changed = true;
      }
    }
  }
  return up.filter((e) => needed.has(e));
}
