/**
 * Plan-step checks of what a row copy would get wrong without a word: columns holding large
 * object OIDs (the numbers arrive, the large objects do not), and columns a trigger derives from a
 * column the job transforms (triggers are created after the rows are in, so the derived column
 * keeps the source's values: a masked email still readable in a search column). Reads in the
 * job's snapshot; the decisions are pure functions.
 *
 * @example
 * ```ts
 * import { largeObjectRefusal, readLargeObjectColumns } from "./plan_checks.ts";
 * import type { Conn } from "./connect.ts";
 * import type { TablePlan } from "./plan.ts";
 * declare const conn: Conn, plans: TablePlan[];
 * const found = await readLargeObjectColumns(conn, "acme", plans);
 * if (found.length) throw new Error(largeObjectRefusal(found));
 * ```
 * @module
 */

import type { Conn } from "./connect.ts";
import {
  LARGE_OBJECTS_SQL,
  largeObjectRefsSql,
  oidColumnsSql,
  rowTriggersSql,
} from "./catalog_sql.ts";
import type { TablePlan } from "./plan.ts";

/** The columns a job transforms with `select`, by table. */
function transformed(plan: TablePlan): Set<string> {
  return new Set(Object.keys(plan.spec.select ?? {}));
}

/** A column whose values name large objects of the source. */
export interface LargeObjectColumn {
  table: string;
  column: string;
}

/**
 * The copied columns of type `oid` (or a domain over it, such as the `lo` extension's) whose
 * values name large objects on the source. A column the job transforms is the job's choice and is
 * not read; nothing is read when the source database has no large object.
 *
 * @example
 * ```ts
 * import type { Conn } from "./connect.ts";
 * import type { TablePlan } from "./plan.ts";
 * declare const conn: Conn, plans: TablePlan[];
 * await readLargeObjectColumns(conn, "public", plans); // [{ table: "docs", column: "body" }]
 * ```
 */
export async function readLargeObjectColumns(
  conn: Conn,
  schema: string,
  plans: readonly TablePlan[],
): Promise<LargeObjectColumn[]> {
  const [{ any }] = await conn.unsafe(LARGE_OBJECTS_SQL);
  if (!any || !plans.length) return [];
  const byOid = new Map(plans.map((p) => [p.table.oid, p]));
  const columns = await conn.unsafe(oidColumnsSql([...byOid.keys()]));
  const found: LargeObjectColumn[] = [];
  for (const c of columns) {
    const plan = byOid.get(Number(c.rel))!;
    if (transformed(plan).has(c.name) || !plan.columns.includes(c.name)) continue;
    const [row] = await conn.unsafe(largeObjectRefsSql(schema, plan.table.name, c.name));
    if (row.refers) found.push({ table: plan.table.name, column: c.name });
  }
  return found;
}

/**
 * Why a job with large object columns is refused, and what to do.
 *
 * @example
 * ```ts
 * largeObjectRefusal([{ table: "docs", column: "body" }]);
 * // 'table "docs", column "body" holds large object OIDs: …'
 * ```
 */
export function largeObjectRefusal(found: readonly LargeObjectColumn[]): string {
  const where = found.map((f) => `table "${f.table}", column "${f.column}"`).join("; ");
  const [first] = found;
  return `${where} ${found.length > 1 ? "hold" : "holds"} large object OIDs: pg-xmat copies ` +
    `rows, not large objects, so on the target these numbers would name no large object (or ` +
    `another one). Leave the column out of the copy with a select (\`tables: { ` +
    `${JSON.stringify(first.table)}: { select: { ${
      JSON.stringify(first.column)
    }: "NULL" } } }\`), ` +
    `or store the contents in a bytea column`;
}

/** A trigger of a chosen table, with the columns it reads and writes as far as can be told. */
export interface TriggerColumns {
  table: string;
  trigger: string;
  /** `tsvector_update_trigger`, or the trigger function's name. */
  function: string;
  reads: string[];
  writes: string[];
}

/**
 * The columns each row trigger of the chosen tables writes and reads: the arguments of the
 * built-in `tsvector_update_trigger` and `tsvector_update_trigger_column`, and, for a function
 * in another language, the `NEW.column` it assigns (a statement `NEW.c := …` or `NEW.c = …`)
 * and mentions.
 *
 * @example
 * ```ts
 * import type { Conn } from "./connect.ts";
 * import type { TablePlan } from "./plan.ts";
 * declare const conn: Conn, plans: TablePlan[];
 * const triggers = await readTriggerColumns(conn, plans);
 * triggerLeaks(triggers, plans);
 * ```
 */
export async function readTriggerColumns(
  conn: Conn,
  plans: readonly TablePlan[],
): Promise<TriggerColumns[]> {
  if (!plans.length) return [];
  const rows = await conn.unsafe(rowTriggersSql(plans.map((p) => p.table.oid)));
  return rows.map((r) =>
    triggerColumns(r.table, r.trigger, r.function, r.builtin, r.source, r.args, r.columns)
  );
}

/**
 * What one trigger reads and writes, from its function and arguments (`args` as `tgargs`
 * encodes them: each argument followed by `\000`).
 *
 * @example
 * ```ts
 * triggerColumns("users", "tsv", "tsvector_update_trigger", true, "", "search\\000pg_catalog.simple\\000email\\000", ["email", "search"]);
 * // { table: "users", trigger: "tsv", function: "tsvector_update_trigger", reads: ["email"], writes: ["search"] }
 * ```
 */
export function triggerColumns(
  table: string,
  trigger: string,
  fn: string,
  builtin: boolean,
  source: string,
  args: string,
  columns: readonly string[],
): TriggerColumns {
  const list = args.split("\\000").slice(0, -1);
  if (builtin && fn === "tsvector_update_trigger") {
    return { table, trigger, function: fn, writes: list.slice(0, 1), reads: list.slice(2) };
  }
  if (builtin && fn === "tsvector_update_trigger_column") {
    return { table, trigger, function: fn, writes: list.slice(0, 1), reads: list.slice(1) };
  }
  const name = (c: string) => `(?:${escape(c)}|"${escape(c.replaceAll('"', '""'))}")`;
  const mentions = (c: string) => new RegExp(`\\bNEW\\s*\\.\\s*${name(c)}(?![\\w$])`, "i");
  // An assignment starts a statement (`IF NEW.c = 1` compares).
  const assigns = (c: string) =>
    new RegExp(
      `(?:^|;|\\b(?:BEGIN|THEN|ELSE|LOOP)\\b)\\s*NEW\\s*\\.\\s*${name(c)}(?![\\w$])\\s*:?=(?!=)`,
      "im",
    );
  return {
    table,
    trigger,
    function: fn,
    writes: columns.filter((c) => assigns(c).test(source)),
    reads: columns.filter((c) => mentions(c).test(source)),
  };
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Warnings for the columns a trigger derives from a column the job transforms, while the derived
 * column itself is copied as it is: its source values (an email in a search vector) survive the
 * transform.
 *
 * @example
 * ```ts
 * import type { TablePlan } from "./plan.ts";
 * declare const plans: TablePlan[];
 * triggerLeaks([{ table: "users", trigger: "tsv", function: "tsvector_update_trigger", reads: ["email"], writes: ["search"] }], plans);
 * // ['table "users": trigger "tsv" (tsvector_update_trigger) keeps column "search" from "email", …']
 * ```
 */
export function triggerLeaks(
  triggers: readonly TriggerColumns[],
  plans: readonly TablePlan[],
): string[] {
  const warnings: string[] = [];
  for (const t of triggers) {
    const plan = plans.find((p) => p.table.name === t.table);
    if (!plan) continue;
    const changed = transformed(plan);
    const read = t.reads.filter((c) => changed.has(c));
    const kept = t.writes.filter((c) => !changed.has(c) && plan.columns.includes(c));
    if (!read.length || !kept.length) continue;
    const list = (cs: string[]) => cs.map((c) => `"${c}"`).join(", ");
    warnings.push(
      `table "${t.table}": trigger "${t.trigger}" (${t.function}) keeps ${
        kept.length > 1 ? "columns" : "column"
      } ${list(kept)} from ${list(read)}, which the job transforms; triggers are created after ` +
        `the rows are in, so ${list(kept)} ${kept.length > 1 ? "keep" : "keeps"} the source's ` +
        `values, derived from the untransformed ${list(read)}. Transform ${list(kept)} too ` +
        `(in select), or recompute ${kept.length > 1 ? "them" : "it"} on the target`,
    );
  }
  return warnings;
}
