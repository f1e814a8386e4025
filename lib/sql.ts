/**
 * SQL text built by pg-xmat: identifier and literal quoting, `where` and `select` turned into
 * SQL, a table's source query and its two COPY statements, and transaction-local settings. Pure
 * functions, no I/O. (The statements on the shadow schema are built in `shadow.ts`.)
 *
 * COPY runs over the simple query protocol (no `$1` parameters), so every literal is quoted
 * here, by PostgreSQL's `quote_literal` rules.
 *
 * @example
 * ```ts
 * import { copyOutSql } from "./sql.ts";
 * copyOutSql({
 *   schema: "public", table: "users", partitioned: false,
 *   columns: [{ name: "id", type: "bigint" }, { name: "email", type: "text" }],
 *   select: { email: "md5({column_name})" }, where: { active: true },
 * });
 * // COPY (SELECT "id", CAST((md5("email")) AS text) AS "email" FROM ONLY "public"."users"
 * //   WHERE "active" = true) TO STDOUT
 * ```
 * @module
 */

import type { Condition, Operators, Scalar, Where } from "./types.ts";

/**
 * The operators a `where` condition object may use, in the order they are documented.
 *
 * @example
 * ```ts
 * OPERATORS.includes("gte"); // true
 * ```
 */
export const OPERATORS: readonly (keyof Operators)[] = [
  "gte",
  "lte",
  "gt",
  "lt",
  "ne",
  "in",
  "notIn",
  "like",
  "isNull",
];

const COMPARISONS = { gte: ">=", lte: "<=", gt: ">", lt: "<" } as const;

/**
 * The placeholder a `select` expression uses for the column it computes.
 *
 * @example
 * ```ts
 * COLUMN_PLACEHOLDER; // "{column_name}"
 * ```
 */
export const COLUMN_PLACEHOLDER = "{column_name}";

/**
 * Quotes an identifier, always: `"Order Items"`, `"users"`.
 *
 * @example
 * ```ts
 * quoteIdent('say "hi"'); // '"say ""hi"""'
 * ```
 */
export function quoteIdent(name: string): string {
  if (name.includes("\0")) throw new TypeError("an identifier cannot contain a NUL character");
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * A schema-qualified, quoted name.
 *
 * @example
 * ```ts
 * qualify("acme", "Order Items"); // '"acme"."Order Items"'
 * ```
 */
export function qualify(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

/**
 * Why a value cannot become a SQL literal, or `undefined` when it can.
 *
 * @example
 * ```ts
 * literalProblem(NaN); // "NaN is not a finite number"
 * literalProblem("ok"); // undefined
 * ```
 */
export function literalProblem(value: unknown): string | undefined {
  switch (typeof value) {
    case "string":
      return value.includes("\0") ? "a string cannot contain a NUL character" : undefined;
    case "number":
      return Number.isFinite(value) ? undefined : `${value} is not a finite number`;
    case "bigint":
    case "boolean":
      return undefined;
    case "object":
      if (value instanceof Date) {
        return Number.isNaN(value.getTime()) ? "an invalid Date" : undefined;
      }
      return `${value === null ? "null" : "an object"} is not a scalar value`;
    default:
      return `a ${typeof value} is not a SQL value`;
  }
}

/**
 * Quotes a scalar as a SQL literal. Strings and dates become untyped literals, so PostgreSQL
 * reads them as the compared column's type; a backslash switches to the `E''` form.
 *
 * @example
 * ```ts
 * quoteLiteral("O'Brien"); // "'O''Brien'"
 * quoteLiteral("C:\\tmp"); // "E'C:\\\\tmp'"
 * quoteLiteral(12n); // "12"
 * quoteLiteral(new Date("2024-01-01T00:00:00Z")); // "'2024-01-01T00:00:00.000Z'"
 * ```
 */
export function quoteLiteral(value: Scalar): string {
  const problem = literalProblem(value);
  if (problem) throw new TypeError(`cannot quote ${problem}`);
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  if (typeof value === "boolean") return value ? "true" : "false";
  const text = value instanceof Date ? value.toISOString() : value;
  const quoted = text.replaceAll("'", "''");
  return text.includes("\\") ? `E'${quoted.replaceAll("\\", "\\\\")}'` : `'${quoted}'`;
}

function listSql(column: string, values: readonly (Scalar | null)[], negate: boolean): string {
  const present = values.filter((v): v is Scalar => v !== null);
  const hasNull = present.length < values.length;
  const list = present.map(quoteLiteral).join(", ");
  if (!negate) {
    const parts = present.length ? [`${column} IN (${list})`] : [];
    if (hasNull) parts.push(`${column} IS NULL`);
    return parts.length === 0 ? "false" : parts.length === 1 ? parts[0] : `(${parts.join(" OR ")})`;
  }
  const parts = present.length ? [`${column} NOT IN (${list})`] : [];
  if (hasNull) parts.push(`${column} IS NOT NULL`);
  return parts.length === 0 ? "true" : parts.join(" AND ");
}

function operatorSql(column: string, ops: Operators): string[] {
  const parts: string[] = [];
  for (const op of OPERATORS) {
    const value = ops[op];
    if (value === undefined) continue;
    switch (op) {
      case "gte":
      case "lte":
      case "gt":
      case "lt":
        parts.push(`${column} ${COMPARISONS[op]} ${quoteLiteral(value as Scalar)}`);
        break;
      case "ne":
        parts.push(
          value === null
            ? `${column} IS NOT NULL`
            : `${column} <> ${quoteLiteral(value as Scalar)}`,
        );
        break;
      case "in":
      case "notIn":
        parts.push(listSql(column, value as (Scalar | null)[], op === "notIn"));
        break;
      case "like":
        parts.push(`${column} LIKE ${quoteLiteral(value as string)}`);
        break;
      case "isNull":
        parts.push(`${column} IS ${value ? "" : "NOT "}NULL`);
        break;
    }
  }
  return parts;
}

/**
 * One column's condition as SQL.
 *
 * @example
 * ```ts
 * conditionSql("id", [1, 2]); // '"id" IN (1, 2)'
 * conditionSql("deleted_at", null); // '"deleted_at" IS NULL'
 * conditionSql("n", { gte: 1, lt: 9 }); // '"n" >= 1 AND "n" < 9'
 * ```
 */
export function conditionSql(column: string, condition: Condition): string {
  const col = quoteIdent(column);
  if (condition === null) return `${col} IS NULL`;
  if (Array.isArray(condition)) return listSql(col, condition, false);
  if (typeof condition === "object" && !(condition instanceof Date)) {
    const parts = operatorSql(col, condition as Operators);
    return parts.length ? parts.join(" AND ") : "true";
  }
  return `${col} = ${quoteLiteral(condition as Scalar)}`;
}

/**
 * A whole `where` as one SQL boolean expression, or `undefined` for "every row".
 *
 * @example
 * ```ts
 * whereSql({ active: true, id: [1, 2] }); // '"active" = true AND "id" IN (1, 2)'
 * whereSql("created_at > now() - interval '1 day'"); // "(created_at > now() - interval '1 day')"
 * ```
 */
export function whereSql(where: Where | undefined): string | undefined {
  if (where === undefined) return undefined;
  if (typeof where === "string") return `(${endsLine(where)})`;
  const parts = Object.entries(where).map(([column, condition]) => conditionSql(column, condition));
  return parts.length ? parts.join(" AND ") : undefined;
}

/**
 * A `select` expression with `{column_name}` replaced by the quoted column.
 *
 * @example
 * ```ts
 * selectExpression("email", "md5({column_name}) || '@example.com'");
 * // `md5("email") || '@example.com'`
 * ```
 */
export function selectExpression(column: string, expression: string): string {
  // A function, not a string: `$$`, `$&` and the like in a replacement string are patterns, and
  // column names may contain them.
  return endsLine(expression.replaceAll(COLUMN_PLACEHOLDER, () => quoteIdent(column)));
}

/**
 * The user's SQL goes inside parentheses of a one-line statement: a `--` comment at its end
 * would swallow the rest, so SQL that may hold one ends its line.
 */
function endsLine(sql: string): string {
  return sql.includes("--") ? `${sql}\n` : sql;
}

/** A column as COPY sees it: its name and its type (`format_type` without typmod). */
export interface CopyColumn {
  name: string;
  type: string;
}

/** What `copyOutSql` needs of one table. */
export interface CopyOutInput {
  schema: string;
  table: string;
  /** A partitioned table is read through its parent, which includes its partitions. */
  partitioned: boolean;
  /** The columns to copy, generated columns already left out. */
  columns: readonly CopyColumn[];
  /** Column → the user's SQL expression (`{column_name}` stands for the column). */
  select?: { readonly [column: string]: string };
  /** Column → a compiled mask (`maskSql`), used as it is. */
  masks?: { readonly [column: string]: string };
  where?: Where;
  /** Only the rows stored in these pages: one part of a table split among workers. */
  pages?: PageRange;
  /** Common table expressions the query starts with (`WITH RECURSIVE …`): a subset's. */
  with?: string;
  /** The rows a subset keeps: a boolean expression used instead of `where`. */
  keep?: string;
}

/** Pages `[from, to)` of a table's heap; without `to`, up to its end. */
export interface PageRange {
  from: number;
  to?: number;
}

/**
 * The rows stored in a range of pages, as a condition PostgreSQL 14 and later answer with a TID
 * range scan (reading only those pages).
 *
 * @example
 * ```ts
 * pageRangeSql({ from: 0, to: 100 }); // "ctid >= '(0,0)'::tid AND ctid < '(100,0)'::tid"
 * pageRangeSql({ from: 100 }); // "ctid >= '(100,0)'::tid"
 * ```
 */
export function pageRangeSql(range: PageRange): string {
  const page = (n: number) => {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`not a page number: ${n}`);
    return `'(${n},0)'::tid`;
  };
  const from = `ctid >= ${page(range.from)}`;
  return range.to === undefined ? from : `${from} AND ctid < ${page(range.to)}`;
}

/**
 * A table's source query: `SELECT … FROM [ONLY] schema.table [WHERE …]`. A `select` expression is
 * cast to the column's type, so a transform yielding another type converts on the source, where
 * errors name the column, instead of failing inside the target's COPY.
 *
 * @example
 * ```ts
 * selectSql({ schema: "s", table: "t", partitioned: false, columns: [{ name: "a", type: "integer" }] });
 * // 'SELECT "a" FROM ONLY "s"."t"'
 * ```
 */
export function selectSql(input: CopyOutInput): string {
  // Own keys only: a column named "constructor" is no key of a plain object.
  const own = (entries: { readonly [column: string]: string } | undefined, name: string) =>
    entries && Object.hasOwn(entries, name) ? entries[name] : undefined;
  const list = input.columns.map(({ name, type }) => {
    const expression = own(input.select, name);
    const sql = own(input.masks, name) ??
      (expression === undefined ? undefined : selectExpression(name, expression));
    if (sql === undefined) return quoteIdent(name);
    return `CAST((${sql}) AS ${type}) AS ${quoteIdent(name)}`;
  });
  const from = `${input.partitioned ? "" : "ONLY "}${qualify(input.schema, input.table)}`;
  const rows = input.keep === undefined ? whereSql(input.where) : `(${input.keep})`;
  const conditions = [rows, input.pages && pageRangeSql(input.pages)];
  const filter = conditions.filter(Boolean).join(" AND ");
  return `${input.with ? `${input.with} ` : ""}SELECT ${list.join(", ")} FROM ${from}${
    filter ? ` WHERE ${filter}` : ""
  }`;
}

/**
 * The source side: `COPY (SELECT …) TO STDOUT`, the table's `selectSql`.
 *
 * @example
 * ```ts
 * copyOutSql({ schema: "s", table: "t", partitioned: true, columns: [{ name: "a", type: "integer" }] });
 * // 'COPY (SELECT "a" FROM "s"."t") TO STDOUT'
 * ```
 */
export function copyOutSql(input: CopyOutInput, format: "text" | "binary" = "text"): string {
  return `COPY (${selectSql(input)}) TO STDOUT${format === "binary" ? " (FORMAT binary)" : ""}`;
}

/**
 * The target side: `COPY schema.table (columns) FROM STDIN`. `freeze` writes the rows frozen,
 * which PostgreSQL allows only into a table created or truncated in the same transaction.
 *
 * @example
 * ```ts
 * copyInSql("shadow", "Order Items", ["id", "note"]);
 * // 'COPY "shadow"."Order Items" ("id", "note") FROM STDIN'
 * copyInSql("shadow", "t", ["id"], "binary", true);
 * // 'COPY "shadow"."t" ("id") FROM STDIN (FORMAT binary, FREEZE)'
 * ```
 */
export function copyInSql(
  schema: string,
  table: string,
  columns: readonly string[],
  format: "text" | "binary" = "text",
  freeze = false,
): string {
  // No list for a table whose columns are all generated (or that has none): `()` is a syntax
  // error, and COPY's default list leaves generated columns out.
  const list = columns.length ? ` (${columns.map(quoteIdent).join(", ")})` : "";
  const options = [
    ...(format === "binary" ? ["FORMAT binary"] : []),
    ...(freeze ? ["FREEZE"] : []),
  ];
  return `COPY ${qualify(schema, table)}${list} FROM STDIN${
    options.length ? ` (${options.join(", ")})` : ""
  }`;
}

/**
 * Settings for the rest of the current transaction, in one statement.
 *
 * @example
 * ```ts
 * setLocalSql({ search_path: "", jit: "off" });
 * // "SELECT set_config('search_path', '', true), set_config('jit', 'off', true)"
 * ```
 */
export function setLocalSql(settings: { readonly [name: string]: string }): string {
  const calls = Object.entries(settings).map(([name, value]) =>
    `set_config(${quoteLiteral(name)}, ${quoteLiteral(value)}, true)`
  );
  return `SELECT ${calls.join(", ")}`;
}

/**
 * Bounds the current transaction's lock waits to `ms` milliseconds: its `lock_timeout` becomes
 * `ms`, unless the session already has a shorter one (a role's, a database's or the connection's
 * `options`), which is kept.
 *
 * @example
 * ```ts
 * boundLockWaitSql(30000).includes("least(NULLIF(setting::int, 0), 30000)"); // true
 * ```
 */
export function boundLockWaitSql(ms: number): string {
  if (!Number.isInteger(ms) || ms <= 0) throw new TypeError(`not a lock wait: ${ms}`);
  return `SELECT set_config('lock_timeout', least(NULLIF(setting::int, 0), ${ms})::text, true)
      FROM pg_catalog.pg_settings WHERE name = 'lock_timeout'`;
}

/**
 * A `search_path` value naming exactly these schemas: a search_path is a list of identifiers,
 * and unquoted, "Acme" would be read as acme.
 *
 * @example
 * ```ts
 * searchPath(["Acme", "ext"]); // '"Acme", "ext"'
 * ```
 */
export function searchPath(schemas: readonly string[]): string {
  return schemas.map(quoteIdent).join(", ");
}

/**
 * `EXPLAIN` of a query: plans it (a bad column, a missing privilege, row-level security fail
 * here) without running it.
 *
 * @example
 * ```ts
 * explainSql('SELECT "a" FROM ONLY "s"."t"'); // 'EXPLAIN SELECT "a" FROM ONLY "s"."t"'
 * ```
 */
export function explainSql(query: string): string {
  return `EXPLAIN ${query}`;
}

/**
 * Whether row-level security applies for the rest of the transaction: `off` fails a query its
 * policies would filter, `on` filters it.
 *
 * @example
 * ```ts
 * rowSecuritySql(false); // "SET LOCAL row_security = off"
 * ```
 */
export function rowSecuritySql(on: boolean): string {
  return `SET LOCAL row_security = ${on ? "on" : "off"}`;
}
