/**
 * What a dry run returns (`JobPlan`): the plan in words, the objects of the dumped structure a
 * run would restore, the foreign keys it would leave out, and what only a run checks. Pure.
 *
 * @example
 * ```ts
 * import { describePlan } from "./dry_run.ts";
 * import type { JobConfig } from "./config.ts";
 * import type { SourcePlan } from "./plan.ts";
 * import type { Archive } from "./structure.ts";
 * declare const config: JobConfig, plan: SourcePlan, archive: Archive, warnings: string[];
 * describePlan(config, plan, archive.toc, warnings, 1.5).tables[0].copy; // 'COPY (SELECT …) TO STDOUT'
 * ```
 * @module
 */

import type { JobConfig } from "./config.ts";
import { droppedWarning, leftOutWarning } from "./foreign_keys.ts";
import { type SourcePlan, tableRole } from "./plan.ts";
import { leftOutWarnings } from "./schema_objects.ts";
import { redactEndpoint } from "./redact.ts";
import { qualify } from "./sql.ts";
import { restoredEntries, type TocEntry } from "./toc.ts";
import type { JobPlan } from "./types.ts";

/** What only a run checks: what needs the target, and orphans (counted after the copy). */
function runChecks(target: string, orphansPossible: boolean): string[] {
  const checks = [
    "that source and target are not the same schema of the same database (a run refuses that)",
    `objects outside target schema "${target}" that depend on it (a run refuses them unless cascade)`,
    "the extensions the target lacks, and the target role's privileges",
    `that no other run is building target schema "${target}"`,
  ];
  if (orphansPossible) {
    checks.push(
      "rows that reference rows the filters leave out (a run counts them after the copy and " +
        'creates those foreign keys NOT VALID, or fails with orphans: "fail")',
    );
  }
  return checks;
}

/**
 * What a dry run returns: the plan in the words of `JobPlan`, with the objects of the dumped
 * structure (`toc`) a run would restore and the warnings a run would give (`warnings`, but the
 * left-out foreign keys, listed apart).
 *
 * @example
 * ```ts
 * import type { JobConfig } from "./config.ts";
 * import type { SourcePlan } from "./plan.ts";
 * import type { Archive } from "./structure.ts";
 * declare const config: JobConfig, plan: SourcePlan, archive: Archive, warnings: string[];
 * describePlan(config, plan, archive.toc, warnings, 1.5).structure[0]; // { type: "TABLE", name: "users" }
 * ```
 */
export function describePlan(
  job: JobConfig,
  plan: SourcePlan,
  toc: readonly TocEntry[],
  warnings: readonly string[],
  seconds: number,
): JobPlan {
  const tables = plan.catalog.tables.map((t) => t.name);
  const dropped = plan.structure.foreignKeys.filter((f) => plan.subset?.dropped.includes(f.oid));
  const leftOut = plan.structure.foreignKeys.filter((f) => !f.inJob && !dropped.includes(f));
  const listed = new Set([
    ...leftOut.map(leftOutWarning),
    ...dropped.map(droppedWarning),
    ...leftOutWarnings(plan.structure.leftOut),
  ]);
  return {
    job: job.name,
    source: redactEndpoint(job.source),
    target: redactEndpoint(job.target),
    tables: plan.tables.map((p) => ({
      table: p.table.name,
      ...tableRole(plan.subset, p.table.name),
      estimatedRows: p.table.rows,
      estimatedBytes: p.table.bytes,
      copy: p.copyOut,
    })),
    structure: restoredEntries(toc, plan.structure.objects, job.source.schema, tables),
    extensions: plan.structure.extensions.map((e) => e.name),
    leftOut: plan.structure.leftOut,
    searchPathMoved: plan.routines.moved,
    foreignKeysLeftOut: [
      ...leftOut.map((fk) => ({
        name: fk.name,
        table: fk.table,
        references: qualify(fk.refSchema, fk.refTable),
        reason: "the job does not copy the referenced table",
      })),
      ...dropped.map((fk) => ({
        name: fk.name,
        table: fk.table,
        references: qualify(fk.refSchema, fk.refTable),
        reason: 'the subset does not follow it (keys: "drop")',
      })),
    ],
    ...(plan.subset ? { subset: plan.subset.keys } : {}),
    warnings: warnings.filter((w) => !listed.has(w)),
    notChecked: runChecks(
      job.target.schema,
      !job.subset && plan.tables.some((p) => p.spec.where !== undefined) &&
        plan.structure.foreignKeys.some((f) => f.inJob),
    ),
    seconds,
  };
}
