/**
 * The plan step. It reads: the source in the job's snapshot (its catalog, each table's query
 * checked with `EXPLAIN`, the structure the tables need, their indexes and sequences) into a
 * `SourcePlan`, and, for a run, the target, to refuse early what the swap would refuse. It
 * writes nothing: the leftovers of killed runs are dropped apart (`leftovers.ts`), once every
 * check passed.
 *
 * @example
 * ```ts
 * import { checkTarget, planSource } from "./plan.ts";
 * import type { Clients } from "./connect.ts";
 * import type { ShadowNames } from "../shadow.ts";
 * import type { Snapshot } from "../snapshot.ts";
 * import type { JobContext } from "../job_context.ts";
 * declare const ctx: JobContext;
 * declare const clients: Clients, snapshot: Snapshot, names: ShadowNames;
 * const plan = await planSource(ctx, snapshot, names.shadow, "auto");
 * const targetState = await checkTarget(ctx, clients.lock, plan, false);
 * ```
 * @module
 */

import {
  type LockedTable,
  lockedTable,
  readSchema,
  readSequenceValues,
  readTableSizes,
  type Table,
} from "../catalog.ts";
import { type Extension, readStructure } from "../source_objects.ts";
import { readIndexes } from "../indexes.ts";
import { type Conn, connectionLost } from "../connect.ts";
import { DependentsError, hasSqlState, JobError, type Place } from "../errors.ts";
import type { JobContext } from "../job_context.ts";
import { maskKey, RANDOM_SALT_WARNING, type RunSalt, runSalt, SALT_ENV } from "../mask_key.ts";
import { findClientTools, serverMajor } from "../pg_tools.ts";
import { guardPersonalData } from "../pii.ts";
import type { Snapshot } from "../snapshot.ts";
import {
  analyzedInCopy,
  type FormatChoice,
  indexBuilds,
  largestFirst,
  planTables,
  type SourcePlan,
  type TablePlan,
  tableRole,
} from "../plan.ts";
import { droppedWarning, leftOutWarning } from "../foreign_keys.ts";
import { routineNotes } from "../routines.ts";
import { leftOutWarnings } from "../schema_objects.ts";
import { packBatches, readLockBudget } from "../lock_budget.ts";
import type { SubsetPlan } from "../subset.ts";
import { subsetStep } from "../subset_step.ts";
import { explainSql, quoteIdent, rowSecuritySql, setLocalSql } from "../sql.ts";
import {
  findDependents,
  foreignDefaultPrivileges,
  readTargetState,
  type TargetState,
  unborrowable,
} from "../target.ts";
import {
  largeObjectRefusal,
  readLargeObjectColumns,
  readTriggerColumns,
  triggerLeaks,
} from "../plan_checks.ts";

/**
 * Reads what the job needs of the source, inside the snapshot's transaction, and plans it;
 * index builds are planned on the `shadow` schema's tables. `salt` is the run's, for masks of a
 * job without its own. Only the tables the job copies are opened (their sizes, their queries'
 * `EXPLAIN`): a table another session locks waits the transaction's `lock_timeout` at most,
 * then fails the step by name; an abort cancels the read that waits.
 *
 * @example
 * ```ts
 * import type { JobContext } from "../job_context.ts";
 * declare const ctx: JobContext;
 * import type { Snapshot } from "../snapshot.ts";
 * declare const snapshot: Snapshot;
 * const plan = await planSource(ctx, snapshot, "_pgxmat_shadow_1a2b3c4d_staging");
 * plan.tables.map((t) => t.select); // ['SELECT "id", … FROM ONLY "public"."users"']
 * ```
 */
export async function planSource(
  ctx: JobContext,
  snapshot: Snapshot,
  shadow: string,
  format?: FormatChoice,
  salt?: RunSalt,
): Promise<SourcePlan> {
  const cancel = () => void snapshot.cancel().catch(() => {});
  ctx.signal?.addEventListener("abort", cancel, { once: true });
  try {
    return await readAndPlan(ctx, snapshot.conn, shadow, format, salt);
  } finally {
    ctx.signal?.removeEventListener("abort", cancel);
  }
}

/** `planSource`, on the snapshot's connection. */
async function readAndPlan(
  ctx: JobContext,
  conn: Conn,
  shadow: string,
  format?: FormatChoice,
  salt?: RunSalt,
): Promise<SourcePlan> {
  const { config } = ctx;
  const place = { job: config.name, step: "plan", side: "source" } as const;
  // The client tools first: checked against the source server's version before other work.
  const [{ server_version_num }] = await conn`SHOW server_version_num`;
  const tools = await findClientTools(serverMajor(Number(server_version_num)));
  const catalog = await readSchema(conn, config.source.schema);
  if (!catalog) {
    throw new JobError(
      place,
      `schema "${config.source.schema}" does not exist on the source ${
        config.connections.source.hosts[0]
      }`,
    );
  }
  let tables = planTables(config, catalog, format);
  if (tables.length === 0) {
    throw new JobError(place, `schema "${catalog.schema}" of the source has no tables to copy`);
  }
  // Aborted before the read reached the server, the cancel found nothing to stop.
  ctx.signal?.throwIfAborted();
  const locked = await readTableSizes(conn, tables.map((p) => p.table));
  if (locked) throw lockedError(place, locked);
  tables = largestFirst(tables);
  for (const warning of guardPersonalData(config, tables)) ctx.warn(warning);
  const key = masksKey(ctx, tables, salt);
  const largeObjects = await readLargeObjectColumns(conn, catalog.schema, tables);
  if (largeObjects.length) throw new JobError(place, largeObjectRefusal(largeObjects));
  const triggers = await readTriggerColumns(conn, tables);
  for (const warning of triggerLeaks(triggers, tables)) ctx.warn(warning);
  const structure = await readStructure(
    conn,
    catalog,
    tables.map((p) => p.table.oid),
    config.objects,
  );
  const subset = config.subset
    ? await subsetStep(conn, config, catalog, tables, structure.foreignKeys)
    : undefined;
  if (subset) tables = subset.plans;
  await probeQueries(ctx, conn, tables, catalog.tables, subset?.subset);
  if (structure.missing.length) {
    throw new JobError(
      place,
      `the tables cannot be created without relations the job does not bring: ${
        structure.missing.join("; ")
      }. Add the tables to the job (\`where: "false"\` copies a table's structure only); ` +
        `a view or materialized view comes with \`objects: "dependent"\` or \`"all"\` when the ` +
        `job copies every table it reads; pg-xmat copies no foreign tables: leave out what needs one`,
    );
  }
  const indexes = await readIndexes(conn, tables.map((p) => p.table.oid));
  const builds = indexBuilds(indexes, shadow);
  const dropped = subset?.subset.dropped ?? [];
  for (const fk of structure.foreignKeys) {
    if (dropped.includes(fk.oid)) ctx.warn(droppedWarning(fk));
    else if (!fk.inJob) ctx.warn(leftOutWarning(fk));
  }
  for (const object of structure.outside) {
    ctx.warn(
      `the job's objects use ${object}, which pg-xmat does not copy: it must exist on the target`,
    );
  }
  for (const warning of leftOutWarnings(structure.leftOut)) ctx.warn(warning);
  const routines = routineNotes(structure.routines, catalog.schema, config.target.schema);
  for (const warning of routines.warnings) ctx.warn(warning);
  const sequences = await readSequenceValues(conn, catalog.schema, structure.sequences);
  ctx.emit({
    kind: "planned",
    tables: tables.map((p) => ({
      table: p.table.name,
      ...tableRole(subset?.subset, p.table.name),
      estimatedRows: p.table.rows,
      estimatedBytes: p.table.bytes,
    })),
  });
  return {
    tools,
    catalog,
    tables,
    structure,
    indexBuilds: builds,
    analyzedInCopy: analyzedInCopy(tables, structure.withStatistics, indexes, builds),
    sequences,
    maskKey: key,
    routines,
    ...(subset ? { subset: subset.subset } : {}),
  };
}

/** What the user reads when a table the job reads stayed locked while the plan waited. */
function lockedError(place: Place, locked: LockedTable): JobError {
  const which = locked.table ? `table "${locked.table}"` : "a table the job reads";
  const who = locked.holders.length ? ` (${locked.holders.join("; ")})` : "";
  return new JobError(
    { ...place, table: locked.table || undefined },
    `another session holds a lock on ${which}${who}; the job waited ${locked.waited} for it ` +
      `(VACUUM FULL, ALTER TABLE, LOCK TABLE or a migration takes such a lock). Wait for that ` +
      `session to end and run again, or leave the table (or the query that reads it) out of the job`,
  );
}

/**
 * The key the job's masks read on the source, when it masks any column: from the job's salt,
 * else the run's (`PGXMAT_SALT` or a random one, which the plan and the report say).
 */
function masksKey(ctx: JobContext, tables: readonly TablePlan[], run?: RunSalt) {
  if (!tables.some((p) => Object.keys(p.query.masks ?? {}).length)) return undefined;
  const salt: RunSalt = ctx.config.salt !== undefined
    ? { value: ctx.config.salt, origin: "job" }
    : run ?? runSalt(Deno.env.get(SALT_ENV));
  if (salt.origin === "random") ctx.warn(RANDOM_SALT_WARNING);
  return maskKey(salt.value);
}

/**
 * Plans each table's query on the source (`EXPLAIN`), so a bad `select`/`where` or row-level
 * security fails here, before anything is written to the target. A batch of tables is planned
 * in one round trip, and the locks each `EXPLAIN` takes are let go after it (rolled back to a
 * savepoint), so the snapshot's transaction never holds a lock per table of a large schema.
 * A lock the batch waited for in vain is looked up among the schema's tables (`all`), which a
 * query may read besides its own.
 */
async function probeQueries(
  ctx: JobContext,
  conn: Conn,
  tables: readonly TablePlan[],
  all: readonly Table[],
  subset?: SubsetPlan,
) {
  await conn.unsafe(rowSecuritySql(ctx.config.rowSecurity));
  // The queries run with the session's search_path, as the copies will (the catalog reads
  // use an empty one); then the catalog's is put back.
  await conn.unsafe("SET LOCAL search_path TO DEFAULT");
  // A subset's seeds first: a wrong where fails on its own table, not on one whose query
  // carries it.
  const seedFirst = (p: TablePlan) => tableRole(subset, p.table.name).role === "seed" ? 0 : 1;
  const ordered = [...tables].sort((a, b) => seedFirst(a) - seedFirst(b));
  // A table's EXPLAIN locks it and each of its indexes.
  const budget = await readLockBudget(conn);
  for (const batch of packBatches(ordered, (p) => p.table.readLocks, budget)) {
    await conn.unsafe("SAVEPOINT probe");
    try {
      await conn.unsafe(batch.map((p) => explainSql(p.select)).join(";\n")).simple();
    } catch (error) {
      if (connectionLost(error)) throw ctx.fail({ step: "plan", side: "source" }, error);
      if (hasSqlState(error, "55P03")) {
        // Each of the batch again would wait as long again: who holds the lock tells which.
        await conn.unsafe("ROLLBACK TO SAVEPOINT probe");
        const place = { job: ctx.config.name, step: "plan", side: "source" } as const;
        throw lockedError(place, await lockedTable(conn, all));
      }
      // Which table: each of the batch again, alone.
      for (const plan of batch) {
        await conn.unsafe("ROLLBACK TO SAVEPOINT probe");
        try {
          await conn.unsafe(explainSql(plan.select));
        } catch (error) {
          if (!connectionLost(error)) await conn.unsafe("ROLLBACK TO SAVEPOINT probe");
          throw ctx.fail({ step: "plan", table: plan.table.name, side: "source" }, error);
        }
      }
      throw ctx.fail({ step: "plan", side: "source" }, error);
    }
    await conn.unsafe("ROLLBACK TO SAVEPOINT probe");
    await conn.unsafe("RELEASE SAVEPOINT probe");
  }
  await conn.unsafe(setLocalSql({ search_path: "" }));
}

/**
 * Reads the target (on the lock's session) and refuses what the run could not finish: an
 * extension the target lacks in a schema it lacks, default privileges in the target schema the
 * role cannot give again, objects elsewhere that depend on the target schema (unless `cascade`).
 * Returns the target's schemas and extensions.
 *
 * @example
 * ```ts
 * import type { JobContext } from "../job_context.ts";
 * declare const ctx: JobContext;
 * import type { Conn } from "../connect.ts";
 * import type { SourcePlan } from "../plan.ts";
 * declare const lock: Conn, plan: SourcePlan;
 * const state = await checkTarget(ctx, lock, plan, ctx.config.cascade);
 * state.schemas.has(ctx.config.target.schema);
 * ```
 */
export async function checkTarget(
  ctx: JobContext,
  lock: Conn,
  plan: SourcePlan,
  cascade: boolean,
): Promise<TargetState> {
  const { config } = ctx;
  const target = config.target.schema;
  const place = { job: config.name, step: "plan", side: "target" } as const;
  const state = await readTargetState(lock);
  const missing = missingExtension(plan.structure.extensions, state, config.source.schema);
  if (missing) {
    throw new JobError(
      place,
      `the tables use extension "${missing.name}", which the target lacks; on the source it lives in ` +
        `schema "${missing.schema}", which the target does not have. Create the schema or the extension ` +
        `on the target (CREATE EXTENSION ${quoteIdent(missing.name)} WITH SCHEMA ${
          quoteIdent(missing.schema)
        })`,
    );
  }
  const borrowed = await unborrowable(lock, config.source.schema);
  if (borrowed) throw new JobError(place, borrowed);
  if (!state.schemas.has(target)) return state;
  const { role, owners } = await foreignDefaultPrivileges(lock, target);
  if (owners.length) {
    throw new JobError(
      place,
      `target schema "${target}" has default privileges given by ${
        owners.map((r) => `role "${r}"`).join(", ")
      } (ALTER DEFAULT PRIVILEGES … IN SCHEMA): the new schema must get them again, and ` +
        `role "${role}" is not a member of ${owners.length > 1 ? "those roles" : "it"}. ` +
        `Grant the membership (GRANT ${owners.map(quoteIdent).join(", ")} TO ${
          quoteIdent(role)
        }), or run the job as a role that has it.`,
    );
  }
  if (!cascade) {
    const dependents = await findDependents(lock, target);
    if (dependents.length) throw new DependentsError(target, dependents);
  }
  return state;
}

/**
 * The first extension the target lacks that the rename dance could not create: its source
 * schema is neither the source schema (the shadow carries that name) nor one the target has.
 */
function missingExtension(
  extensions: readonly Extension[],
  target: TargetState,
  sourceSchema: string,
): Extension | undefined {
  return extensions.find((ext) =>
    !target.extensions.has(ext.name) && ext.schema !== sourceSchema &&
    !target.schemas.has(ext.schema)
  );
}
