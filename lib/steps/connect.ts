/**
 * The connect step: the job's two pools, sized for the copy workers, and the target lock, held on
 * a session of its own until the run ends, so two runs never build the same target schema at
 * once. A dry run connects to the source alone.
 *
 * @example
 * ```ts
 * import { closeClients, connect } from "./connect.ts";
 * import type { JobContext } from "../job_context.ts";
 * declare const ctx: JobContext;
 * const clients = await connect(ctx, 4);
 * await closeClients(clients, { failed: false });
 * ```
 * @module
 */

import { type Conn, openClient, type Sql } from "../connect.ts";
import { JobError } from "../errors.ts";
import type { JobContext } from "../job_context.ts";
import { lockTarget } from "../target.ts";

/** The connections of a run. */
export interface Clients {
  source: Sql;
  target: Sql;
  /** The session that holds the target lock; the target-side reads and the swap run on it. */
  lock: Conn;
}

/**
 * Opens both sides (one connection per worker, one for the snapshot on the source or the lock on
 * the target, and a spare for control queries such as cancelling a worker's statement) and takes
 * the target lock. Whatever was opened is closed again when it fails.
 *
 * @example
 * ```ts
 * import type { JobContext } from "../job_context.ts";
 * declare const ctx: JobContext;
 * const { source, target, lock } = await connect(ctx, 4);
 * ```
 */
export async function connect(ctx: JobContext, parallel: number): Promise<Clients> {
  const { config } = ctx;
  const opened = await Promise.allSettled([
    openClient("source", config.connections.source, { max: parallel + 2 }),
    openClient("target", config.connections.target, { max: parallel + 2 }),
  ]);
  const pools = opened.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const failure = opened.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failure) {
    await Promise.all(pools.map((pool) => pool.end({ timeout: 0 })));
    throw failure.reason;
  }
  const [source, target] = pools;
  try {
    const lock = await target.reserve();
    if (!await lockTarget(lock, config.target.schema)) {
      throw new JobError(
        { job: config.name, step: "connect", side: "target" },
        `another pg-xmat run is building target schema "${config.target.schema}" on this database; ` +
          `wait for it to finish (or stop it) and run again`,
      );
    }
    return { source, target, lock };
  } catch (error) {
    await Promise.all(pools.map((pool) => pool.end({ timeout: 0 })));
    throw error;
  }
}

/**
 * The dry run's connections: the source alone, the snapshot's and a spare to cancel its reads.
 *
 * @example
 * ```ts
 * import type { JobContext } from "../job_context.ts";
 * declare const ctx: JobContext;
 * const source = await connectSource(ctx);
 * await source.end();
 * ```
 */
export async function connectSource(ctx: JobContext): Promise<Sql> {
  return await openClient("source", ctx.config.connections.source, { max: 2 });
}

/**
 * Closes a run's connections. After a failure any of them may be dead or mid-COPY, and
 * postgres.js crashes the process on a query sent to a dead one: they are all closed at once,
 * and the servers roll back whatever was open.
 *
 * @example
 * ```ts
 * import type { JobContext } from "../job_context.ts";
 * declare const ctx: JobContext;
 * const source = await connectSource(ctx);
 * await closeClients({ source }, { failed: true });
 * ```
 */
export async function closeClients(
  clients: Partial<Clients>,
  { failed }: { failed: boolean },
): Promise<void> {
  const pools = [clients.source, clients.target];
  if (failed) {
    await Promise.all(pools.map((pool) => pool?.end({ timeout: 0 })));
    return;
  }
  clients.lock?.release();
  await Promise.all(pools.map((pool) => pool?.end({ timeout: 5 })));
}
