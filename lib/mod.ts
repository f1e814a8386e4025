/**
 * pg-xmat as a library: cross-database materialisations for PostgreSQL. Run a job (or the jobs
 * of a jobs module that match a pattern) and get a report back; failures are typed errors.
 *
 * @example
 * ```ts
 * import { runJobs, type Jobs } from "./mod.ts";
 * const JOBS = {
 *   "export:users": {
 *     source: { database: "postgres://app@prod/app", schema: "public" },
 *     target: { database: "postgres://dev@localhost/dev", schema: "staging" },
 *     tables: { users: { where: { active: true }, select: { email: "md5({column_name})" } } },
 *   },
 * } satisfies Jobs;
 * const reports = await runJobs("export:*", JOBS);
 * ```
 * @module
 */

export type {
  Clear,
  Condition,
  CopyWork,
  Endpoint,
  Job,
  JobPlan,
  JobReport,
  Jobs,
  KeyOption,
  LeftOutForeignKey,
  LeftOutObject,
  Mask,
  ObjectsMode,
  Operators,
  PlannedKey,
  PlannedObject,
  PlannedTable,
  Scalar,
  Select,
  Step,
  StepSeconds,
  SubsetRole,
  TableReport,
  TableSpec,
  Where,
} from "./types.ts";
export type {
  EventBase,
  EventHandler,
  Info,
  Planned,
  RunEvent,
  StepEnd,
  StepStart,
  TableEnd,
  TableEstimate,
  TableStart,
  TableWorkEnd,
  TableWorkStart,
  Warning,
} from "./events.ts";
export type { FormatChoice } from "./plan.ts";
export type { CopyProgress } from "./copy.ts";
export type { ConnInfo } from "./conninfo.ts";
export { planJob, planJobConfig, runJob, runJobConfig, runJobs } from "./run.ts";
export { defaultParallelism, type RunOptions } from "./run_options.ts";
export { type JobConfig, validateJobs } from "./config.ts";
export { DEFAULT_JOBS_FILE, loadJobsModule } from "./load.ts";
export { matchJobs } from "./glob.ts";
export { type MaskName, MASKS } from "./mask.ts";
export { type RunSalt, runSalt, SALT_ENV } from "./mask_key.ts";
export { PII_PATTERNS } from "./pii.ts";
export {
  ConfigError,
  describeError,
  JobError,
  type Place,
  UsageError,
  XmatError,
} from "./errors.ts";
export { redact, redactUrl } from "./redact.ts";
