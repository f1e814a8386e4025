/**
 * The job-file contract: the types a jobs module uses (`satisfies Jobs`) and the report a run
 * returns. This module has no runtime code, so a job file can import it with `import type`.
 *
 * @example
 * ```ts
 * import type { Jobs } from "./types.ts";
 * export const JOBS = {
 *   "export:users": {
 *     source: { database: "postgres://app@prod/app", schema: "public" },
 *     target: { database: "postgres://dev@localhost/dev", schema: "staging" },
 *     tables: { users: { where: { active: true } } },
 *   },
 * } satisfies Jobs;
 * ```
 * @module
 */

/** A value that becomes one SQL literal in a `where` condition. */
export type Scalar = string | number | bigint | boolean | Date;

/** Operators of a `where` condition; several in one object are ANDed. */
export interface Operators {
  /** `column >= value` */
  gte?: Scalar;
  /** `column <= value` */
  lte?: Scalar;
  /** `column > value` */
  gt?: Scalar;
  /** `column < value` */
  lt?: Scalar;
  /** `column <> value` (SQL semantics: rows where the column is NULL are left out); `null`: `IS NOT NULL` */
  ne?: Scalar | null;
  /** `column IN (...)`; an empty list matches no row */
  in?: readonly (Scalar | null)[];
  /** `column NOT IN (...)`; an empty list matches every row */
  notIn?: readonly (Scalar | null)[];
  /** `column LIKE pattern` */
  like?: string;
  /** `true`: `IS NULL`; `false`: `IS NOT NULL` */
  isNull?: boolean;
}

/** One column's condition: a scalar (`=`), `null` (`IS NULL`), a list (`IN`), or operators. */
export type Condition = Scalar | null | readonly (Scalar | null)[] | Operators;

/** Row filter: column → condition (ANDed), or a raw SQL boolean expression. */
export type Where = string | { readonly [column: string]: Condition };

/**
 * A built-in mask: the column's value replaced on the source, deterministically (the same value
 * gives the same result in every table and job of a run, and in runs with the same salt), NULL
 * kept NULL and an empty string kept empty. docs/jobs_file.md: Masks.
 */
export type Mask =
  /** `u7f3a…@example.com`: unique (a keyed hash of the whole address), on a text column. */
  | {
    mask: "email";
    /** Keep the part after the last `@` instead of `domain`. */
    keepDomain?: boolean;
    /** The domain of every masked address (default `example.com`). */
    domain?: string;
  }
  /** A name from a built-in list: `Maria Jensen`, `Maria`, `Jensen`. */
  | { mask: "name" | "first_name" | "last_name" }
  /** Each digit replaced, the rest kept: `+33 6 12 34 56 78` → `+71 4 90 27 83 15`. */
  | { mask: "phone" | "digits" }
  /** Every character but spaces and punctuation replaced by `x`: `Ring me, 9am` → `xxxx xx, xxx`. */
  | { mask: "redact" }
  /** Hex of a keyed hash of the value, unique: `9c1f0e…` (`length` hex digits, default 32). */
  | { mask: "hash"; length?: number }
  /** NULL, on a nullable column. */
  | { mask: "null" }
  /** The same value for every row (NULL stays NULL). */
  | { mask: "constant"; value: Scalar }
  /**
   * A date or timestamp moved by 1 to `days` days (default 30) earlier or later, the number
   * drawn from the value, or from the column `by` (so the dates of one row move together).
   */
  | { mask: "date"; days?: number; by?: string }
  /** A number times a factor in [1 - noise, 1 + noise] (default 0.1), drawn from the value. */
  | { mask: "number"; noise?: number }
  /** An address of the same family (IPv4 / IPv6 in 2001:db8::/32), its prefix length kept. */
  | { mask: "ip" };

/**
 * A column copied as it is, on purpose: a `select` entry that tells the personal-data guard
 * (`pii: "fail"`) this column is known and needs no mask.
 */
export interface Clear {
  /** Always `true`. */
  clear: true;
}

/**
 * Column transformations: column → SQL expression (`{column_name}` stands for the column), a
 * built-in mask, or `{ clear: true }`.
 */
export type Select = { readonly [column: string]: string | Mask | Clear };

/** What to copy of one table. */
export interface TableSpec {
  /** Rows to copy; all rows when absent. */
  where?: Where;
  /** Columns to compute instead of copying them as they are. */
  select?: Select;
  /**
   * With the job's `subset`: `"all"` keeps every row of the table, where the foreign keys would
   * narrow it to the rows that belong to kept rows; `"referenced"` keeps only the rows that kept
   * rows reference. Not with a `where` of the table's own.
   */
  rows?: "all" | "referenced";
  /**
   * With the job's `subset`: foreign keys of this table (by constraint name) the subset does not
   * follow, and what happens to each on the target. `"null"`: its columns are NULL in the rows
   * whose referenced row is not kept, and the key is created (every key column must be nullable);
   * `"drop"`: the values are copied as they are and the key is left out of the target.
   */
  keys?: { readonly [foreignKey: string]: KeyOption };
}

/** What a subset does with a foreign key it does not follow (see `TableSpec.keys`). */
export type KeyOption = "null" | "drop";

/** A database and a schema in it. */
export interface Endpoint {
  /** A `postgres://` URL; its password is never printed. */
  database: string;
  /** The schema's exact name (case matters). */
  schema: string;
}

/** One materialisation: tables of a source schema rebuilt as a target schema. */
export interface Job {
  /** Where rows are read; pg-xmat never writes there. */
  source: Endpoint;
  /** The schema that is rebuilt; it is replaced only when the whole job succeeded. */
  target: Endpoint;
  /** Table name → spec; `"*"` is every table of the source schema. */
  tables: { readonly [table: string]: TableSpec };
  /**
   * Drop objects outside the target schema that depend on it (views, foreign keys) when the
   * old target schema is replaced. Without it such a job is refused and the dependents listed.
   */
  cascade?: boolean;
  /**
   * Copy through the source's row-level security policies (only the rows the source role may
   * see). Without it a table whose policies would filter rows fails the job.
   */
  rowSecurity?: boolean;
  /**
   * What to do with a foreign key whose rows the filters orphaned: `"not-valid"` (default)
   * creates it `NOT VALID` and warns with the count; `"fail"` fails the job before the swap.
   */
  orphans?: "not-valid" | "fail";
  /**
   * The secret the masks are keyed with (typically `Deno.env.get(...)`): the same salt gives
   * the same masked values in every run. Default: `PGXMAT_SALT`, else a random one per run.
   */
  salt?: string;
  /**
   * What to do with a column copied in clear whose name or type looks like personal data:
   * `"warn"` (default) lists it; `"fail"` fails the plan unless it is masked or `{ clear: true }`.
   */
  pii?: "warn" | "fail";
  /**
   * What of the source schema besides the tables to bring: `"all"` (the default with `"*"`)
   * every object pg_dump dumps for the schema (views, materialized views, functions, types,
   * operators, sequences, …); `"dependent"` (the default for named tables) the views and
   * materialized views whose every relation the job copies, and what the tables and those views
   * need; `"tables"` only what the tables need. What is left out is listed, with why.
   */
  objects?: ObjectsMode;
  /**
   * Copy a subset closed under the foreign keys among the job's tables: a table with a `where`
   * is a seed; a table referencing seeds keeps the rows that belong to kept rows; the others are
   * copied whole; every row a kept row references is kept too. Every such key is created VALID.
   */
  subset?: boolean;
}

/** What of the source schema a job brings besides its tables (see `Job.objects`). */
export type ObjectsMode = "tables" | "dependent" | "all";

/** An object of the source schema a job does not bring. */
export interface LeftOutObject {
  /** Its kind: `view`, `materialized view`, `function`, `type`, `cast`, … */
  type: string;
  /** Its name, schema-qualified as on the source (a routine with its argument types). */
  name: string;
  /** Why it is left out. */
  reason: string;
  /** What to do to have it. */
  todo: string;
}

/** A jobs module's export: job name → job. */
export type Jobs = { readonly [name: string]: Job };

/** What happened to one table. */
export interface TableReport {
  /** The table's name in the source (and target) schema. */
  table: string;
  /** Rows written to the target (with `subset`: the rows the table kept). */
  rows: number;
  /** Bytes of COPY data moved. */
  bytes: number;
  /** Seconds the copy took. */
  seconds: number;
}

/** What happened in one job. */
export interface JobReport {
  /** The job's name. */
  job: string;
  /** The target schema that now holds the result. */
  target: string;
  /** One entry per copied table, in copy order. */
  tables: TableReport[];
  /** Warnings, e.g. foreign keys left out. */
  warnings: string[];
  /** The objects created in the target schema, counted by pg_dump's kind (`TABLE`, `VIEW`, …). */
  objects: Record<string, number>;
  /** Objects of the source schema the job did not bring, and why (each is also a warning). */
  leftOut: LeftOutObject[];
  /** Wall time of the whole job. */
  seconds: number;
  /**
   * Wall time of each step, in the order they ended: `connect`, `snapshot`, `plan`, `structure`,
   * `copy`, `post-data`, `swap`. The copy step overlaps the structure step (it starts on each
   * table once the structure step created it), so the steps add up to more than `seconds`.
   */
  steps: StepSeconds;
  /** Where the copy step's wall time went, worker by worker. */
  copyWork: CopyWork;
}

/** A job's steps, in the order they run, named as the log names them. */
export type Step =
  | "connect"
  | "snapshot"
  | "plan"
  | "structure"
  | "copy"
  | "post-data"
  | "swap";

/** Wall seconds of each step that ended. */
export type StepSeconds = Partial<Record<Step, number>>;

/**
 * The copy step's workers' time: each worker's seconds summed, per kind of task. `idle` is what
 * is left of `workers × seconds`: workers waiting for the structure step to create their tables,
 * for a table's data before its index builds, or for a split table's first part.
 */
export interface CopyWork {
  /** Workers (each a source and a target connection). */
  workers: number;
  /** Wall time of the copy step's work. */
  seconds: number;
  /** Copying rows. */
  copying: number;
  /** Building indexes of loaded tables. */
  indexing: number;
  /** `ANALYZE` of loaded tables. */
  analysing: number;
  /** Without a task. */
  idle: number;
}

/**
 * What a table keeps in a subset: `seed` the rows its `where` selects; `owned` the rows that
 * belong to kept rows of the tables it references; `whole` every row; `referenced` only the rows
 * kept rows reference. Every role also keeps the rows kept rows reference.
 */
export type SubsetRole = "seed" | "owned" | "whole" | "referenced";

/** How a subset treats one foreign key among the job's tables. */
export interface PlannedKey {
  /** The constraint's name. */
  name: string;
  /** The table that has it (the partitioned table, for a key declared on a partition). */
  table: string;
  /** The referenced table, schema-qualified. */
  references: string;
  /** Not followed: the job's `keys` option for it. */
  option?: KeyOption;
  /** Followed down: the table's rows are owned through it (they belong to kept rows). */
  down: boolean;
  /** Followed up: kept rows bring the rows they reference (false when that table is whole). */
  up: boolean;
}

/** A table a dry run would copy. */
export interface PlannedTable {
  /** The table's name in the source (and target) schema. */
  table: string;
  /** With `subset`: what the table keeps. */
  role?: SubsetRole;
  /** With `subset`: foreign-key steps from the nearest seed (seed and owned tables). */
  distance?: number;
  /** The source's estimate of the whole table's rows (before `where`); -1 when never analysed. */
  estimatedRows: number;
  /** The table's size on disk in the source, in bytes. */
  estimatedBytes: number;
  /** The statement a run reads the rows with, on the source. */
  copy: string;
}

/** An object a run would create in the target schema, as `pg_dump`'s table of contents names it. */
export interface PlannedObject {
  /** pg_dump's kind: `TABLE`, `SEQUENCE`, `TYPE`, `INDEX`, `CONSTRAINT`, `FK CONSTRAINT`, … */
  type: string;
  /** The object's name (a `DEFAULT`'s is its column's). */
  name: string;
  /** The table a constraint, default, trigger, policy or rule belongs to. */
  table?: string;
}

/** A foreign key a run leaves out. */
export interface LeftOutForeignKey {
  /** The constraint's name. */
  name: string;
  /** The table that has it. */
  table: string;
  /** The referenced table, schema-qualified. */
  references: string;
  /** Why it is left out. */
  reason: string;
}

/** What a run of one job would do, found by a dry run that wrote nothing anywhere. */
export interface JobPlan {
  /** The job's name. */
  job: string;
  /** The source (the URL's password redacted). */
  source: Endpoint;
  /** The target (the URL's password redacted); a dry run does not connect to it. */
  target: Endpoint;
  /** The tables a run copies, largest first, each with its `COPY` statement. */
  tables: PlannedTable[];
  /** The objects a run creates in the target schema, in pg_dump's order. */
  structure: PlannedObject[];
  /** Extensions whose types the tables use; a run creates those the target lacks. */
  extensions: string[];
  /** Objects of the source schema a run does not bring, and why. */
  leftOut: LeftOutObject[];
  /**
   * Routines whose `SET search_path` names the source schema: a run gives them the target
   * schema instead (`shop.f(integer)`).
   */
  searchPathMoved: string[];
  /** Foreign keys of the copied tables that a run leaves out, and why. */
  foreignKeysLeftOut: LeftOutForeignKey[];
  /** With `subset`: every foreign key of the job's tables, followed or not, and how. */
  subset?: PlannedKey[];
  /** Other warnings a run would give. */
  warnings: string[];
  /** What only a run checks: what needs the target, and rows the filters orphan. */
  notChecked: string[];
  /** Wall time of the dry run. */
  seconds: number;
}
