/**
 * The end of the shadow schema. The swap step replaces the target schema with it in one short
 * transaction, with a lock timeout and a bounded retry, so a long reader makes the job wait a
 * bounded time instead of queueing every other reader behind it. An old target schema whose
 * drop fits in one transaction's share of the lock table is dropped in that transaction;
 * a larger one is renamed aside (and marked) in it, and dropped in batches once the new schema
 * is in place. When the job fails before, the shadow is dropped instead (`discardShadow`).
 *
 * @example
 * ```ts
 * import { swap } from "./swap.ts";
 * import type { Clients } from "./connect.ts";
 * import type { ShadowNames } from "../shadow.ts";
 * import type { JobContext } from "../job_context.ts";
 * declare const ctx: JobContext;
 * declare const clients: Clients, names: ShadowNames;
 * await swap(ctx, clients.lock, { names, target: "staging", cascade: false, budget: 1600 });
 * ```
 * @module
 */

import {
  type Conn,
  connectionLost,
  inLockedTransaction,
  type LockWait,
  openClient,
  type Sql,
} from "../connect.ts";
import { DependentsError, describeError, hasSqlState, SwapError } from "../errors.ts";
import type { JobContext } from "../job_context.ts";
import { dropSchemaInBatches, relationsToDrop } from "../schema_drop.ts";
import { type ShadowMarker, type ShadowNames, swapSql } from "../shadow.ts";
import { findDependents, lockHolders, lockTarget, withName } from "../target.ts";
import { readLockBudget } from "../lock_budget.ts";
import { OLD_SCHEMA_SQL } from "../target_sql.ts";

/**
 * Swaps the shadow in; warns of each dependent dropped with the old target schema (`cascade`),
 * and when a renamed old schema cannot be dropped yet (the next run drops it).
 *
 * @example
 * ```ts
 * import type { Conn } from "../connect.ts";
 * import type { JobContext } from "../job_context.ts";
 * import type { ShadowNames } from "../shadow.ts";
 * declare const ctx: JobContext, lock: Conn, names: ShadowNames;
 * await swap(ctx, lock, { names, target: "staging", cascade: false, budget: 1600 });
 * ```
 */
export async function swap(
  ctx: JobContext,
  lock: Conn,
  options: Omit<SwapOptions, "signal" | "marker" | "onTimeout">,
): Promise<void> {
  const marker = {
    pgxmat: "old" as const,
    target: options.target,
    job: ctx.config.name,
    started: new Date().toISOString(),
  };
  // After each lock attempt that timed out: who holds the target schema, and for how long.
  const attempts = options.attempts ?? 6;
  const onTimeout = async (attempt: number) => {
    const holders = await lockHolders(lock, options.target);
    ctx.info(
      `swap: waiting for target schema "${options.target}" (attempt ${attempt} of ${attempts} ` +
        `timed out after ${(options.lockTimeoutMs ?? 5000) / 1000}s): ${
          holders.length ? holders.join("; ") : "held by a session that ended meanwhile"
        }`,
    );
  };
  // The shadow takes the target's name: one run at a time renames to it.
  const { dependents, renamed } = await withName(
    lock,
    options.target,
    () => swapShadow(lock, { ...options, marker, signal: ctx.signal, onTimeout }),
    { onWait: (message) => ctx.info(message), signal: ctx.signal },
  );
  for (const d of dependents) ctx.warn(`dropped with the old target schema (cascade): ${d}`);
  if (!renamed) return;
  try {
    await dropSchemaInBatches(lock, options.names.old, { ...options, signal: ctx.signal });
  } catch (error) {
    if (connectionLost(error) || ctx.signal?.aborted) throw error;
    ctx.warn(
      `could not drop the old schema "${options.names.old}" yet (${describeError(error)}); ` +
        `the new schema is in place, and the next run of this job drops the old one`,
    );
  }
}

/**
 * Drops a failed run's shadow schema over a fresh connection, in batches, holding the target
 * lock again while it does; when that fails, warns that the next run of the job drops it.
 *
 * @example
 * ```ts
 * import type { JobContext } from "../job_context.ts";
 * declare const ctx: JobContext;
 * await discardShadow(ctx, "_pgxmat_shadow_1a2b3c4d_staging");
 * ```
 */
export async function discardShadow(ctx: JobContext, shadow: string): Promise<void> {
  let target: Sql | undefined;
  try {
    target = await openClient("target", ctx.config.connections.target, { max: 1 });
    const conn = await target.reserve();
    // Another run may have started meanwhile: then it owns the target, and drops this
    // shadow as a leftover.
    if (await lockTarget(conn, ctx.config.target.schema)) {
      await dropSchemaInBatches(conn, shadow, {
        budget: await readLockBudget(conn),
        lockTimeoutMs: 10_000,
        attempts: 1,
      });
    }
    conn.release();
  } catch (error) {
    ctx.warn(
      `could not drop shadow schema "${shadow}" (${describeError(error)}); ` +
        `the next run of this job drops it`,
    );
  } finally {
    await target?.end({ timeout: 5 });
  }
}

/** Options of the swap. */
export interface SwapOptions extends LockWait {
  /** The run's names: its shadow, and the old target schema's name if it is renamed. */
  names: ShadowNames;
  target: string;
  /** Drop dependents of the old target schema instead of refusing. */
  cascade: boolean;
  /** The locks one transaction may take: the old schema is dropped in the swap if they suffice. */
  budget: number;
  /** The marker of a renamed old schema. */
  marker: ShadowMarker;
}

/** What the swap did. */
export interface Swapped {
  /** Dependents dropped with the old target schema (only with `cascade`). */
  dependents: string[];
  /** The old target schema was renamed to `names.old`, to be dropped after the swap. */
  renamed: boolean;
}

/**
 * Replaces the target schema with the shadow in one transaction. Extensions living in the old
 * schema move to the new one; the old schema's owner, privileges, default privileges and comment,
 * and its tables' grants, are kept.
 *
 * @example
 * ```ts
 * import type { Conn } from "../connect.ts";
 * import type { ShadowNames } from "../shadow.ts";
 * declare const lock: Conn, names: ShadowNames;
 * const { dependents } = await swapShadow(lock, {
 *   names, target: "staging", cascade: false, budget: 1600,
 *   marker: { pgxmat: "old", target: "staging", job: "j", started: new Date().toISOString() },
 * });
 * ```
 */
export async function swapShadow(conn: Conn, options: SwapOptions): Promise<Swapped> {
  const { names } = options;
  // Read before the transaction: how many locks dropping the old schema would take.
  const oldLocks = (await relationsToDrop(conn, options.target)).reduce((n, r) => n + r.locks, 0);
  try {
    return await inLockedTransaction(conn, options, async (tx) => {
      const [old] = await tx.unsafe(OLD_SCHEMA_SQL, [options.names.shadow, options.target]);
      const dependents = old ? await findDependents(tx, options.target, names.shadow) : [];
      if (dependents.length && !options.cascade) {
        throw new DependentsError(options.target, dependents);
      }
      const drop = oldLocks <= options.budget;
      for (
        const statement of swapSql({
          shadow: names.shadow,
          target: options.target,
          old: old === undefined
            ? undefined
            : drop
            ? { drop: true }
            : { drop: false, name: names.old, marker: options.marker },
          owner: old?.owner ?? null,
          extensionsInTarget: old?.extensions ?? [],
          grants: old?.grants ?? [],
          comment: old?.comment ?? null,
        })
      ) await tx.unsafe(statement);
      return { dependents, renamed: old !== undefined && !drop };
    });
  } catch (error) {
    if (!hasSqlState(error, "55P03") || options.signal?.aborted) throw error;
    const attempts = options.attempts ?? 6;
    throw new SwapError(
      `could not lock target schema "${options.target}" in ${attempts} attempts of ` +
        `${(options.lockTimeoutMs ?? 5000) / 1000}s: other sessions keep using its tables. ` +
        `Retry when they are done, or stop the long queries (see pg_stat_activity).`,
    );
  }
}
