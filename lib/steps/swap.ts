/**
 * The end of the shadow schema. The swap step replaces the target schema with it in one short
 * transaction, with a lock timeout and a bounded retry, so a long reader makes the job wait a
 * bounded time instead of queueing every other reader behind it. When the job fails before,
 * the shadow is dropped instead (`discardShadow`).
 *
 * @example
 * ```ts
 * import { swap } from "./swap.ts";
 * await swap(ctx, clients.lock, { shadow, target: "staging", cascade: false });
 * ```
 * @module
 */

import { type Conn, inTransaction, openClient, type Sql } from "../connect.ts";
import { DependentsError, describeError, hasSqlState, SwapError } from "../errors.ts";
import type { JobContext } from "../job_context.ts";
import { swapSql } from "../shadow.ts";
import { dropShadow, findDependents, lockTarget } from "../target.ts";

/** Swaps the shadow in; warns of each dependent dropped with the old target schema (`cascade`). */
export async function swap(
  ctx: JobContext,
  lock: Conn,
  options: Omit<SwapOptions, "signal">,
): Promise<void> {
  const dropped = await swapShadow(lock, { ...options, signal: ctx.signal });
  for (const d of dropped) ctx.warn(`dropped with the old target schema (cascade): ${d}`);
}

/**
 * Drops a failed run's shadow schema over a fresh connection, holding the target lock again
 * while it does; when that fails, warns that the next run of the job drops it.
 */
export async function discardShadow(ctx: JobContext, shadow: string): Promise<void> {
  let target: Sql | undefined;
  try {
    target = await openClient("target", ctx.config.connections.target, { max: 1 });
    const conn = await target.reserve();
    // Another run may have started meanwhile: then it owns the target, and drops this
    // shadow as a leftover.
    if (await lockTarget(conn, ctx.config.target.schema)) await dropShadow(conn, shadow);
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
export interface SwapOptions {
  shadow: string;
  target: string;
  /** Drop dependents of the old target schema instead of refusing. */
  cascade: boolean;
  /** How long one attempt waits for locks. */
  lockTimeoutMs?: number;
  /** How many attempts before giving up. */
  attempts?: number;
  signal?: AbortSignal;
}

/**
 * Replaces the target schema with the shadow in one transaction. Extensions living in the old
 * schema move to the new one; the old schema's privileges, default privileges and comment, and
 * its tables' grants, are kept. Returns the dependents that were dropped (only with `cascade`).
 */
export async function swapShadow(conn: Conn, options: SwapOptions): Promise<string[]> {
  const lockTimeoutMs = options.lockTimeoutMs ?? 5000;
  const attempts = options.attempts ?? 6;
  for (let attempt = 1;; attempt++) {
    try {
      return await inTransaction(conn, async (tx) => {
        await tx.unsafe(`SET LOCAL lock_timeout = ${Math.max(1, Math.round(lockTimeoutMs))}`);
        const [old] = await tx`
          SELECT n.oid, obj_description(n.oid, 'pg_namespace') AS comment,
                 COALESCE((SELECT jsonb_agg(format('GRANT %s ON SCHEMA %I TO %s%s', a.privilege_type,
                            n.nspname,
                            CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END,
                            CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END))
                    FROM aclexplode(n.nspacl) a
                   WHERE a.grantee <> n.nspowner), '[]')
                 || COALESCE((
                   -- The old tables' and sequences' grants, for the new ones of the same name.
                   SELECT jsonb_agg(format('GRANT %s ON %s %I.%I TO %s%s', a.privilege_type,
                            CASE WHEN c.relkind = 'S' THEN 'SEQUENCE' ELSE 'TABLE' END,
                            n.nspname, c.relname,
                            CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END,
                            CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END)
                            ORDER BY c.relname, a.privilege_type)
                     FROM pg_class c, aclexplode(c.relacl) a
                    WHERE c.relnamespace = n.oid AND a.grantee <> c.relowner
                      AND EXISTS (SELECT 1 FROM pg_class s JOIN pg_namespace sn ON sn.oid = s.relnamespace
                                   WHERE sn.nspname = ${options.shadow} AND s.relname = c.relname
                                     AND (s.relkind = 'S') = (c.relkind = 'S'))), '[]')
                 || COALESCE((
                   -- Default privileges given in the old schema (dropped with it) for the new one.
                   SELECT jsonb_agg(format(
                            'ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA %I GRANT %s ON %s TO %s%s',
                            pg_get_userbyid(d.defaclrole), n.nspname, a.privilege_type,
                            CASE d.defaclobjtype WHEN 'r' THEN 'TABLES' WHEN 'S' THEN 'SEQUENCES'
                                 WHEN 'f' THEN 'FUNCTIONS' WHEN 'T' THEN 'TYPES' END,
                            CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END,
                            CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END)
                            ORDER BY d.defaclrole, d.defaclobjtype, a.grantee, a.privilege_type)
                     FROM pg_default_acl d, aclexplode(d.defaclacl) a
                    WHERE d.defaclnamespace = n.oid), '[]')
                   AS grants,
                 (SELECT json_agg(x.extname) FROM pg_extension x WHERE x.extnamespace = n.oid)
                   AS extensions
            FROM pg_namespace n WHERE n.nspname = ${options.target}`;
        const dependents = old ? await findDependents(tx, options.target, options.shadow) : [];
        if (dependents.length && !options.cascade) {
          throw new DependentsError(options.target, dependents);
        }
        for (
          const statement of swapSql({
            shadow: options.shadow,
            target: options.target,
            targetExists: old !== undefined,
            extensionsInTarget: old?.extensions ?? [],
            grants: old?.grants ?? [],
            comment: old?.comment ?? null,
          })
        ) await tx.unsafe(statement);
        return dependents;
      });
    } catch (error) {
      const lockTimedOut = hasSqlState(error, "55P03");
      if (!lockTimedOut || options.signal?.aborted) throw error;
      if (attempt >= attempts) {
        throw new SwapError(
          `could not lock target schema "${options.target}" in ${attempts} attempts of ` +
            `${lockTimeoutMs / 1000}s: other sessions keep using its tables. Retry when they are ` +
            `done, or stop the long queries (see pg_stat_activity).`,
        );
      }
      await new Promise((r) => setTimeout(r, Math.min(250 * 2 ** attempt, 4000)));
    }
  }
}
