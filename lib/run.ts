/**
 * One job, top to bottom. Each step is a function of what the steps before it returned:
 *
 * 1. connect (`steps/connect.ts`): both sides, and the target lock;
 * 2. snapshot (`steps/snapshot.ts`): the source's one snapshot; source ≠ target checked;
 * 3. plan (`steps/plan.ts`): the source read in the snapshot, the target checked; then the
 *    leftovers of killed runs dropped (`steps/leftovers.ts`);
 * 4. structure (`steps/structure.ts`): the dump, its pre-data restored into a shadow schema;
 * 5. copy (`steps/copy.ts`): the rows, the index builds, `ANALYZE`, each table's as soon as the
 *    structure step has created it: the two steps run at once;
 * 6. post-data (`steps/post_data.ts`): orphans counted, keys, constraints, sequences;
 * 7. swap (`steps/swap.ts`): the shadow schema becomes the target schema.
 *
 * Only the swap touches the target schema; any failure before it drops the shadow and leaves the
 * target as it was. The source is only read. A dry run is steps 1 to 4 on the source alone,
 * stopped after the dump.
 *
 * @example
 * ```ts
 * import { runJob } from "./run.ts";
 * const report = await runJob({
 *   source: { database: Deno.env.get("SOURCE_DB_URL")!, schema: "public" },
 *   target: { database: Deno.env.get("TARGET_DB_URL")!, schema: "staging" },
 *   tables: { users: { where: { active: true } } },
 * }, { name: "export:users" });
 * report.tables.length;
 * ```
 * @module
 */

import { type JobConfig, selectJobs, validateJobs } from "./config.ts";
import { CreatedTables } from "./created_tables.ts";
import { describePlan } from "./dry_run.ts";
import { JobContext } from "./job_context.ts";
import { jobReport } from "./job_report.ts";
import { runSalt, SALT_ENV } from "./mask_key.ts";
import { type RunOptions, runSettings } from "./run_options.ts";
import { shadowNames } from "./shadow.ts";
import type { Snapshot } from "./snapshot.ts";
import type { Archive } from "./structure.ts";
import { type Clients, closeClients, connect, connectSource } from "./steps/connect.ts";
import { copyData } from "./steps/copy.ts";
import { clearLeftovers } from "./steps/leftovers.ts";
import { checkTarget, planSource } from "./steps/plan.ts";
import { postData, postDataDetail } from "./steps/post_data.ts";
import { takeSnapshot } from "./steps/snapshot.ts";
import { dump, removeArchive, restorePreData } from "./steps/structure.ts";
import { discardShadow, swap } from "./steps/swap.ts";
import type { Job, JobPlan, JobReport, Jobs } from "./types.ts";

/**
 * Runs one job (validated first, like a jobs module's entry) and returns its report; throws a
 * `ConfigError` for an invalid job and a `JobError` naming the step that failed.
 *
 * @example
 * ```ts
 * const job = {
 *   source: { database: "postgres://app@prod/app", schema: "public" },
 *   target: { database: "postgres://dev@localhost/dev", schema: "staging" },
 *   tables: { users: {} },
 * };
 * const report = await runJob(job, { name: "export:users", jobs: 4 });
 * report.tables.map((t) => `${t.table}: ${t.rows}`);
 * ```
 */
export async function runJob(job: Job, options: RunOptions = {}): Promise<JobReport> {
  const [config] = validateJobs({ [options.name ?? "job"]: job });
  return await runJobConfig(config, options);
}

/**
 * Runs the jobs whose names match `pattern`, in the map's order, and stops at the first that
 * fails (its error is thrown). Throws a `UsageError` when no job matches.
 *
 * @example
 * ```ts
 * import type { Jobs } from "./types.ts";
 * declare const JOBS: Jobs;
 * const reports = await runJobs("export:*", JOBS, { jobs: 4 });
 * ```
 */
export async function runJobs(
  pattern: string,
  jobs: Jobs,
  options: RunOptions = {},
): Promise<JobReport[]> {
  const reports: JobReport[] = [];
  options = { ...options, salt: options.salt ?? runSalt(Deno.env.get(SALT_ENV)) };
  for (const config of selectJobs(validateJobs(jobs), pattern)) {
    reports.push(await runJobConfig(config, options));
  }
  return reports;
}

/**
 * What a job would do, without doing it (a dry run): validates the job, connects to the source
 * only, reads its catalog and structure in one snapshot, checks each table's query with
 * `EXPLAIN`, and returns the plan. Writes nothing anywhere; the checks that need the target are
 * listed in the plan's `notChecked`.
 *
 * @example
 * ```ts
 * const plan = await planJob({
 *   source: { database: Deno.env.get("SOURCE_DB_URL")!, schema: "public" },
 *   target: { database: Deno.env.get("TARGET_DB_URL")!, schema: "staging" },
 *   tables: { users: { where: { active: true } } },
 * }, { name: "export:users" });
 * plan.tables[0].copy; // 'COPY (SELECT … WHERE "active" = true) TO STDOUT'
 * ```
 */
export async function planJob(job: Job, options: RunOptions = {}): Promise<JobPlan> {
  const [config] = validateJobs({ [options.name ?? "job"]: job });
  return await planJobConfig(config, options);
}

/** What a job holds that its end releases, as the steps acquire it. */
interface Held {
  clients?: Partial<Clients>;
  snapshot?: Snapshot;
  archive?: Archive;
  /** The shadow schema, once the structure step may have created it. */
  shadow?: string;
}

/** Releases what a job holds: see `asJob`. */
async function release(ctx: JobContext, held: Held, failed: boolean): Promise<void> {
  if (!failed) await held.snapshot?.close();
  await closeClients(held.clients ?? {}, { failed });
  if (failed && held.shadow) await discardShadow(ctx, held.shadow);
  if (held.archive) await removeArchive(held.archive);
}

/**
 * Runs `body` as one job: its context, and what it holds released at the end however it ends
 * (after a failure, the connections closed at once and the shadow schema dropped).
 */
async function asJob<T>(
  config: JobConfig,
  options: RunOptions,
  body: (ctx: JobContext, held: Held) => Promise<T>,
): Promise<T> {
  const ctx = new JobContext(config, options);
  const held: Held = {};
  let failed = true;
  try {
    const result = await body(ctx, held);
    failed = false;
    return result;
  } finally {
    await release(ctx, held, failed);
  }
}

/**
 * Plans one validated job (a dry run): see `planJob`.
 *
 * @example
 * ```ts
 * import { validateJobs } from "./config.ts";
 * import { loadJobsModule } from "./load.ts";
 * const [config] = validateJobs(await loadJobsModule("pg_xmat_jobs.ts"));
 * const plan = await planJobConfig(config);
 * plan.structure.map((o) => `${o.type} ${o.name}`); // ["TABLE users", "CONSTRAINT users_pkey"]
 * ```
 */
export function planJobConfig(config: JobConfig, options: RunOptions = {}): Promise<JobPlan> {
  const started = performance.now();
  const { shadow } = shadowNames(config.target.schema);
  return asJob(config, options, async (ctx, held) => {
    const source = await ctx.step("connect", () => connectSource(ctx), "source only: dry run");
    held.clients = { source };
    const snapshot = held.snapshot = await ctx.step("snapshot", () => takeSnapshot(ctx, source));
    const plan = await ctx.step(
      "plan",
      () => planSource(ctx, snapshot, shadow, options.format, options.salt),
    );
    const archive = held.archive = await ctx.step(
      "structure",
      () => dump(ctx, plan, snapshot.id),
      "listing objects",
    );
    return describePlan(config, plan, archive.toc, ctx.warnings, seconds(started));
  });
}

/**
 * Runs one validated job: see `runJob`.
 *
 * @example
 * ```ts
 * import { validateJobs } from "./config.ts";
 * import type { Jobs } from "./types.ts";
 * declare const JOBS: Jobs;
 * const [config] = validateJobs(JOBS);
 * (await runJobConfig(config)).tables.length;
 * ```
 */
export function runJobConfig(config: JobConfig, options: RunOptions = {}): Promise<JobReport> {
  const started = performance.now();
  const { parallel, cascade, splitAbove, streams, lockWait } = runSettings(config, options);
  const names = shadowNames(config.target.schema);
  return asJob(config, options, async (ctx, held) => {
    const clients = held.clients = await ctx.step("connect", () => connect(ctx, parallel));
    const { source, target, lock } = clients;
    const snapshot = held.snapshot = await ctx.step(
      "snapshot",
      () => takeSnapshot(ctx, source, lock),
    );
    const { plan, targetState } = await ctx.step("plan", async () => {
      const plan = await planSource(ctx, snapshot, names.shadow, options.format, options.salt);
      const targetState = await checkTarget(ctx, lock, plan, cascade);
      // Every check passed: now the target may be written, starting with what killed runs left.
      await clearLeftovers(ctx, lock, { budget: targetState.lockBudget, ...lockWait });
      return { plan, targetState };
    });
    const tables = `${plan.tables.length} table${plan.tables.length === 1 ? "" : "s"}`;
    const { shadow } = names;
    // The copy step starts on each table once the structure step's transaction that creates it
    // has committed: the two steps overlap, each stopped by the other's failure.
    const created = new CreatedTables();
    const [{ archive, shadowState }, copied] = await overlap(ctx, [
      (ctx) =>
        ctx.step("structure", async () => {
          const archive = held.archive = await dump(ctx, plan, snapshot.id);
          held.shadow = names.shadow;
          const shadowState = await restorePreData(ctx, {
            plan,
            archive,
            names,
            targetState,
            lock,
            created,
          });
          return { archive, shadowState };
        }, tables),
      (ctx) =>
        ctx.step(
          "copy",
          () =>
            copyData(ctx, {
              source,
              target,
              snapshot,
              plan,
              shadow,
              parallel,
              splitAbove,
              streams,
              created,
            }),
          `${tables}, ${parallel} at a time`,
        ),
    ]);
    await ctx.step(
      "post-data",
      () => postData(ctx, { plan, archive, names, targetState: shadowState, lock }),
      postDataDetail(plan, archive, config.source.schema),
    );
    await ctx.step("swap", () =>
      swap(ctx, lock, {
        names,
        target: config.target.schema,
        cascade,
        budget: targetState.lockBudget,
        ...lockWait,
      }));
    return jobReport({
      config,
      structure: plan.structure,
      toc: archive.toc,
      copied,
      warnings: ctx.warnings,
      seconds: seconds(started),
      steps: ctx.steps,
    });
  });
}

/**
 * Runs steps at once, each with a context that the first failure stops, and waits for all of
 * them to end (nothing of theirs runs on while the job cleans up); throws the first failure.
 */
async function overlap<T extends unknown[]>(
  ctx: JobContext,
  steps: { [K in keyof T]: (ctx: JobContext) => Promise<T[K]> },
): Promise<T> {
  const stop = new AbortController();
  const both = ctx.stoppedBy(stop.signal);
  let first: { error: unknown } | undefined;
  const results = await Promise.allSettled(
    steps.map((step) =>
      step(both).catch((error) => {
        first ??= { error };
        stop.abort();
        throw error;
      })
    ),
  );
  if (first) throw first.error;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as T;
}

function seconds(since: number): number {
  return (performance.now() - since) / 1000;
}
