/**
 * What a run returns (`JobReport`), from what its steps returned: the tables' reports, the
 * warnings, the objects restored counted by kind, the objects left out. Pure; a dry run's
 * counterpart is `dry_run.ts`.
 *
 * @example
 * ```ts
 * import { jobReport } from "./job_report.ts";
 * import type { JobConfig } from "./config.ts";
 * import type { SourcePlan } from "./plan.ts";
 * import type { TocEntry } from "./toc.ts";
 * import type { TableReport } from "./types.ts";
 * import type { CopyWork } from "./types.ts";
 * declare const config: JobConfig, plan: SourcePlan, toc: TocEntry[], tables: TableReport[];
 * declare const work: CopyWork;
 * const { structure } = plan;
 * const copied = { tables, work };
 * jobReport({ config, structure, toc, copied, warnings: [], seconds: 2.5, steps: {} }).objects;
 * // { TABLE: 3, VIEW: 1 }
 * ```
 * @module
 */

import type { Structure } from "./source_objects.ts";
import { restoredEntries, type TocEntry } from "./toc.ts";
import type { CopyWork, JobReport, StepSeconds, TableReport } from "./types.ts";

/**
 * How many objects of each kind: `{ TABLE: 3, VIEW: 2 }`.
 *
 * @example
 * ```ts
 * countKinds(["TABLE", "VIEW", "TABLE"]); // { TABLE: 2, VIEW: 1 }
 * ```
 */
export function countKinds(kinds: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of kinds) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

/** What a run's report is made of. */
export interface RunOutcome {
  /** The job (a `JobConfig`): its name and schemas. */
  config: { name: string; source: { schema: string }; target: { schema: string } };
  /** What the plan chose of the source schema (`SourcePlan.structure`). */
  structure: Pick<Structure, "objects" | "leftOut">;
  /** The dump's table of contents (`Archive.toc`). */
  toc: readonly TocEntry[];
  /** What the copy step returned: its tables' reports and its workers' time. */
  copied: { tables: TableReport[]; work: CopyWork };
  warnings: string[];
  /** Wall time of the whole job. */
  seconds: number;
  /** Wall time of each step (`JobContext.steps`). */
  steps: StepSeconds;
}

/**
 * A run's report: the job, its target schema, the copy's table reports, the warnings, the
 * restored objects of the dump counted by kind, the objects left out, and where the time went.
 *
 * @example
 * ```ts
 * const report = jobReport({
 *   config: { name: "dev", source: { schema: "public" }, target: { schema: "staging" } },
 *   structure: { objects: new Set(), leftOut: [] },
 *   toc: [], warnings: [], seconds: 1, steps: { connect: 0.1 },
 *   copied: {
 *     tables: [],
 *     work: { workers: 2, seconds: 0, copying: 0, indexing: 0, analysing: 0, idle: 0 },
 *   },
 * });
 * report.objects; // {}
 * ```
 */
export function jobReport(outcome: RunOutcome): JobReport {
  const { config, structure } = outcome;
  return {
    job: config.name,
    target: config.target.schema,
    tables: outcome.copied.tables,
    warnings: outcome.warnings,
    objects: countKinds(
      restoredEntries(outcome.toc, structure.objects, config.source.schema, []).map((e) => e.type),
    ),
    leftOut: structure.leftOut,
    seconds: outcome.seconds,
    steps: outcome.steps,
    copyWork: outcome.copied.work,
  };
}
