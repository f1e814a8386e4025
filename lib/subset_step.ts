/**
 * The plan step's part for a subset job: reads, in the job's snapshot, the transaction-time
 * values a seed's `where` uses and which functions it calls are volatile, plans the subset
 * (`subset.ts`) and gives each table's plan its subset query.
 *
 * @example
 * ```ts
 * import { subsetStep } from "./subset_step.ts";
 * import type { SchemaCatalog } from "./catalog.ts";
 * import type { JobConfig } from "./config.ts";
 * import type { Conn } from "./connect.ts";
 * import type { TablePlan } from "./plan.ts";
 * import type { ForeignKey } from "./source_objects.ts";
 * declare const conn: Conn, config: JobConfig, catalog: SchemaCatalog, tables: TablePlan[];
 * declare const foreignKeys: ForeignKey[];
 * const { plans } = await subsetStep(conn, config, catalog, tables, foreignKeys);
 * plans[0].copyOut; // 'COPY (WITH RECURSIVE _xmat_d0 AS (…) SELECT … WHERE (…)) TO STDOUT'
 * ```
 * @module
 */

import type { JobConfig } from "./config.ts";
import { pathKey } from "./config.ts";
import type { Conn } from "./connect.ts";
import type { SchemaCatalog } from "./catalog.ts";
import type { ForeignKey } from "./source_objects.ts";
import { ConfigError } from "./errors.ts";
import type { TablePlan } from "./plan.ts";
import { transactionTimesSql, volatileFunctionsSql } from "./catalog_sql.ts";
import { copyOutSql, quoteLiteral, selectSql, whereSql } from "./sql.ts";
import { planSubset, subsetKeys, type SubsetPlan, type SubsetTable } from "./subset.ts";
import { resolveTimes, TRANSACTION_TIMES } from "./subset_where.ts";

/** The job's tables with their subset queries, and the subset's roles and keys. */
export interface SubsetStep {
  plans: TablePlan[];
  subset: SubsetPlan;
}

/**
 * Plans the subset of a job whose `subset` is on; throws a `ConfigError` for a `where` that
 * cannot give every table one answer and for keys the subset cannot close over.
 *
 * @example
 * ```ts
 * import type { SchemaCatalog } from "./catalog.ts";
 * import type { JobConfig } from "./config.ts";
 * import type { Conn } from "./connect.ts";
 * import type { TablePlan } from "./plan.ts";
 * import type { ForeignKey } from "./source_objects.ts";
 * declare const conn: Conn, job: JobConfig, catalog: SchemaCatalog;
 * declare const plans: TablePlan[], foreignKeys: ForeignKey[];
 * const { subset } = await subsetStep(conn, job, catalog, plans, foreignKeys);
 * subset.tables.map((t) => `${t.table}: ${t.role}`); // ["customer: seed", "rental: owned"]
 * ```
 */
export async function subsetStep(
  conn: Conn,
  job: JobConfig,
  catalog: SchemaCatalog,
  plans: readonly TablePlan[],
  foreignKeys: readonly ForeignKey[],
): Promise<SubsetStep> {
  const names = Object.keys(TRANSACTION_TIMES);
  const [times] = await conn.unsafe(transactionTimesSql(names));
  const values = Object.fromEntries(
    names.map((n) => [n, `${quoteLiteral(times[n])}::${TRANSACTION_TIMES[n]}`]),
  );
  const problems: string[] = [];
  const wheres = new Map<string, string>();
  const calls = new Map<string, string[]>();
  for (const plan of plans) {
    const sql = plan.spec.rows === undefined ? whereSql(plan.spec.where) : undefined;
    if (sql === undefined) continue;
    const resolved = resolveTimes(sql, values);
    const at = `jobs[${JSON.stringify(job.name)}].tables${pathKey(plan.table.name)}.where`;
    problems.push(...resolved.problems.map((p) => `${at}: ${p}`));
    wheres.set(plan.table.name, resolved.sql);
    for (const name of resolved.calls) calls.set(name, [...calls.get(name) ?? [], at]);
  }
  if (calls.size) {
    const volatile = await conn.unsafe(volatileFunctionsSql([...calls.keys()]));
    for (const { name } of volatile) {
      for (const at of calls.get(name)!) {
        problems.push(
          `${at}: ${name}() is volatile: it gives another answer in each table's query, so the ` +
            `tables of a subset would not fit together. Use a literal, or now() (resolved once)`,
        );
      }
    }
  }
  if (problems.length) {
    throw new ConfigError(
      problems,
      `job ${JSON.stringify(job.name)}: a subset's where must give every table the same answer`,
    );
  }
  const tables: SubsetTable[] = plans.map((p) => ({
    name: p.table.name,
    partitioned: p.table.partitioned,
    columns: p.table.columns,
    where: wheres.get(p.table.name),
    rows: p.spec.rows,
    keys: p.spec.keys,
  }));
  const subset = planSubset({
    job: job.name,
    schema: catalog.schema,
    tables,
    keys: subsetKeys(foreignKeys, catalog, tables.map((t) => t.name)),
  });
  return {
    subset,
    plans: plans.map((plan, i) => {
      const { with: ctes, keep, nulled } = subset.tables[i];
      if (!ctes && keep === undefined && !nulled) return plan;
      // A "null" key's column: its value (as the job's select or mask computes it) where the
      // referenced row is kept, else NULL.
      const select = { ...plan.query.select };
      const masks = { ...plan.query.masks };
      for (const [column, kept] of Object.entries(nulled ?? {})) {
        if (masks[column] !== undefined) {
          masks[column] = `CASE WHEN ${kept} THEN (${masks[column]}) END`;
        } else select[column] = `CASE WHEN ${kept} THEN (${select[column] ?? "{column_name}"}) END`;
      }
      const query = { ...plan.query, with: ctes, keep, select, masks };
      return { ...plan, query, select: selectSql(query), copyOut: copyOutSql(query, plan.format) };
    }),
  };
}
