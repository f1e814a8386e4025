/**
 * Planning: which tables a job copies (the wildcard resolved, partitions copied through their
 * parent once) and with which statements. Pure: it works on a catalog already read.
 *
 * @example
 * ```ts
 * import { planTables } from "./plan.ts";
 * const tables = planTables(job, catalog);
 * tables[0].copyOut; // 'COPY (SELECT … FROM ONLY "public"."orders" …) TO STDOUT'
 * ```
 * @module
 */

import type { JobConfig } from "./config.ts";
import { mergeSpecs, pathKey } from "./config.ts";
import { ConfigError } from "./errors.ts";
import type { SchemaCatalog, Table } from "./catalog.ts";
import { copyInSql, copyOutSql } from "./sql.ts";
import type { TableSpec } from "./types.ts";

/** One table a job copies. */
export interface TablePlan {
  table: Table;
  /** The spec after the wildcard was merged in. */
  spec: TableSpec;
  /** The columns copied (generated columns are computed on the target). */
  columns: string[];
  /** The source statement. */
  copyOut: string;
  /** The COPY data format both statements use. */
  format: "text" | "binary";
}

/** How the COPY format is chosen: `auto` uses binary where every column is binary-safe. */
export type FormatChoice = "auto" | "text" | "binary";

function listNames(names: readonly string[], max = 30): string {
  const shown = names.slice(0, max).join(", ");
  return names.length > max ? `${shown}, … (${names.length} in all)` : shown || "none";
}

/**
 * Resolves the job's tables against the source catalog and builds each table's COPY statement.
 * Throws a `ConfigError` listing every table that does not exist and every `where`/`select` key
 * that names no column (with the columns the table has).
 */
export function planTables(
  job: JobConfig,
  catalog: SchemaCatalog,
  format: FormatChoice = "text",
): TablePlan[] {
  const issues: string[] = [];
  const byName = new Map(catalog.tables.map((t) => [t.name, t]));
  const byOid = new Map(catalog.tables.map((t) => [t.oid, t]));
  const path = (table: string) => `jobs[${JSON.stringify(job.name)}].tables${pathKey(table)}`;

  const chosen = new Map<number, { table: Table; named?: TableSpec }>();
  if (job.wildcard) {
    for (const t of catalog.tables) {
      if (t.parentOid === undefined || !byOid.has(t.parentOid)) chosen.set(t.oid, { table: t });
    }
  }
  for (const [name, spec] of job.tables) {
    const table = byName.get(name);
    if (!table) {
      const near = catalog.tables.find((t) => t.name.toLowerCase() === name.toLowerCase());
      issues.push(
        `${path(name)}: no table ${JSON.stringify(name)} in schema ${
          JSON.stringify(catalog.schema)
        } ` +
          `of the source${near ? ` (did you mean ${JSON.stringify(near.name)}?)` : ""} ` +
          `(tables there: ${listNames(catalog.tables.map((t) => t.name))})`,
      );
      continue;
    }
    chosen.set(table.oid, { table, named: spec });
  }
  // A partition whose ancestor is copied is copied through that ancestor, never again.
  const isCovered = (t: Table): boolean => {
    for (let p = t.parentOid; p !== undefined; p = byOid.get(p)?.parentOid) {
      if (chosen.has(p)) return true;
    }
    return false;
  };

  const plans: TablePlan[] = [];
  for (const { table, named } of chosen.values()) {
    if (isCovered(table)) continue;
    const all = table.columns.map((c) => c.name);
    const copied = table.columns.filter((c) => !c.generated);
    const generated = new Set(table.columns.filter((c) => c.generated).map((c) => c.name));
    const check = (key: "where" | "select", names: string[]) => {
      for (const column of names) {
        const at = `${path(table.name)}.${key}${pathKey(column)}`;
        if (!all.includes(column)) {
          issues.push(
            `${at}: no column ${JSON.stringify(column)} in table ${
              JSON.stringify(table.name)
            } (columns: ${listNames(all)})`,
          );
        } else if (key === "select" && generated.has(column)) {
          issues.push(
            `${at}: column ${
              JSON.stringify(column)
            } is generated; the target computes it from the other columns`,
          );
        }
      }
    };
    if (named?.where && typeof named.where === "object") check("where", Object.keys(named.where));
    if (named?.select) check("select", Object.keys(named.select));
    const spec = mergeSpecs(job.wildcard, named, all);
    const binary = format === "binary" || (format === "auto" && copied.every((c) => c.binarySafe));
    plans.push({
      table,
      spec,
      columns: copied.map((c) => c.name),
      format: binary ? "binary" : "text",
      copyOut: copyOutSql({
        schema: catalog.schema,
        table: table.name,
        partitioned: table.partitioned,
        columns: copied,
        select: spec.select,
        where: spec.where,
      }, binary ? "binary" : "text"),
    });
  }
  if (issues.length) {
    throw new ConfigError(issues, `job ${JSON.stringify(job.name)} does not fit the source schema`);
  }
  // Largest first: the longest copy starts at once instead of last.
  return plans.sort((a, b) =>
    b.table.bytes - a.table.bytes || a.table.name.localeCompare(b.table.name)
  );
}

/**
 * The target side of a planned table.
 *
 * @example
 * ```ts
 * copyInFor(plan, "_pgxmat_shadow_ab12cd34_staging");
 * ```
 */
export function copyInFor(plan: TablePlan, schema: string): string {
  return copyInSql(schema, plan.table.name, plan.columns, plan.format);
}
