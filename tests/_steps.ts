/**
 * A run's steps called one at a time, as `lib/run.ts` calls them, for the tests of one step:
 * each test brings the steps before the one it checks, then asserts what that step returned or
 * did. Everything a run would release (connections, snapshot, shadow schema, dump) is released
 * at the end however the test ends.
 *
 * @module
 */

import { validateJobs } from "../lib/config.ts";
import { JobContext } from "../lib/job_context.ts";
import type { RunEvent } from "../lib/events.ts";
import type { SourcePlan } from "../lib/plan.ts";
import { type ShadowNames, shadowNames } from "../lib/shadow.ts";
import type { Snapshot } from "../lib/snapshot.ts";
import type { Archive } from "../lib/structure.ts";
import type { TargetState } from "../lib/target.ts";
import type { CopyWork, Job, TableReport } from "../lib/types.ts";
import { type Clients, closeClients, connect } from "../lib/steps/connect.ts";
import { copyData } from "../lib/steps/copy.ts";
import { checkTarget, planSource } from "../lib/steps/plan.ts";
import { postData } from "../lib/steps/post_data.ts";
import { takeSnapshot } from "../lib/steps/snapshot.ts";
import { dump, removeArchive, restorePreData } from "../lib/steps/structure.ts";
import { discardShadow } from "../lib/steps/swap.ts";
import type { Pair } from "./_servers.ts";

/** A job from `source` schema to `target` schema of a pair, with `tables` and other keys. */
export function pairJob(
  pair: Pair,
  source: string,
  target: string,
  rest: Omit<Job, "source" | "target">,
): Job {
  return {
    source: { database: pair.sourceUrl, schema: source },
    target: { database: pair.targetUrl, schema: target },
    ...rest,
  };
}

/** A job's context (validated as a run validates it), recording its events in `events`. */
export function contextOf(job: Job, events: RunEvent[] = [], name = "steps"): JobContext {
  const [config] = validateJobs({ [name]: job });
  return new JobContext(config, { onEvent: (e) => events.push(e) });
}

/** The steps of one run of `job`, each run once, on the results of those before it. */
export class Steps {
  readonly ctx: JobContext;
  readonly names: ShadowNames;
  /** Every event the job gave, in order. */
  readonly events: RunEvent[] = [];
  #clients?: Clients;
  #snapshot?: Snapshot;
  #plan?: { plan: SourcePlan; targetState: TargetState };
  #structure?: { archive: Archive; shadowState: TargetState };
  #shadowMade = false;

  constructor(job: Job, name = "steps") {
    this.ctx = contextOf(job, this.events, name);
    this.names = shadowNames(this.ctx.config.target.schema);
  }

  /** Connect, with two copy workers. */
  async clients(): Promise<Clients> {
    return this.#clients ??= await connect(this.ctx, 2);
  }

  /** Snapshot, on the connect step's clients. */
  async snapshot(): Promise<Snapshot> {
    const { source, lock } = await this.clients();
    return this.#snapshot ??= await takeSnapshot(this.ctx, source, lock);
  }

  /** Plan: the source in the snapshot, then the target checked. */
  async plan(): Promise<{ plan: SourcePlan; targetState: TargetState }> {
    if (this.#plan) return this.#plan;
    const snapshot = await this.snapshot();
    const plan = await planSource(this.ctx, snapshot, this.names.shadow);
    const { lock } = await this.clients();
    const targetState = await checkTarget(this.ctx, lock, plan, this.ctx.config.cascade);
    return this.#plan = { plan, targetState };
  }

  /** Structure: the dump, and its pre-data restored into the shadow schema. */
  async structure(): Promise<{ archive: Archive; shadowState: TargetState }> {
    if (this.#structure) return this.#structure;
    const { plan, targetState } = await this.plan();
    const snapshot = await this.snapshot();
    const { lock } = await this.clients();
    const archive = await dump(this.ctx, plan, snapshot.id);
    this.#structure = { archive, shadowState: targetState };
    this.#shadowMade = true;
    const shadowState = await restorePreData(this.ctx, {
      plan,
      archive,
      names: this.names,
      targetState,
      lock,
    });
    return this.#structure = { archive, shadowState };
  }

  /** Copy, two tables at a time, none split. */
  async copy(): Promise<{ tables: TableReport[]; work: CopyWork }> {
    await this.structure();
    const { plan } = await this.plan();
    const { source, target } = await this.clients();
    const snapshot = await this.snapshot();
    return await copyData(this.ctx, {
      source,
      target,
      snapshot,
      plan,
      shadow: this.names.shadow,
      parallel: 2,
      splitAbove: Number.MAX_SAFE_INTEGER,
      streams: 2,
    });
  }

  /** Post-data, after the copy. */
  async postData(): Promise<void> {
    const { archive, shadowState } = await this.structure();
    const { plan } = await this.plan();
    const { lock } = await this.clients();
    await postData(this.ctx, { plan, archive, names: this.names, targetState: shadowState, lock });
  }

  /** Releases what the steps hold, as a failed run does (the shadow schema dropped). */
  async release(): Promise<void> {
    await this.#snapshot?.close().catch(() => {});
    if (this.#shadowMade && this.#clients) await discardShadow(this.ctx, this.names.shadow);
    await closeClients(this.#clients ?? {}, { failed: false });
    if (this.#structure) await removeArchive(this.#structure.archive);
  }
}

/** Runs `fn` on the steps of `job`, and releases what they hold afterwards. */
export async function withSteps(job: Job, fn: (steps: Steps) => Promise<void>): Promise<void> {
  const steps = new Steps(job);
  try {
    await fn(steps);
  } finally {
    await steps.release();
  }
}
