/**
 * Validates a jobs module's export and normalises it, before any connection is opened. Every
 * fault names its path and what is allowed:
 * `jobs["export:users"].tables.users.where.created_at: unknown operator "gte3" (allowed: …)`.
 *
 * @example
 * ```ts
 * import { validateJobs } from "./config.ts";
 * const jobs = validateJobs({
 *   "export:users": {
 *     source: { database: "postgres://localhost/prod", schema: "public" },
 *     target: { database: "postgres://localhost/dev", schema: "public" },
 *     tables: { users: {} },
 *   },
 * });
 * jobs[0].name; // "export:users"
 * ```
 * @module
 */

import { ConfigError, UsageError } from "./errors.ts";
import { type ConnInfo, parseConnUrl } from "./conninfo.ts";
import { matchJobs } from "./glob.ts";
import { literalProblem, OPERATORS } from "./sql.ts";
import { maskProblems, MASKS } from "./mask.ts";
import type { Condition, Job, KeyOption, ObjectsMode, Select, TableSpec, Where } from "./types.ts";

/** A job after validation: named, with its wildcard entry apart from the named tables. */
export interface JobConfig {
  /** The job's name: its key in the jobs module. */
  name: string;
  /** The source database's URL as given, and the schema read. */
  source: { url: string; schema: string };
  /** The target database's URL as given, and the schema built. */
  target: { url: string; schema: string };
  /** The two URLs, parsed once (here): every connection and client tool of the job uses these. */
  connections: { source: ConnInfo; target: ConnInfo };
  /** Named tables, in the file's order. */
  tables: Map<string, TableSpec>;
  /** The `"*"` entry, when present. */
  wildcard?: TableSpec;
  /** Drop objects outside the target schema that depend on it (`cascade`, default false). */
  cascade: boolean;
  /** Read through row-level security policies (`rowSecurity`, default false: fail where one filters). */
  rowSecurity: boolean;
  /** What a key whose rows the filters orphaned becomes (`orphans`, default `"not-valid"`). */
  orphans: "not-valid" | "fail";
  /** The job's own salt for the masks; never printed. */
  salt?: string;
  /** What the personal-data guard does about unmasked columns (`pii`, default `"warn"`). */
  pii: "warn" | "fail";
  /** `objects` as given, or its default: `"all"` with `"*"`, `"dependent"` for named tables. */
  objects: ObjectsMode;
  /** Copy the rows closed under the foreign keys among the job's tables (`subset`). */
  subset: boolean;
}

const JOB_KEYS = [
  "source",
  "target",
  "tables",
  "cascade",
  "rowSecurity",
  "orphans",
  "salt",
  "pii",
  "objects",
  "subset",
];
const OBJECTS_MODES: readonly ObjectsMode[] = ["tables", "dependent", "all"];
const ENDPOINT_KEYS = ["database", "schema"];
const TABLE_KEYS = ["where", "select", "rows", "keys"];
const ROWS = ["all", "referenced"];
const KEY_OPTIONS = ["null", "drop"];

/**
 * `jobs["a"].tables.users`: a path segment for a key, dotted when it is a plain identifier.
 *
 * @example
 * ```ts
 * pathKey("users"); // ".users"
 * pathKey("Order Items"); // '["Order Items"]'
 * ```
 */
export function pathKey(key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing (it is missing)";
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (value instanceof Date) return "a Date";
  if (typeof value === "string") {
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  }
  if (typeof value === "object") return "an object";
  return `${typeof value} ${String(value)}`;
}

class Collector {
  readonly issues: string[] = [];
  add(path: string, message: string): void {
    this.issues.push(`${path}: ${message}`);
  }
  unknownKeys(path: string, value: Record<string, unknown>, allowed: readonly string[]): void {
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key)) {
        this.add(`${path}${pathKey(key)}`, `unknown key (allowed: ${allowed.join(", ")})`);
      }
    }
  }
}

/** An endpoint as checked: its URL parsed, when it could be. */
interface CheckedEndpoint {
  url: string;
  schema: string;
  connection?: ConnInfo;
}

function checkEndpoint(c: Collector, path: string, value: unknown): CheckedEndpoint {
  if (!isPlainObject(value)) {
    c.add(path, `must be an object { database, schema }, got ${describe(value)}`);
    return { url: "", schema: "" };
  }
  c.unknownKeys(path, value, ENDPOINT_KEYS);
  const { database, schema } = value;
  let connection: ConnInfo | undefined;
  if (database === undefined || database === "") {
    c.add(`${path}.database`, "required: a postgres:// URL (is its environment variable set?)");
  } else if (typeof database !== "string") {
    c.add(`${path}.database`, `must be a postgres:// URL string, got ${describe(database)}`);
  } else {
    try {
      connection = parseConnUrl(database);
    } catch (e) {
      c.add(`${path}.database`, `not a valid URL: it ${(e as Error).message}`);
    }
  }
  if (typeof schema !== "string" || schema === "") {
    c.add(
      `${path}.schema`,
      `required: a schema name${schema === undefined ? "" : `, got ${describe(schema)}`}`,
    );
  }
  return { url: String(database ?? ""), schema: String(schema ?? ""), connection };
}

function checkScalar(c: Collector, path: string, value: unknown, allowNull: boolean): void {
  if (value === null && allowNull) return;
  const problem = literalProblem(value);
  if (problem) {
    c.add(
      path,
      `${problem} (allowed: string, number, bigint, boolean, Date${allowNull ? ", null" : ""})`,
    );
  }
}

function checkCondition(c: Collector, path: string, value: unknown): void {
  if (value === null || value instanceof Date || typeof value !== "object") {
    return checkScalar(c, path, value, true);
  }
  if (Array.isArray(value)) {
    value.forEach((v, i) => checkScalar(c, `${path}[${i}]`, v, true));
    return;
  }
  if (!isPlainObject(value)) return c.add(path, `${describe(value)} is not a condition`);
  const ops = Object.keys(value);
  if (ops.length === 0) c.add(path, `an empty operator object (allowed: ${OPERATORS.join(", ")})`);
  for (const op of ops) {
    const v = value[op];
    const at = `${path}${pathKey(op)}`;
    if (!(OPERATORS as readonly string[]).includes(op)) {
      c.add(path, `unknown operator ${JSON.stringify(op)} (allowed: ${OPERATORS.join(", ")})`);
    } else if (op === "in" || op === "notIn") {
      if (!Array.isArray(v)) c.add(at, `must be an array, got ${describe(v)}`);
      else v.forEach((x, i) => checkScalar(c, `${at}[${i}]`, x, true));
    } else if (op === "like") {
      if (typeof v !== "string") c.add(at, `must be a string pattern, got ${describe(v)}`);
    } else if (op === "isNull") {
      if (typeof v !== "boolean") c.add(at, `must be true or false, got ${describe(v)}`);
    } else checkScalar(c, at, v, op === "ne");
  }
}

function checkWhere(c: Collector, path: string, value: unknown): void {
  if (typeof value === "string") {
    if (value.trim() === "") {
      c.add(path, "an empty SQL string (leave `where` out to copy every row)");
    }
    return;
  }
  if (!isPlainObject(value)) {
    return c.add(path, `must be an object of conditions or a SQL string, got ${describe(value)}`);
  }
  for (const [column, condition] of Object.entries(value)) {
    checkCondition(c, `${path}${pathKey(column)}`, condition);
  }
}

function checkSelect(c: Collector, path: string, value: unknown): void {
  if (!isPlainObject(value)) {
    return c.add(path, `must be an object { column: "SQL expression" }, got ${describe(value)}`);
  }
  for (const [column, entry] of Object.entries(value)) {
    const at = `${path}${pathKey(column)}`;
    if (typeof entry === "string" && entry.trim() !== "") continue;
    if (isPlainObject(entry) && "mask" in entry) {
      for (const p of maskProblems(entry)) c.add(`${at}${p.key ? pathKey(p.key) : ""}`, p.message);
    } else if (isPlainObject(entry) && "clear" in entry) {
      if (entry.clear !== true || Object.keys(entry).length > 1) {
        c.add(at, "must be exactly { clear: true } to copy the column as it is, on purpose");
      }
    } else {
      c.add(
        at,
        `must be a SQL expression string, a mask { mask: "${MASKS[0]}" } (masks: ${
          MASKS.join(", ")
        }) or { clear: true }, got ${describe(entry)}`,
      );
    }
  }
}

function checkTables(c: Collector, path: string, value: unknown): Map<string, TableSpec> {
  const tables = new Map<string, TableSpec>();
  if (!isPlainObject(value)) {
    c.add(path, `must be an object { table: { where?, select? } }, got ${describe(value)}`);
    return tables;
  }
  if (Object.keys(value).length === 0) c.add(path, 'must name at least one table (or "*")');
  for (const [table, spec] of Object.entries(value)) {
    const at = `${path}${pathKey(table)}`;
    if (table === "") c.add(at, "a table name cannot be empty");
    if (!isPlainObject(spec)) {
      c.add(at, `must be an object { where?, select? }, got ${describe(spec)}`);
      continue;
    }
    c.unknownKeys(at, spec, TABLE_KEYS);
    if (spec.where !== undefined) checkWhere(c, `${at}.where`, spec.where);
    if (spec.select !== undefined) checkSelect(c, `${at}.select`, spec.select);
    if (spec.rows !== undefined && !ROWS.includes(spec.rows as string)) {
      c.add(`${at}.rows`, `must be "all" or "referenced", got ${describe(spec.rows)}`);
    }
    if (spec.keys !== undefined) {
      if (!isPlainObject(spec.keys)) {
        c.add(`${at}.keys`, `must be an object { foreign_key: "null" | "drop" }`);
      } else {
        for (const [key, option] of Object.entries(spec.keys)) {
          if (!KEY_OPTIONS.includes(option as string)) {
            c.add(`${at}.keys${pathKey(key)}`, `must be "null" or "drop", got ${describe(option)}`);
          }
        }
      }
    }
    tables.set(table, {
      where: spec.where as Where | undefined,
      select: spec.select as Select | undefined,
      ...(spec.rows === undefined ? {} : { rows: spec.rows as TableSpec["rows"] }),
      ...(spec.keys === undefined ? {} : { keys: spec.keys as Record<string, KeyOption> }),
    });
  }
  return tables;
}

function checkJob(c: Collector, name: string, value: unknown): JobConfig | undefined {
  const path = `jobs[${JSON.stringify(name)}]`;
  if (!isPlainObject(value)) {
    c.add(path, `must be an object { source, target, tables }, got ${describe(value)}`);
    return undefined;
  }
  c.unknownKeys(path, value, JOB_KEYS);
  const source = checkEndpoint(c, `${path}.source`, value.source);
  const target = checkEndpoint(c, `${path}.target`, value.target);
  // The target schema is dropped and replaced: never a system schema.
  if (target.schema === "information_schema" || target.schema.startsWith("pg_")) {
    c.add(`${path}.target.schema`, `"${target.schema}" is a system schema: choose one of your own`);
  }
  const tables = checkTables(c, `${path}.tables`, value.tables);
  checkSubsetOptions(c, path, value.subset, tables);
  for (const key of ["cascade", "rowSecurity", "subset"] as const) {
    if (value[key] !== undefined && typeof value[key] !== "boolean") {
      c.add(`${path}.${key}`, `must be true or false, got ${describe(value[key])}`);
    }
  }
  const orphans = value.orphans ?? "not-valid";
  if (orphans !== "not-valid" && orphans !== "fail") {
    c.add(`${path}.orphans`, `must be "not-valid" or "fail", got ${describe(orphans)}`);
  }
  // The salt's value is a secret: never part of a message.
  if ("salt" in value && (typeof value.salt !== "string" || value.salt === "")) {
    c.add(
      `${path}.salt`,
      value.salt === undefined
        ? "undefined: is its environment variable set? (leave the key out to use PGXMAT_SALT or a random salt)"
        : `must be a non-empty string, got ${
          value.salt === "" ? "an empty one" : typeof value.salt
        }`,
    );
  }
  const pii = value.pii ?? "warn";
  if (pii !== "warn" && pii !== "fail") {
    c.add(`${path}.pii`, `must be "warn" or "fail", got ${describe(pii)}`);
  }
  if (value.objects !== undefined && !OBJECTS_MODES.includes(value.objects as ObjectsMode)) {
    c.add(
      `${path}.objects`,
      `must be ${OBJECTS_MODES.map((m) => `"${m}"`).join(", ")}, got ${describe(value.objects)}`,
    );
  }
  const wildcard = tables.get("*");
  tables.delete("*");
  const job = value as unknown as Job;
  if (!source.connection || !target.connection) return undefined; // an issue was added
  return {
    name,
    source: { url: source.url, schema: source.schema },
    target: { url: target.url, schema: target.schema },
    connections: { source: source.connection, target: target.connection },
    tables,
    wildcard,
    cascade: job.cascade === true,
    rowSecurity: job.rowSecurity === true,
    orphans: orphans as JobConfig["orphans"],
    salt: typeof job.salt === "string" ? job.salt : undefined,
    pii: pii as JobConfig["pii"],
    objects: (value.objects as ObjectsMode | undefined) ?? (wildcard ? "all" : "dependent"),
    subset: job.subset === true,
  };
}

/** `rows` and `keys` say how a subset treats a table: they mean nothing without one. */
function checkSubsetOptions(
  c: Collector,
  path: string,
  subset: unknown,
  tables: Map<string, TableSpec>,
): void {
  for (const [table, spec] of tables) {
    const at = `${path}.tables${pathKey(table)}`;
    for (const key of ["rows", "keys"] as const) {
      if (spec[key] === undefined) continue;
      if (subset !== true) {
        c.add(`${at}.${key}`, "applies to a subset only: set `subset: true` on the job");
      } else if (table === "*") {
        c.add(`${at}.${key}`, "applies to a named table, not to the wildcard");
      }
    }
    if (spec.rows !== undefined && spec.where !== undefined) {
      c.add(
        `${at}.rows`,
        "a table with a where of its own is a seed: leave out either rows or where",
      );
    }
  }
}

/**
 * Validates every job of a jobs module's export; throws one `ConfigError` listing every fault.
 *
 * @example
 * ```ts
 * import { ConfigError } from "./errors.ts";
 * try { validateJobs({ a: { tables: {} } }); } catch (e) { (e as ConfigError).issues.length > 0; }
 * ```
 */
export function validateJobs(value: unknown): JobConfig[] {
  const c = new Collector();
  if (!isPlainObject(value)) {
    throw new ConfigError([`jobs: must be an object { "job name": job }, got ${describe(value)}`]);
  }
  const names = Object.keys(value);
  if (names.length === 0) throw new ConfigError(["jobs: the module defines no job"]);
  const jobs = names.map((name) => checkJob(c, name, value[name]));
  if (c.issues.length) throw new ConfigError(c.issues);
  return jobs as JobConfig[];
}

/**
 * One table's spec after the wildcard: the wildcard's `where`/`select` keys that name columns
 * of this table, overridden key by key by the table's own entry. A `where` string is all or
 * nothing: a named table's string replaces the wildcard's `where`, and a wildcard string
 * applies to every table that has no `where` of its own.
 *
 * @example
 * ```ts
 * mergeSpecs({ where: { tenant_id: 7 } }, { where: { active: true } }, ["tenant_id", "active"]);
 * // { where: { tenant_id: 7, active: true }, select: undefined }
 * ```
 */
export function mergeSpecs(
  wildcard: TableSpec | undefined,
  named: TableSpec | undefined,
  columns: readonly string[],
): TableSpec {
  const has = (column: string) => columns.includes(column);
  const pick = <T>(entries: Record<string, T> | undefined) =>
    entries && Object.fromEntries(Object.entries(entries).filter(([k]) => has(k)));
  let where: Where | undefined;
  if (typeof named?.where === "string") where = named.where;
  else if (typeof wildcard?.where === "string") {
    where = named?.where && Object.keys(named.where).length ? named.where : wildcard.where;
  } else {
    const merged = {
      ...pick(wildcard?.where as Record<string, Condition> | undefined),
      ...named?.where,
    };
    where = Object.keys(merged).length ? merged : undefined;
  }
  const select = { ...pick(wildcard?.select), ...named?.select };
  return {
    // A subset's `rows` decides which rows a table keeps: the wildcard's where does not.
    where: named?.rows === undefined ? where : undefined,
    select: Object.keys(select).length ? select : undefined,
    ...(named?.rows === undefined ? {} : { rows: named.rows }),
    ...(named?.keys === undefined ? {} : { keys: named.keys }),
  };
}

/**
 * The jobs whose names `pattern` matches (see `matchJobs`), in the file's order; every job when
 * there is no pattern.
 *
 * @example
 * ```ts
 * import type { Jobs } from "./types.ts";
 * declare const JOBS: Jobs;
 * matchingJobs(validateJobs(JOBS), "export:*").map((j) => j.name); // ["export:users"]
 * ```
 */
export function matchingJobs(jobs: readonly JobConfig[], pattern?: string): JobConfig[] {
  if (pattern === undefined) return [...jobs];
  const names = new Set(matchJobs(pattern, jobs.map((j) => j.name)));
  return jobs.filter((j) => names.has(j.name));
}

/**
 * The jobs a pattern selects to run; throws a `UsageError` listing the jobs (of `file`, when
 * named) when it selects none.
 *
 * @example
 * ```ts
 * import type { Jobs } from "./types.ts";
 * declare const JOBS: Jobs;
 * selectJobs(validateJobs(JOBS), "nothing:*"); // throws: no job matches "nothing:*"; the jobs are: …
 * ```
 */
export function selectJobs(
  jobs: readonly JobConfig[],
  pattern: string,
  file?: string,
): JobConfig[] {
  const selected = matchingJobs(jobs, pattern);
  if (selected.length === 0) {
    throw new UsageError(
      `no job matches "${pattern}"; the jobs${file ? ` in ${file}` : ""} are:\n  ${
        jobs.map((j) => j.name).join("\n  ")
      }`,
    );
  }
  return selected;
}
