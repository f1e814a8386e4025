/**
 * The post-data step: the rows the filters orphaned counted per foreign key (a key with orphans
 * is created `NOT VALID`, left out on a partitioned table, or fails the job with
 * `orphans: "fail"`), then one script on the target: the keys of the indexes the copy step
 * built, the dump's post-data section (indexes, keys, constraints, triggers) under the rename
 * dance, with the materialized views filled from the copied rows and the routines' search paths
 * given the target schema, the sequences' values and the `ANALYZE` of the tables the copy step
 * did not analyse, in as few transactions as the target's lock table allows.
 *
 * @example
 * ```ts
 * import { postData, type PostDataInput } from "./post_data.ts";
 * import type { JobContext } from "../job_context.ts";
 * declare const ctx: JobContext;
 * declare const input: PostDataInput;
 * await postData(ctx, input);
 * ```
 * @module
 */

import type { ForeignKey } from "../source_objects.ts";
import { type Conn, inTransaction } from "../connect.ts";
import { JobError } from "../errors.ts";
import type { JobContext } from "../job_context.ts";
import { packBatches } from "../lock_budget.ts";
import { mayOrphan } from "../foreign_keys.ts";
import type { SourcePlan } from "../plan.ts";
import {
  analyzeSql,
  foreignKeyNotValidSql,
  jobDance,
  orphanCountSql,
  renameDance,
  setvalSql,
  type ShadowNames,
} from "../shadow.ts";
import { refreshSql } from "../schema_objects.ts";
import { searchPath, setLocalSql } from "../sql.ts";
import { type Archive, sectionBatches, statementTransactions, transactions } from "../structure.ts";
import type { TargetState } from "../target.ts";
import { runUnderSourceName } from "./structure.ts";
import {
  describeEntry,
  entryLocks,
  PG_CONSTRAINT,
  selectToc,
  tocKey,
  tocSelection,
} from "../toc.ts";

/** What the post-data step needs. */
export interface PostDataInput {
  plan: SourcePlan;
  archive: Archive;
  names: ShadowNames;
  /** The target as it is after the structure step. */
  targetState: TargetState;
  /** The lock's session, where the orphans are counted. */
  lock: Conn;
}

/** What post-data entries are called in its step's line (others are not counted). */
const POST_DATA_KINDS: Record<string, [string, string]> = {
  "CONSTRAINT": ["constraint", "constraints"],
  "FK CONSTRAINT": ["foreign key", "foreign keys"],
  "CHECK CONSTRAINT": ["check constraint", "check constraints"],
  "INDEX": ["index", "indexes"],
  "TRIGGER": ["trigger", "triggers"],
  "STATISTICS": ["extended statistics", "extended statistics"],
  "POLICY": ["policy", "policies"],
  "RULE": ["rule", "rules"],
};

/**
 * What the post-data step does, for its line: `2 constraints, 3 foreign keys, 1 index, 1
 * trigger, ANALYZE of 2 tables` (keys made from indexes the copy step built count as
 * constraints).
 *
 * @example
 * ```ts
 * import type { SourcePlan } from "../plan.ts";
 * import type { Archive } from "../structure.ts";
 * declare const plan: SourcePlan, archive: Archive;
 * postDataDetail(plan, archive, "acme"); // "1 constraint, 1 foreign key, ANALYZE of 1 table"
 * ```
 */
export function postDataDetail(plan: SourcePlan, archive: Archive, schema: string): string {
  const counts = new Map<string, number>();
  const count = (kind: string, n = 1) => counts.set(kind, (counts.get(kind) ?? 0) + n);
  count("CONSTRAINT", plan.indexBuilds.filter((b) => b.constraint).length);
  const built = plan.indexBuilds.flatMap((b) => b.entries);
  const entries = selectToc(archive.toc, tocSelection(plan.structure.objects, [], built));
  for (const e of entries.filter((e) => archive.postData.has(e.id))) {
    count(describeEntry(e, schema, []).type);
  }
  const parts = Object.entries(POST_DATA_KINDS).flatMap(([kind, [one, many]]) => {
    const n = counts.get(kind) ?? 0;
    return n ? [`${n} ${n === 1 ? one : many}`] : [];
  });
  const analyze = plan.tables.filter((p) => !plan.analyzedInCopy.has(p.table.name)).length;
  if (analyze) parts.push(`ANALYZE of ${analyze} table${analyze === 1 ? "" : "s"}`);
  return parts.join(", ") || "sequences";
}

/**
 * Finishes the shadow schema's structure after its data; see the module's documentation.
 *
 * @example
 * ```ts
 * import type { JobContext } from "../job_context.ts";
 * declare const ctx: JobContext;
 * declare const input: PostDataInput;
 * await postData(ctx, input);
 * ctx.warnings; // foreign keys created NOT VALID, with their orphans counted
 * ```
 */
export async function postData(ctx: JobContext, input: PostDataInput): Promise<void> {
  const { config } = ctx;
  const { plan, names } = input;
  const shadow = names.shadow;
  const orphans = await countOrphans(input);
  const searchPathSql = setLocalSql({ search_path: searchPath([shadow]) });
  const after: string[] = [];
  for (const fk of plan.structure.foreignKeys.filter((f) => orphans.has(f.oid))) {
    const n = orphans.get(fk.oid) ?? 0;
    const what = `foreign key "${fk.name}" of table "${fk.table}": ${n} row${n === 1 ? "" : "s"} ` +
      `reference rows of "${fk.refTable}" that the filters left out`;
    if (config.orphans === "fail") {
      throw new JobError(
        { job: config.name, step: "post-data", table: fk.table },
        `${what}. Widen the filters, or set \`orphans: "not-valid"\``,
      );
    }
    if (fk.tablePartitioned) {
      ctx.warn(`${what}; a partitioned table cannot have a NOT VALID key, so the key is left out`);
      continue;
    }
    ctx.warn(`${what}; the key is created NOT VALID (it checks new rows only)`);
    after.push(foreignKeyNotValidSql(shadow, fk));
  }
  for (const s of plan.sequences) after.push(setvalSql(shadow, s));
  const analyzed = plan.tables.filter((p) => !plan.analyzedInCopy.has(p.table.name));
  // What the copy step built is left out of the script; its keys are made from their indexes
  // before the script's foreign keys need them.
  const left = [...orphans.keys(), ...plan.subset?.dropped ?? []].map((oid) =>
    tocKey(PG_CONSTRAINT, oid)
  );
  const built = plan.indexBuilds.flatMap((b) => b.entries);
  const keys = plan.indexBuilds.flatMap((b) => b.constraint ?? []);
  const budget = input.targetState.lockBudget;
  // A foreign key's check reads both its tables.
  const locksOf = keyLocks(plan);
  const foreignKeys = new Map(plan.structure.foreignKeys.map((fk) => [fk.oid, locksOf(fk)]));
  const batches = await sectionBatches(plan.tools, input.archive, {
    section: "post-data",
    selection: tocSelection(plan.structure.objects, left, built),
    budget,
    weight: (e) =>
      (e.catalogOid === PG_CONSTRAINT && foreignKeys.get(e.objectOid)) || entryLocks(e),
    signal: ctx.signal,
  });
  const dance = jobDance(
    names,
    config.source.schema,
    plan.structure.extensions,
    input.targetState,
  );
  const { prologue, epilogue } = renameDance(dance);
  // While the shadow carries the source schema's name: materialized views are filled from the
  // copied rows (their indexes exist), and routines' search paths are given the target's.
  const refresh = refreshSql(plan.structure.relations, input.archive.toc, config.source.schema);
  for (const name of refresh.unfilled) {
    ctx.warn(
      `materialized view "${name}" is left unfilled: it reads one the source has not filled ` +
        `(REFRESH it on the target once that one is)`,
    );
  }
  // A key, view or sequence statement locks its table, TOAST table and an index or two: 4 is an
  // upper bound. The shadow carries the source schema's name for a moment: one run at a time
  // borrows it.
  await runUnderSourceName(
    ctx,
    input.lock,
    plan.tools,
    transactions([
      ...statementTransactions(keys, budget, 4),
      ...batches.map(({ sql }) => ({ before: prologue, body: sql, after: epilogue })),
      ...statementTransactions(
        [...refresh.statements, ...plan.routines.alter],
        budget,
        4,
        prologue,
        epilogue,
      ),
      ...statementTransactions(after, budget, 4, [searchPathSql]),
      // ANALYZE locks what a read does (`readLocks`: the table, each of its indexes, its TOAST
      // table; a partitioned table's partitions too), many more than 4 for a well-indexed table.
      ...packBatches(analyzed, (p) => p.table.readLocks, budget).map((batch) => ({
        before: [searchPathSql],
        after: batch.map((p) => analyzeSql(shadow, p.table.name)),
      })),
    ]),
  );
}

/**
 * Counts, per foreign key within the job, the rows whose parent the filters left out (keys
 * whose rows cannot be orphaned are not scanned).
 */
async function countOrphans(input: PostDataInput): Promise<Map<number, number>> {
  const { plan, names, targetState } = input;
  const counts = new Map<number, number>();
  const keys: ForeignKey[] = plan.structure.foreignKeys.filter((f) =>
    f.inJob && !plan.subset?.dropped.includes(f.oid) && mayOrphan(f, plan.tables)
  );
  if (!keys.length) return counts;
  // `=` must be the keys' own: citext's, say, where the target has the extension (in the
  // shadow or elsewhere), not text's, found through an implicit cast.
  const path = [
    names.shadow,
    ...plan.structure.extensions.flatMap((e) => targetState.extensions.get(e.name) ?? []),
  ];
  for (const batch of packBatches(keys, keyLocks(plan), targetState.lockBudget)) {
    await inTransaction(input.lock, async (tx) => {
      await tx.unsafe(setLocalSql({ search_path: searchPath(path) }));
      for (const fk of batch) {
        const [row] = await tx.unsafe(orphanCountSql(names.shadow, fk));
        if (Number(row.n) > 0) counts.set(fk.oid, Number(row.n));
      }
    });
  }
  return counts;
}

/**
 * The locks a statement reading both tables of a key (an orphan count, the key's check) keeps
 * until its transaction ends: each table's `readLocks` (its indexes, TOAST table, partitions).
 */
function keyLocks(plan: SourcePlan): (fk: ForeignKey) => number {
  const locks = new Map(plan.catalog.tables.map((t) => [t.name, t.readLocks]));
  return (fk) => (locks.get(fk.table) ?? 4) + (locks.get(fk.refTable) ?? 4);
}
