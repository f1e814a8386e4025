/**
 * The structure step: the source schema's structure dumped in the job's snapshot (all a dry run
 * does), then its pre-data section (tables, types, sequences) restored into a new shadow schema
 * on the target, under the rename dance of `shadow.ts`, in as few transactions as the target's
 * lock table allows.
 *
 * @example
 * ```ts
 * import { dump, removeArchive, restorePreData } from "./structure.ts";
 * import type { Conn } from "../connect.ts";
 * import type { SourcePlan } from "../plan.ts";
 * import type { ShadowNames } from "../shadow.ts";
 * import type { Snapshot } from "../snapshot.ts";
 * import type { TargetState } from "../target.ts";
 * import type { JobContext } from "../job_context.ts";
 * declare const ctx: JobContext;
 * declare const plan: SourcePlan, snapshot: Snapshot, names: ShadowNames;
 * declare const lock: Conn, targetState: TargetState;
 * const archive = await dump(ctx, plan, snapshot.id);
 * const shadowState = await restorePreData(ctx, { lock, plan, archive, names, targetState });
 * await removeArchive(archive);
 * ```
 * @module
 */

import type { Conn } from "../connect.ts";
import type { CreatedTables } from "../created_tables.ts";
import type { JobContext } from "../job_context.ts";
import type { ClientTools } from "../pg_tools.ts";
import type { SourcePlan } from "../plan.ts";
import {
  jobDance,
  renameDance,
  type ShadowMarker,
  type ShadowNames,
  type TargetNames,
} from "../shadow.ts";
import { leftOutObjectWarning, unhandledObjects } from "../schema_objects.ts";
import {
  type Archive,
  dumpStructure,
  runScript,
  sectionBatches,
  transactions,
} from "../structure.ts";
import { readTargetState, type TargetState, withName } from "../target.ts";
import { completingBatch, describeEntry, tocKey, tocSelection } from "../toc.ts";

/**
 * `pg_dump` of the source schema's structure, in the snapshot `snapshotId`, into a private
 * directory (removed again when it fails; else by `removeArchive`). What the dump holds of kinds
 * pg-xmat does not handle joins the plan's left-out objects, with a warning each.
 *
 * @example
 * ```ts
 * import type { JobContext } from "../job_context.ts";
 * import type { SourcePlan } from "../plan.ts";
 * import type { Snapshot } from "../snapshot.ts";
 * declare const ctx: JobContext, plan: SourcePlan, snapshot: Snapshot;
 * const archive = await dump(ctx, plan, snapshot.id);
 * archive.toc.length;
 * ```
 */
export async function dump(
  ctx: JobContext,
  plan: SourcePlan,
  snapshotId: string,
): Promise<Archive> {
  const dir = await Deno.makeTempDir({ prefix: "pg-xmat-" });
  try {
    const archive = await dumpStructure({
      tools: plan.tools,
      source: ctx.config.connections.source,
      schema: ctx.config.source.schema,
      snapshot: snapshotId,
      dir,
      exclude: plan.structure.unneeded,
      signal: ctx.signal,
    });
    const unhandled = unhandledObjects(
      archive.toc.map((e) => ({
        key: tocKey(e.catalogOid, e.objectOid),
        ...describeEntry(e, ctx.config.source.schema, []),
      })),
      plan.structure.objects,
      plan.structure.explained,
      ctx.config.source.schema,
    );
    plan.structure.leftOut.push(...unhandled);
    for (const o of unhandled) ctx.warn(leftOutObjectWarning(o));
    return archive;
  } catch (error) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw error;
  }
}

/**
 * Removes a dumped archive's directory.
 *
 * @example
 * ```ts
 * import type { Archive } from "../structure.ts";
 * declare const archive: Archive;
 * await removeArchive(archive);
 * ```
 */
export async function removeArchive(archive: Archive): Promise<void> {
  await Deno.remove(archive.dir, { recursive: true }).catch(() => {});
}

/** What `restorePreData` needs. */
export interface PreDataInput {
  plan: SourcePlan;
  archive: Archive;
  names: ShadowNames;
  /** The target as the plan step read it. */
  targetState: TargetState;
  /** The lock's session, to read the target again afterwards. */
  lock: Conn;
  /** Told which transaction creates each table, then of each commit (for the copy step). */
  created?: CreatedTables;
}

/**
 * Transactions the pre-data section is cut into at least (where it has more than
 * `SPREAD_ENTRIES` entries a transaction): the copy step starts on the tables of the first while
 * the next ones are created.
 *
 * @example
 * ```ts
 * PRE_DATA_TRANSACTIONS; // 8
 * ```
 */
export const PRE_DATA_TRANSACTIONS = 8;

/**
 * Creates the shadow schema (marked with its job and target) and restores the pre-data section
 * into it, in transactions that each fit the target's lock budget, at least
 * `PRE_DATA_TRANSACTIONS` of them (each under the rename dance; the first creates the shadow),
 * telling `created` which commits complete which tables. Returns the target's state after it:
 * extensions the dance created now live in the shadow schema.
 *
 * @example
 * ```ts
 * import type { JobContext } from "../job_context.ts";
 * declare const ctx: JobContext, input: PreDataInput;
 * const shadowState = await restorePreData(ctx, input);
 * shadowState.schemas.has(input.names.shadow); // true
 * ```
 */
export async function restorePreData(ctx: JobContext, input: PreDataInput): Promise<TargetState> {
  const { config } = ctx;
  const { plan, names, targetState } = input;
  const batches = await sectionBatches(plan.tools, input.archive, {
    section: "pre-data",
    selection: tocSelection(plan.structure.objects),
    budget: targetState.lockBudget,
    spread: PRE_DATA_TRANSACTIONS,
    signal: ctx.signal,
  });
  input.created?.planned(
    completingBatch(batches.map((b) => b.entries), plan.tables.map((p) => p.table)),
    batches.length,
  );
  const marker = {
    pgxmat: "shadow" as const,
    target: config.target.schema,
    job: config.name,
    started: new Date().toISOString(),
  };
  const dance = (state: TargetNames, create?: ShadowMarker) =>
    renameDance(jobDance(names, config.source.schema, plan.structure.extensions, state, create));
  // After the first transaction, the extensions it created live where the source has them: in
  // the shadow schema for those of the source schema (it carried that name then).
  const created = plan.structure.extensions.filter((e) => !targetState.extensions.has(e.name));
  const later = {
    schemas: targetState.schemas,
    extensions: new Map([
      ...targetState.extensions,
      ...created.map((e) =>
        [e.name, e.schema === config.source.schema ? names.shadow : e.schema] as const
      ),
    ]),
  };
  await runUnderSourceName(
    ctx,
    input.lock,
    plan.tools,
    transactions(batches.map(({ sql }, i) => {
      const { prologue, epilogue } = i === 0 ? dance(targetState, marker) : dance(later);
      return { before: prologue, body: sql, after: epilogue };
    })),
    input.created && ((i) => input.created!.committed(i)),
  );
  return await readTargetState(input.lock);
}

/**
 * Runs a script of transactions on the target (`onCommit` told of each commit) while the shadow
 * schema carries the source schema's name in them: one run at a time borrows a name on a target database (`withName`),
 * and a run that waits for it says so.
 *
 * @example
 * ```ts
 * import type { Conn } from "../connect.ts";
 * import type { JobContext } from "../job_context.ts";
 * import type { ClientTools } from "../pg_tools.ts";
 * declare const ctx: JobContext, lock: Conn, tools: ClientTools, script: string;
 * await runUnderSourceName(ctx, lock, tools, script);
 * ```
 */
export async function runUnderSourceName(
  ctx: JobContext,
  lock: Conn,
  tools: ClientTools,
  script: string,
  onCommit?: (index: number) => void,
): Promise<void> {
  await withName(
    lock,
    ctx.config.source.schema,
    () => runScript(tools, ctx.config.connections.target, script, { signal: ctx.signal, onCommit }),
    { onWait: (message) => ctx.info(message), signal: ctx.signal },
  );
}
