/**
 * What a job does about foreign keys beyond copying them: which keys the filters may leave rows
 * of without their parent (counted after the copy), and the warnings for the keys left out of
 * the target. Pure.
 *
 * @example
 * ```ts
 * import { leftOutWarning, mayOrphan } from "./foreign_keys.ts";
 * import type { TablePlan } from "./plan.ts";
 * import type { ForeignKey } from "./source_objects.ts";
 * declare const keys: ForeignKey[], plans: TablePlan[];
 * const counted = keys.filter((fk) => fk.inJob && mayOrphan(fk, plans));
 * const warnings = keys.filter((fk) => !fk.inJob).map(leftOutWarning);
 * ```
 * @module
 */

import { isClear } from "./mask.ts";
import type { TablePlan } from "./plan.ts";
import type { ForeignKey } from "./source_objects.ts";
import { qualify, whereSql } from "./sql.ts";

/**
 * Whether a foreign key between two copied tables may leave rows without their parent on the
 * target: when a filter drops rows of either table, a `select` recomputes a column of the key,
 * or the source's key is `NOT VALID`. Otherwise the snapshot holds the key, every copied row's
 * parent is copied too, and counting orphans (a scan of both tables) is skipped.
 *
 * @example
 * ```ts
 * import type { ForeignKey } from "./source_objects.ts";
 * import type { TablePlan } from "./plan.ts";
 * declare const ordersCustomerFk: ForeignKey, plans: TablePlan[];
 * mayOrphan(ordersCustomerFk, plans); // false when neither table has a where or a select on the key
 * ```
 */
export function mayOrphan(fk: ForeignKey, plans: readonly TablePlan[]): boolean {
  const child = plans.find((p) => p.table.name === fk.table);
  const parent = plans.find((p) => p.table.name === fk.refTable);
  if (!fk.validated || !child || !parent) return true;
  const changes = (plan: TablePlan, columns: readonly string[]) =>
    whereSql(plan.spec.where) !== undefined ||
    columns.some((c) => plan.spec.select?.[c] !== undefined && !isClear(plan.spec.select[c]));
  return changes(child, fk.columns) || changes(parent, fk.refColumns);
}

/**
 * The warning for a foreign key a subset does not follow and leaves out (`keys: "drop"`).
 *
 * @example
 * ```ts
 * droppedWarning({ name: "fk", table: "o" });
 * // 'foreign key "fk" of table "o" is not followed (keys: "drop"): the key is left out of the target'
 * ```
 */
export function droppedWarning(fk: Pick<ForeignKey, "name" | "table">): string {
  return `foreign key "${fk.name}" of table "${fk.table}" is not followed (keys: "drop"): ` +
    `the key is left out of the target`;
}

/**
 * The warning for a foreign key to a table the job does not copy.
 *
 * @example
 * ```ts
 * leftOutWarning({ name: "fk", table: "o", refSchema: "other", refTable: "c" });
 * // 'foreign key "fk" of table "o" references "other"."c", which this job does not copy: the key is left out'
 * ```
 */
export function leftOutWarning(fk: Pick<ForeignKey, "name" | "table" | "refSchema" | "refTable">) {
  return `foreign key "${fk.name}" of table "${fk.table}" references ${
    qualify(fk.refSchema, fk.refTable)
  }, which this job does not copy: the key is left out`;
}
