/**
 * The snapshot step: the job's one snapshot of the source, exported (see `snapshot.ts`). With
 * the target's lock session at hand (a run, not a dry run), it refuses a source that is the
 * target schema itself, in the same database or a hot standby of it.
 *
 * @example
 * ```ts
 * import { takeSnapshot } from "./snapshot.ts";
 * import type { Clients } from "./connect.ts";
 * import type { JobContext } from "../job_context.ts";
 * declare const ctx: JobContext;
 * declare const clients: Clients;
 * const snapshot = await takeSnapshot(ctx, clients.source, clients.lock);
 * ```
 * @module
 */

import type { Conn, Sql } from "../connect.ts";
import { JobError } from "../errors.ts";
import type { JobContext } from "../job_context.ts";
import { exportSnapshot, type Snapshot } from "../snapshot.ts";
import { sameDatabase } from "../target.ts";

/**
 * Exports the snapshot; with `lock`, checks that the job would not replace its own source.
 *
 * @example
 * ```ts
 * import type { JobContext } from "../job_context.ts";
 * declare const ctx: JobContext;
 * import type { Sql } from "../connect.ts";
 * declare const source: Sql;
 * const snapshot = await takeSnapshot(ctx, source); // a dry run: no target to compare
 * await snapshot.close();
 * ```
 */
export async function takeSnapshot(ctx: JobContext, source: Sql, lock?: Conn): Promise<Snapshot> {
  const { config } = ctx;
  const snapshot = await exportSnapshot(source);
  const same = lock !== undefined && await sameDatabase(snapshot.conn, lock, config.target.schema);
  if (same && config.source.schema === config.target.schema) {
    await snapshot.close();
    throw new JobError(
      { job: config.name, step: "snapshot" },
      `source and target are the same schema "${config.source.schema}" of the same database ` +
        `(or the source is a standby of the target's): the job would replace its own source. ` +
        `Choose another target schema or database.`,
    );
  }
  return snapshot;
}
