/**
 * The plan a dry run prints (`--dry-run`): per job, the tables with the source's estimates and
 * the exact `COPY (SELECT …)` each runs, the structure created on the target, the extensions,
 * the foreign keys left out and why, the warnings, and what only a run can check. Pure.
 *
 * @example
 * ```ts
 * import { formatPlan } from "./dry_run.ts";
 * import { planJobConfig } from "../lib/run.ts";
 * import type { JobConfig } from "../lib/config.ts";
 * declare const job: JobConfig;
 * const plan = await planJobConfig(job);
 * console.log(formatPlan(plan));
 * ```
 * @module
 */

import type { JobPlan, PlannedKey, PlannedObject, PlannedTable } from "../lib/types.ts";
import type { ErrorInfo } from "./report.ts";
import { formatBytes, plural, shownName } from "./log.ts";
import { padWidth, textWidth } from "./style.ts";

/** One job of a dry run in the `--json` document. */
export interface PlanResult {
  job: string;
  /** `ok`: planned; `failed`: the plan failed (see `error`); `not-run`: an earlier job failed. */
  status: "ok" | "failed" | "not-run";
  plan: JobPlan | null;
  error: ErrorInfo | null;
}

/** What `--json` prints for a dry run. */
export interface DryRunDocument {
  /** The pg-xmat version. */
  pgXmat: string;
  mode: "dry-run";
  ok: boolean;
  exitCode: number;
  seconds: number;
  jobs: PlanResult[];
  /** A failure outside any job (usage, jobs file). */
  error: ErrorInfo | null;
}

/** `name`, or `name on table`. */
function objectName(o: PlannedObject): string {
  return o.table === undefined
    ? shownName(o.name)
    : `${shownName(o.name)} on ${shownName(o.table)}`;
}

/** Comma-separated items wrapped at `width`, continuation lines indented by `indent`. */
function wrapList(items: readonly string[], indent: number, width = 100): string {
  const lines: string[] = [];
  let line = "";
  for (const [i, item] of items.entries()) {
    const piece = i < items.length - 1 ? `${item},` : item;
    if (line && indent + line.length + 1 + piece.length > width) {
      lines.push(line);
      line = piece;
    } else line = line ? `${line} ${piece}` : piece;
  }
  lines.push(line);
  return lines.join(`\n${" ".repeat(indent)}`);
}

/** A subset table's role in words: `owned (2 keys from a seed)`. */
function describeRole(t: PlannedTable): string {
  switch (t.role) {
    case "seed":
      return "seed: the rows its where selects";
    case "owned":
      return `owned: the rows that belong to kept rows (${
        plural(t.distance ?? 0, "key")
      } from a seed)`;
    case "referenced":
      return "referenced: only the rows kept rows reference";
    default:
      return "whole: every row";
  }
}

/**
 * How a subset treats a key, in words.
 *
 * @example
 * ```ts
 * describeKey({ name: "rental_customer_fkey", table: "rental", references: '"public"."customer"', down: true, up: true });
 * // 'rental_customer_fkey: rental → "public"."customer", followed down (rows of rental belong to kept rows) and up'
 * ```
 */
export function describeKey(k: PlannedKey): string {
  const head = `${shownName(k.name)}: ${shownName(k.table)} → ${k.references}`;
  if (k.option === "drop") {
    return `${head}, not followed ("drop"): the key is left out of the target`;
  }
  if (k.option === "null") {
    return `${head}, not followed ("null"): its columns are NULL where the referenced row is not kept`;
  }
  if (k.down) {
    return `${head}, followed down (rows of ${shownName(k.table)} belong to kept rows) and up`;
  }
  if (k.up) return `${head}, followed up (the rows kept rows reference are kept)`;
  return `${head}, nothing to follow (the referenced table is copied whole)`;
}

/**
 * The plan of one job as text.
 *
 * @example
 * ```ts
 * import type { JobPlan } from "../lib/types.ts";
 * declare const plan: JobPlan;
 * formatPlan(plan).split("\n")[0]; // 'job demo:subset: 3 tables, ~1,200 rows, 184 kB on the source'
 * ```
 */
export function formatPlan(plan: JobPlan): string {
  const rows = plan.tables.reduce((n, t) => n + Math.max(0, t.estimatedRows), 0);
  const bytes = plan.tables.reduce((n, t) => n + t.estimatedBytes, 0);
  const out = [
    `job ${plan.job}: ${plural(plan.tables.length, "table")}, ~${plural(rows, "row")}, ${
      formatBytes(bytes)
    } on the source`,
    `  source  ${plan.source.database}  schema ${JSON.stringify(plan.source.schema)}`,
    `  target  ${plan.target.database}  schema ${
      JSON.stringify(plan.target.schema)
    } (not contacted by a dry run)`,
    "",
    `  tables, in copy order (the source's estimates for whole tables, before any where):`,
  ];
  const nameWidth = Math.min(
    40,
    Math.max(...plan.tables.map((t) => textWidth(shownName(t.table)))),
  );
  for (const t of plan.tables) {
    const estimate = t.estimatedRows < 0 ? "never analysed" : `~${plural(t.estimatedRows, "row")}`;
    out.push(
      `    ${padWidth(shownName(t.table), nameWidth, "l")}  ${estimate.padStart(16)}  ${
        formatBytes(t.estimatedBytes).padStart(8)
      }${t.role ? `  ${describeRole(t)}` : ""}`,
      `      ${t.copy}`,
    );
  }
  if (plan.subset) {
    out.push("", "  subset: the foreign keys among the tables, and how they are followed:");
    for (const k of plan.subset) out.push(`    ${describeKey(k)}`);
  }
  const kinds = new Map<string, string[]>();
  for (const o of plan.structure) {
    const names = kinds.get(o.type) ?? [];
    names.push(objectName(o));
    kinds.set(o.type, names);
  }
  const kindWidth = Math.max(0, ...[...kinds.keys()].map((k) => k.length));
  out.push(
    "",
    `  structure created in target schema ${JSON.stringify(plan.target.schema)} (${
      plural(plan.structure.length, "object")
    }, from pg_dump):`,
  );
  for (const [kind, names] of kinds) {
    out.push(`    ${kind.padEnd(kindWidth)}  ${wrapList(names, 6 + kindWidth)}`);
  }
  if (plan.extensions.length) {
    out.push(
      `  extensions the tables use (created on the target when it lacks them): ${
        plan.extensions.join(", ")
      }`,
    );
  }
  if (plan.searchPathMoved.length) {
    out.push(
      `  SET search_path naming schema ${
        JSON.stringify(plan.source.schema)
      } given the target's instead: ${wrapList(plan.searchPathMoved, 4)}`,
    );
  }
  if (plan.leftOut.length) {
    out.push(
      "",
      `  left out of target schema ${JSON.stringify(plan.target.schema)} (${
        plural(plan.leftOut.length, "object")
      } of the source schema):`,
    );
    const byReason = new Map<string, string[]>();
    for (const o of plan.leftOut) {
      const key = `${o.reason}; ${o.todo}`;
      byReason.set(key, [...byReason.get(key) ?? [], `${o.type} ${o.name}`]);
    }
    for (const [why, names] of byReason) {
      out.push(`    ${wrapList(names, 4)}`, `      ${why}`);
    }
  }
  if (plan.foreignKeysLeftOut.length) {
    out.push("", "  foreign keys left out:");
    for (const fk of plan.foreignKeysLeftOut) {
      out.push(
        `    ${shownName(fk.name)} on ${shownName(fk.table)} → ${fk.references}: ${fk.reason}`,
      );
    }
  }
  if (plan.warnings.length) {
    out.push("", "  warnings:", ...plan.warnings.map((w) => `    ${w}`));
  }
  out.push(
    "",
    "  not checked by a dry run (it does not connect to the target):",
    ...plan.notChecked.map((c) => `    - ${c}`),
  );
  return out.join("\n");
}
