/**
 * The options of a run (`RunOptions`, as `runJob` and `runJobs` take them) and what they come to
 * for one job, decided once (`runSettings`): how many tables at a time, whether dependents may
 * be dropped, when a table is split and into how many copies, how long the swap waits for its
 * locks. Pure.
 *
 * @example
 * ```ts
 * import { runSettings } from "./run_options.ts";
 * import type { JobConfig } from "./config.ts";
 * declare const config: JobConfig;
 * const { parallel, streams } = runSettings(config, { jobs: 4 });
 * ```
 * @module
 */

import type { JobConfig } from "./config.ts";
import type { EventHandler } from "./events.ts";
import type { RunSalt } from "./mask_key.ts";
import { copyStreams, type FormatChoice, onThisHost, SPLIT_ABOVE } from "./plan.ts";

/** Options of a run. */
export interface RunOptions {
  /** The job's name in messages (`runJob` only; `runJobs` uses the map's keys). */
  name?: string;
  /** Tables copied at once (default 2, or the machine's core count when larger). */
  jobs?: number;
  /** Drop objects outside the target schema that depend on it (as the job's `cascade`). */
  cascade?: boolean;
  /** COPY data format; `auto` (the default) picks binary where it is safe. */
  format?: FormatChoice;
  /**
   * Tables at least this large (bytes on disk) that would outlast the rest of the copy are
   * split into ranges of pages copied by several workers (default `SPLIT_ABOVE`, 256 MiB).
   */
  splitAbove?: number;
  /**
   * Copies the machines can run at full speed at once; a table is split only into 3 or more
   * (default: one per two cores when both servers are on this host, else `jobs`).
   */
  streams?: number;
  /** Aborting stops the copies, cancels server work and removes the shadow schema. */
  signal?: AbortSignal;
  /** How long one swap attempt waits for the target schema's locks (default 5000 ms). */
  lockTimeoutMs?: number;
  /** How many swap attempts before the job fails (default 6). */
  lockAttempts?: number;
  /** Receives progress events. */
  onEvent?: EventHandler;
  /**
   * The run's salt for jobs without their own (`runSalt`); default: `PGXMAT_SALT`, else a
   * random one (`runJobs` draws one for all its jobs, `runJob` one for its job).
   */
  salt?: RunSalt;
}

/**
 * The default number of tables copied at once.
 *
 * @example
 * ```ts
 * defaultParallelism() >= 2; // true
 * ```
 */
export function defaultParallelism(): number {
  return Math.max(2, Math.min(8, navigator.hardwareConcurrency ?? 2));
}

/** What a job's run uses of its options, their defaults applied. */
export interface RunSettings {
  /** Copy workers: `jobs`, else `defaultParallelism()`. */
  parallel: number;
  /** The job's `cascade`, or the run's. */
  cascade: boolean;
  /** `splitAbove`, else `SPLIT_ABOVE`. */
  splitAbove: number;
  /** `streams`, else as many as the machines run at full speed (`copyStreams`). */
  streams: number;
  /** How the swap and the leftovers' drop wait for their locks. */
  lockWait: { lockTimeoutMs?: number; attempts?: number };
}

/**
 * The settings of one job's run from the run's options; `cores` are this machine's.
 *
 * @example
 * ```ts
 * import type { JobConfig } from "./config.ts";
 * declare const config: JobConfig;
 * runSettings(config, { jobs: 4 }, 2).streams; // 1 when both servers are on this host
 * ```
 */
export function runSettings(
  config: JobConfig,
  options: RunOptions,
  cores: number = navigator.hardwareConcurrency ?? 1,
): RunSettings {
  const parallel = Math.max(1, options.jobs ?? defaultParallelism());
  return {
    parallel,
    cascade: config.cascade || options.cascade === true,
    splitAbove: options.splitAbove ?? SPLIT_ABOVE,
    streams: options.streams ?? copyStreams({
      workers: parallel,
      cores,
      serversHere: onThisHost(config.connections.source.hosts) &&
        onThisHost(config.connections.target.hosts),
    }),
    lockWait: { lockTimeoutMs: options.lockTimeoutMs, attempts: options.lockAttempts },
  };
}
