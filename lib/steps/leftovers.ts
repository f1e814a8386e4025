/**
 * The first write of a run on the target, once the plan's checks passed: the shadow schemas that
 * killed runs left for this target are dropped (the target lock says no live run owns them).
 *
 * @example
 * ```ts
 * import { clearLeftovers } from "./leftovers.ts";
 * await clearLeftovers(ctx, clients.lock);
 * ```
 * @module
 */

import type { Conn } from "../connect.ts";
import type { JobContext } from "../job_context.ts";
import { dropLeftovers } from "../target.ts";

/** Drops the leftovers of earlier runs of this target, and says so. */
export async function clearLeftovers(ctx: JobContext, lock: Conn): Promise<void> {
  const dropped = await dropLeftovers(lock, ctx.config.target.schema);
  if (dropped.length) {
    ctx.emit({
      kind: "info",
      message: `dropped leftovers of an earlier run: ${dropped.join(", ")}`,
    });
  }
}
