/**
 * The plan of a job: which tables it copies (the wildcard resolved, partitions copied through
 * their parent once), with which statements and in which format, how the copy step divides them
 * among its workers (a large table split into ranges of pages), which indexes it builds apart.
 * Pure: it works on what the plan step (`steps/plan.ts`) read.
 *
 * @example
 * ```ts
 * import { copyPieces, planTables, SPLIT_ABOVE } from "./plan.ts";
 * import type { SchemaCatalog } from "./catalog.ts";
 * import type { JobConfig } from "./config.ts";
 * declare const job: JobConfig, catalog: SchemaCatalog;
 * const tables = planTables(job, catalog);
 * tables[0].copyOut; // 'COPY (SELECT … FROM ONLY "public"."orders" …) TO STDOUT'
 * const pieces = copyPieces(tables, { workers: 2, streams: 1, splitAbove: SPLIT_ABOVE, freezeAbove: SMALL_TABLE, tidRangeScan: true, schema: "shadow" });
 * ```
 * @module
 */

import type { JobConfig } from "./config.ts";
import { mergeSpecs, pathKey } from "./config.ts";
import { ConfigError } from "./errors.ts";
import type { SchemaCatalog, SequenceValue, Table } from "./catalog.ts";
import type { Structure } from "./source_objects.ts";
import type { Index } from "./indexes.ts";
import { isMask, maskColumnProblem, maskSql } from "./mask.ts";
import type { ClientTools } from "./pg_tools.ts";
import type { RoutineNotes } from "./routines.ts";
import { constraintUsingIndexSql, createIndexSql } from "./shadow.ts";
import { copyInSql, type CopyOutInput, copyOutSql, selectSql, whereSql } from "./sql.ts";
import { PG_CLASS, PG_CONSTRAINT, tocKey } from "./toc.ts";
import type { SubsetPlan, SubsetRole } from "./subset.ts";
import type { TableSpec } from "./types.ts";

/** One table a job copies. */
export interface TablePlan {
  table: Table;
  /** The spec after the wildcard was merged in. */
  spec: TableSpec;
  /** The columns copied (generated columns are computed on the target). */
  columns: string[];
  /** What the source statement is built from. */
  query: CopyOutInput;
  /** The source query (checked with `EXPLAIN` by the plan step). */
  select: string;
  /** The source statement: `COPY (select) TO STDOUT`. */
  copyOut: string;
  /** The COPY data format both statements use. */
  format: "text" | "binary";
}

/** How the COPY format is chosen: `auto` uses binary where every column is binary-safe. */
export type FormatChoice = "auto" | "text" | "binary";

/**
 * The format a run uses unless told otherwise. Binary where every column allows it: measured,
 * it halves the target's `COPY FROM` time (no text parsing) and beats text on every side.
 *
 * @example
 * ```ts
 * DEFAULT_FORMAT; // "auto"
 * ```
 */
export const DEFAULT_FORMAT: FormatChoice = "auto";

function listNames(names: readonly string[], max = 30): string {
  const shown = names.slice(0, max).join(", ");
  return names.length > max ? `${shown}, … (${names.length} in all)` : shown || "none";
}

/**
 * Resolves the job's tables against the source catalog and builds each table's COPY statement.
 * Throws a `ConfigError` listing every table that does not exist and every `where`/`select` key
 * that names no column (with the columns the table has).
 *
 * @example
 * ```ts
 * import type { SchemaCatalog } from "./catalog.ts";
 * import type { JobConfig } from "./config.ts";
 * declare const job: JobConfig, catalog: SchemaCatalog;
 * planTables(job, catalog).map((p) => p.copyOut); // ['COPY (SELECT "id", … FROM ONLY "public"."users") TO STDOUT']
 * ```
 */
export function planTables(
  job: JobConfig,
  catalog: SchemaCatalog,
  format: FormatChoice = DEFAULT_FORMAT,
): TablePlan[] {
  const issues: string[] = [];
  const byName = new Map(catalog.tables.map((t) => [t.name, t]));
  const byOid = new Map(catalog.tables.map((t) => [t.oid, t]));
  const path = (table: string) => `jobs[${JSON.stringify(job.name)}].tables${pathKey(table)}`;

  const chosen = new Map<number, { table: Table; named?: TableSpec }>();
  if (job.wildcard) {
    for (const t of catalog.tables) {
      if (t.parentOid === undefined || !byOid.has(t.parentOid)) chosen.set(t.oid, { table: t });
    }
  }
  for (const [name, spec] of job.tables) {
    const table = byName.get(name);
    if (!table) {
      const near = catalog.tables.find((t) => t.name.toLowerCase() === name.toLowerCase());
      issues.push(
        `${path(name)}: no table ${JSON.stringify(name)} in schema ${
          JSON.stringify(catalog.schema)
        } ` +
          `of the source${near ? ` (did you mean ${JSON.stringify(near.name)}?)` : ""} ` +
          `(tables there: ${listNames(catalog.tables.map((t) => t.name))})`,
      );
      continue;
    }
    chosen.set(table.oid, { table, named: spec });
  }
  // A partition whose ancestor is copied is copied through that ancestor, never again.
  const coveredBy = (t: Table): Table | undefined => {
    for (let p = t.parentOid; p !== undefined; p = byOid.get(p)?.parentOid) {
      if (chosen.has(p)) return byOid.get(p);
    }
    return undefined;
  };

  const plans: TablePlan[] = [];
  for (const { table, named } of chosen.values()) {
    const ancestor = coveredBy(table);
    if (ancestor) {
      // Its rows are read by the ancestor's query: its own filter or transform (an anonymising
      // one among them) would be silently lost.
      if (whereSql(named?.where) !== undefined || Object.keys(named?.select ?? {}).length) {
        issues.push(
          `${path(table.name)}: partition ${JSON.stringify(table.name)} is copied through ${
            JSON.stringify(ancestor.name)
          }, so its own where and select would not apply: give them to ${
            JSON.stringify(ancestor.name)
          }, or name the partitions without their parent`,
        );
      }
      continue;
    }
    const all = table.columns.map((c) => c.name);
    const copied = table.columns.filter((c) => !c.generated);
    const generated = new Set(table.columns.filter((c) => c.generated).map((c) => c.name));
    const check = (key: "where" | "select", names: string[]) => {
      for (const column of names) {
        const at = `${path(table.name)}.${key}${pathKey(column)}`;
        if (!all.includes(column)) {
          issues.push(
            `${at}: no column ${JSON.stringify(column)} in table ${
              JSON.stringify(table.name)
            } (columns: ${listNames(all)})`,
          );
        } else if (key === "select" && generated.has(column)) {
          issues.push(
            `${at}: column ${
              JSON.stringify(column)
            } is generated; the target computes it from the other columns`,
          );
        }
      }
    };
    if (named?.where && typeof named.where === "object") check("where", Object.keys(named.where));
    if (named?.select) check("select", Object.keys(named.select));
    const spec = mergeSpecs(job.wildcard, named, all);
    const binary = format === "binary" || (format === "auto" && copied.every((c) => c.binarySafe));
    const select: Record<string, string> = {};
    const masks: Record<string, string> = {};
    for (const [name, entry] of Object.entries(spec.select ?? {})) {
      const column = copied.find((c) => c.name === name);
      if (typeof entry === "string") select[name] = entry;
      else if (isMask(entry) && column) {
        const problem = maskColumnProblem(entry, column, all);
        if (problem) issues.push(`${path(table.name)}.select${pathKey(name)}: ${problem}`);
        else masks[name] = maskSql(entry, column);
      }
    }
    const query: CopyOutInput = {
      schema: catalog.schema,
      table: table.name,
      partitioned: table.partitioned,
      columns: copied,
      select,
      masks,
      where: spec.where,
    };
    plans.push({
      table,
      spec,
      columns: copied.map((c) => c.name),
      format: binary ? "binary" : "text",
      query,
      select: selectSql(query),
      copyOut: copyOutSql(query, binary ? "binary" : "text"),
    });
  }
  if (issues.length) {
    throw new ConfigError(issues, `job ${JSON.stringify(job.name)} does not fit the source schema`);
  }
  return largestFirst(plans);
}

/**
 * The plans, largest table first (then by name): the longest copy starts at once instead of
 * last. The plan step orders them again once it has read the sizes of the tables it copies.
 *
 * @example
 * ```ts
 * declare const plans: TablePlan[];
 * largestFirst(plans)[0].table.bytes >= plans[0].table.bytes; // true
 * ```
 */
export function largestFirst(plans: readonly TablePlan[]): TablePlan[] {
  return [...plans].sort((a, b) =>
    b.table.bytes - a.table.bytes || a.table.name.localeCompare(b.table.name)
  );
}

/**
 * Tables at least this large (bytes on disk) are split among workers when they would otherwise
 * outlast the rest of the job. Below it, a split gains little and costs the table its `FREEZE`.
 *
 * @example
 * ```ts
 * SPLIT_ABOVE / 2 ** 20; // 256 (MiB)
 * ```
 */
export const SPLIT_ABOVE = 256 * 2 ** 20;

/**
 * Tables at most this large (bytes on disk) are loaded without `FREEZE`, in batches of small
 * tables (`copy_batch.ts`): the `TRUNCATE` that `FREEZE` needs rebuilds the table's TOAST index,
 * which waits for the disk (an fsync), and costs more than the copy of such a table. Their rows
 * are frozen later by `VACUUM`, as any table's.
 *
 * @example
 * ```ts
 * SMALL_TABLE / 2 ** 20; // 1 (MiB)
 * ```
 */
export const SMALL_TABLE = 2 ** 20;

/** One unit of the copy step: a whole table, or one range of pages of a large table. */
export interface CopyPiece {
  plan: TablePlan;
  /** The source statement: the table's, narrowed to this part's pages when it is split. */
  copyOut: string;
  /** The target statement. */
  copyIn: string;
  /**
   * A whole plain table larger than `freezeAbove` (`SMALL_TABLE`), or the first part of a split
   * one: the target truncates the table and loads the piece with `COPY … FREEZE` in one
   * transaction, so its rows are written frozen and all-visible, and nothing later (the index
   * builds, `ANALYZE`, the first readers, `VACUUM`) rewrites its pages to set hint bits. The other
   * parts of a split table wait for that transaction (the truncation locks the table), then load
   * side by side, not frozen.
   */
  freeze: boolean;
  /** This piece's number (1-based) among its table's `parts`; 1 of 1 for a whole table. */
  part: number;
  parts: number;
  /** Estimated bytes it reads, for ordering. */
  bytes: number;
}

/** How `copyPieces` divides the work. */
export interface PieceOptions {
  /** Pieces copied at once. */
  workers: number;
  /** Copies the machines can run at full speed at once (see `copyStreams`). */
  streams: number;
  /** The smallest table that may be split (bytes on disk). */
  splitAbove: number;
  /** Whole tables larger than this load with `FREEZE` (bytes on disk; `SMALL_TABLE`). */
  freezeAbove: number;
  /** The source answers a `ctid` range with a TID range scan (PostgreSQL 14 and later). */
  tidRangeScan: boolean;
  /** The schema the target statements load into. */
  schema: string;
}

/**
 * How many copies can run at full speed at once. Each keeps a source backend and a target backend
 * busy (pg-xmat's own share is small): when both servers run on this host (a loopback address or
 * a Unix socket), they share its cores, one copy for every two; elsewhere their cores are not
 * known here, and the workers asked for are taken at their word.
 *
 * @example
 * ```ts
 * copyStreams({ workers: 4, cores: 2, serversHere: true }); // 1
 * copyStreams({ workers: 4, cores: 2, serversHere: false }); // 4
 * ```
 */
export function copyStreams(
  o: { workers: number; cores: number; serversHere: boolean },
): number {
  return o.serversHere ? Math.max(1, Math.min(o.workers, Math.floor(o.cores / 2))) : o.workers;
}

/**
 * Whether every host of a connection is this machine: a loopback address, `localhost`, or a Unix
 * socket directory.
 *
 * @example
 * ```ts
 * onThisHost(["127.0.0.1"]); // true
 * onThisHost(["db.example.com"]); // false
 * ```
 */
export function onThisHost(hosts: readonly string[]): boolean {
  return hosts.every((h) =>
    h.startsWith("/") || h === "localhost" || h === "::1" || /^127\./.test(h)
  );
}

/**
 * Divides the copy step into pieces, largest first. A split costs the parts after the first
 * their `FREEZE` (they load after the first part's transaction, side by side) and shortens the
 * table's copy from T to about T/k (first part) + T/k (the others at once), so it is used only
 * when that gains: a plain table larger than `splitAbove` and than its share of the job (all
 * bytes / workers), with at least 3 streams to split it into (`streams`, `workers`). Each range
 * of pages is read in the job's snapshot (which makes every row version visible to it belong to
 * exactly one range; the last range is open-ended).
 *
 * @example
 * ```ts
 * declare const plans: TablePlan[];
 * copyPieces(plans, { workers: 4, streams: 4, splitAbove: SPLIT_ABOVE, freezeAbove: SMALL_TABLE, tidRangeScan: true, schema: "shadow" })
 *   .map((p) => `${p.plan.table.name} ${p.part}/${p.parts}`); // ["orders 1/3", "orders 2/3", …]
 * ```
 */
export function copyPieces(plans: readonly TablePlan[], options: PieceOptions): CopyPiece[] {
  const total = plans.reduce((n, p) => n + p.table.bytes, 0);
  const share = Math.max(options.splitAbove, total / options.workers);
  const pieces: CopyPiece[] = [];
  for (const plan of plans) {
    const { table } = plan;
    // A subset's query computes its closure first: each part would compute it again.
    const splittable = options.tidRangeScan && !table.partitioned &&
      plan.query.with === undefined &&
      table.bytes > options.splitAbove && table.bytes > total / options.workers;
    const most = Math.min(options.workers, options.streams, table.pages);
    const parts = splittable ? Math.min(most, Math.ceil(table.bytes / share)) : 1;
    const copyIn = (freeze: boolean) =>
      copyInSql(options.schema, table.name, plan.columns, plan.format, freeze);
    // 2 parts take as long as 1: the second waits for the first, frozen, to commit.
    if (parts < 3) {
      const freeze = !table.partitioned && table.bytes > options.freezeAbove;
      pieces.push({
        plan,
        copyOut: plan.copyOut,
        copyIn: copyIn(freeze),
        freeze,
        part: 1,
        parts: 1,
        bytes: table.bytes,
      });
      continue;
    }
    const per = Math.ceil(table.pages / parts);
    for (let i = 0; i < parts; i++) {
      const pages = { from: i * per, to: i === parts - 1 ? undefined : (i + 1) * per };
      pieces.push({
        plan,
        copyOut: copyOutSql({ ...plan.query, pages }, plan.format),
        copyIn: copyIn(i === 0),
        freeze: i === 0,
        part: i + 1,
        parts,
        bytes: table.bytes / parts,
      });
    }
  }
  return pieces.sort((a, b) => b.bytes - a.bytes);
}

/** An index built apart from pg_dump's post-data script, as soon as its table is loaded. */
export interface IndexBuild {
  table: string;
  index: string;
  /** `CREATE INDEX` on the target's table, run with an empty search_path (as it was rendered). */
  create: string;
  /**
   * For the index of a primary key or unique constraint: the statement that makes it that
   * constraint, run by the post-data script before the foreign keys that need it.
   */
  constraint?: string;
  /** The post-data entries it replaces (`catalogOid:objectOid`), left out of the script. */
  entries: string[];
}

/**
 * The indexes that can be built apart (see `Index.apart`), as statements on `schema`'s tables
 * (`createIndexSql`). An index whose rendering does not start as expected is left to the
 * post-data script.
 *
 * @example
 * ```ts
 * import type { Index } from "./indexes.ts";
 * declare const indexes: Index[];
 * indexBuilds(indexes, "shadow")[0].create;
 * // 'CREATE UNIQUE INDEX "orders_pkey" ON "shadow"."orders" USING btree (id)'
 * ```
 */
export function indexBuilds(indexes: readonly Index[], schema: string): IndexBuild[] {
  return indexes
    .filter((i) => i.apart && i.definition.startsWith(i.prefix))
    .map((i) => {
      const k = i.constraint;
      return {
        table: i.table,
        index: i.name,
        create: createIndexSql(schema, i),
        constraint: k && constraintUsingIndexSql(schema, i.table, i.name, k),
        entries: [tocKey(PG_CLASS, i.oid), ...(k ? [tocKey(PG_CONSTRAINT, k.oid)] : [])],
      };
    });
}

/**
 * The tables whose `ANALYZE` the copy step runs after their last index build: plain tables whose
 * every index is built there, without extended statistics (a post-data entry: those tables are
 * analysed after the post-data script, or the statistics would stay empty).
 *
 * @example
 * ```ts
 * import type { Index } from "./indexes.ts";
 * declare const plans: TablePlan[], indexes: Index[];
 * analyzedInCopy(plans, [], indexes, indexBuilds(indexes, "shadow")); // Set { "orders", … }
 * ```
 */
export function analyzedInCopy(
  plans: readonly TablePlan[],
  withStatistics: readonly string[],
  indexes: readonly Index[],
  builds: readonly IndexBuild[],
): Set<string> {
  const built = new Set(builds.map((b) => b.index));
  const statistics = new Set(withStatistics);
  // Tables with an index the copy step does not build (its table is analysed after post-data).
  const later = new Set(indexes.filter((i) => !built.has(i.name)).map((i) => i.table));
  return new Set(
    plans.filter((p) =>
      !p.table.partitioned && !statistics.has(p.table.name) && !later.has(p.table.name)
    ).map((p) => p.table.name),
  );
}

/** What the plan step read of the source, in the snapshot: all that later steps need of it. */
export interface SourcePlan {
  /** The client tools, new enough for the source server. */
  tools: ClientTools;
  catalog: SchemaCatalog;
  /** The tables to copy, largest first. */
  tables: TablePlan[];
  structure: Structure;
  /** The indexes the copy step builds as their tables are loaded (the rest: post-data). */
  indexBuilds: IndexBuild[];
  /** The tables the copy step analyses (the rest: post-data). */
  analyzedInCopy: ReadonlySet<string>;
  sequences: SequenceValue[];
  /** The key the masks read on the source (`mask_key.ts`), when the job masks a column. */
  maskKey?: string;
  /** What the job does about routines that name the source schema. */
  routines: RoutineNotes;
  /** With `subset`: each table's role and each key's treatment. */
  subset?: SubsetPlan;
}

/**
 * A subset table's role and distance from a seed, for the plan and the report.
 *
 * @example
 * ```ts
 * declare const plan: SourcePlan;
 * tableRole(plan.subset, "orders"); // { role: "owned", distance: 1 }
 * ```
 */
export function tableRole(
  subset: SubsetPlan | undefined,
  table: string,
): { role?: SubsetRole; distance?: number } {
  const t = subset?.tables.find((t) => t.table === table);
  return t ? { role: t.role, ...(t.distance === undefined ? {} : { distance: t.distance }) } : {};
}
