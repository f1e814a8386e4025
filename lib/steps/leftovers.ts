/**
 * The first write of a run on the target, once the plan's checks passed: the shadow schemas and
 * old target schemas that killed or failed runs left for this target are dropped, in batches
 * (the target lock says no live run owns them). One a reader still holds is kept, with a warning.
 *
 * @example
 * ```ts
 * import { clearLeftovers } from "./leftovers.ts";
 * import type { Clients } from "./connect.ts";
 * import type { TargetState } from "../target.ts";
 * import type { JobContext } from "../job_context.ts";
 * declare const ctx: JobContext;
 * declare const clients: Clients, targetState: TargetState;
 * await clearLeftovers(ctx, clients.lock, { budget: targetState.lockBudget });
 * ```
 * @module
 */

import type { Conn } from "../connect.ts";
import { describeError } from "../errors.ts";
import type { JobContext } from "../job_context.ts";
import type { DropOptions } from "../schema_drop.ts";
import { dropLeftovers } from "../target.ts";

/**
 * Drops the leftovers of earlier runs of this target, and says so.
 *
 * @example
 * ```ts
 * import type { Conn } from "../connect.ts";
 * import type { JobContext } from "../job_context.ts";
 * declare const ctx: JobContext, lock: Conn;
 * await clearLeftovers(ctx, lock, { budget: 1600, lockTimeoutMs: 5000, attempts: 6 });
 * ```
 */
export async function clearLeftovers(
  ctx: JobContext,
  lock: Conn,
  options: Omit<DropOptions, "signal">,
): Promise<void> {
  const { dropped, kept } = await dropLeftovers(lock, ctx.config.target.schema, {
    ...options,
    signal: ctx.signal,
  });
  for (const { schema, reason } of kept) {
    ctx.warn(
      `could not drop "${schema}", left by an earlier run (${describeError(reason)}); ` +
        `a later run drops it`,
    );
  }
  if (dropped.length) {
    ctx.emit({
      kind: "info",
      message: `dropped leftovers of an earlier run: ${dropped.join(", ")}`,
    });
  }
}
