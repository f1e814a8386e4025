/**
 * What every step of one job shares: its config, the abort signal, and the voice it reports with
 * (events, warnings, failures placed at their step and table). No step's result is kept here:
 * each step returns its own, and the orchestrator (`run.ts`) passes it on.
 *
 * @example
 * ```ts
 * import { JobContext } from "./job_context.ts";
 * import { validateJobs } from "./config.ts";
 * import type { Jobs } from "./types.ts";
 * declare const JOBS: Jobs;
 * const [config] = validateJobs(JOBS);
 * const ctx = new JobContext(config, { onEvent: console.log });
 * const tables = await ctx.step("plan", async () => ["users"]);
 * ctx.warn("the tables use type other.money, which pg-xmat does not copy");
 * ```
 * @module
 */

import type { JobConfig } from "./config.ts";
import { jobError, type Place, type Step, type XmatError } from "./errors.ts";
import type { EventHandler, RunEvent } from "./events.ts";
import type { StepSeconds } from "./types.ts";

/** An event without its job: the context names it. */
export type JobEvent = RunEvent extends infer E ? E extends RunEvent ? Omit<E, "job"> : never
  : never;

/** What a context needs of the run's options. */
export interface ContextOptions {
  signal?: AbortSignal;
  onEvent?: EventHandler;
}

/**
 * One job's shared context; see the module's documentation.
 *
 * @example
 * ```ts
 * import type { JobConfig } from "./config.ts";
 * declare const config: JobConfig;
 * const ctx = new JobContext(config);
 * await ctx.step("snapshot", () => Promise.resolve());
 * ```
 */
export class JobContext {
  readonly config: JobConfig;
  readonly signal?: AbortSignal;
  /** The warnings given so far, in order: the report's. */
  readonly warnings: string[];
  /** Wall seconds of each step that ended, in order: the report's. */
  readonly steps: StepSeconds;
  readonly #onEvent?: EventHandler;

  constructor(config: JobConfig, options: ContextOptions = {}) {
    this.config = config;
    this.signal = options.signal;
    this.#onEvent = options.onEvent;
    this.warnings = [];
    this.steps = {};
  }

  /**
   * This context, also stopped by `signal`: for steps that overlap, which stop each other. Its
   * warnings and step times are this context's.
   *
   * @example
   * ```ts
   * declare const ctx: JobContext;
   * const stop = new AbortController();
   * const both = ctx.stoppedBy(stop.signal);
   * both.warnings === ctx.warnings; // true
   * ```
   */
  stoppedBy(signal: AbortSignal): JobContext {
    const ctx = new JobContext(this.config, {
      signal: this.signal ? AbortSignal.any([this.signal, signal]) : signal,
      onEvent: this.#onEvent,
    });
    Object.assign(ctx, { warnings: this.warnings, steps: this.steps });
    return ctx;
  }

  /** Tells the observer; an observer's fault never fails a job. */
  emit(event: JobEvent): void {
    try {
      this.#onEvent?.({ ...event, job: this.config.name } as RunEvent);
    } catch {
      // ignored: see above
    }
  }

  /** Something the user should know that does not fail the job (kept for the report). */
  warn(message: string): void {
    this.warnings.push(message);
    this.emit({ kind: "warning", message });
  }

  /** A fact worth a log line (what the job waits for, leftovers dropped). */
  info(message: string): void {
    this.emit({ kind: "info", message });
  }

  /** Any error thrown at `place` of this job, as the `JobError` a user reads. */
  fail(place: Omit<Place, "job">, error: unknown): XmatError {
    return jobError({ job: this.config.name, ...place }, error, this.signal?.aborted === true);
  }

  /**
   * Runs one step: stops first if the job was aborted, tells the observer when it starts (with
   * `detail`) and ends, keeps its wall time, and turns a failure into a `JobError` naming the step.
   */
  async step<T>(step: Step, fn: () => Promise<T>, detail?: string): Promise<T> {
    this.signal?.throwIfAborted();
    this.emit({ kind: "step-start", step, detail });
    const started = performance.now();
    try {
      const result = await fn();
      const seconds = (performance.now() - started) / 1000;
      this.steps[step] = seconds;
      this.emit({ kind: "step-end", step, seconds });
      return result;
    } catch (error) {
      throw this.fail({ step }, error);
    }
  }
}
