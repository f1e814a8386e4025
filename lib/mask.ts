/**
 * Built-in masks: `select: { email: { mask: "email" } }` checked against the job file's shape
 * and the column's type, and compiled to a SQL expression that runs on the source inside the
 * table's `COPY (SELECT …)`: no row passes through pg-xmat for it, and it uses only what
 * PostgreSQL 12 has built in (the source is read-only, no extension is created there).
 *
 * Every mask that draws from the value does so from HMAC-SHA-256 of `"<mask>:<value>"`, keyed
 * with a key derived from the run's salt (`mask_key.ts`). The key reaches the source session as
 * the setting `pg_xmat.mask_key` (sent as a bind parameter) and the expressions read it with
 * `current_setting`, so neither the salt nor the key is ever part of a statement's text. The same
 * value gives the same output in every table and job of a run and in runs with the same salt;
 * NULL stays NULL and an empty string stays empty. Pure: no I/O.
 *
 * @example
 * ```ts
 * import { maskSql } from "./mask.ts";
 * maskSql({ mask: "email" }, { name: "email", type: "text", category: "S", baseType: "text", notNull: true });
 * // `CASE WHEN ("email")::text = '' THEN '' ELSE left(encode(sha256(…), 'hex'), 24) || '@example.com' END`
 * ```
 * @module
 */

import { literalProblem, quoteIdent, quoteLiteral } from "./sql.ts";
import type { Clear, Mask, Scalar } from "./types.ts";
import { FIRST_NAMES, LAST_NAMES } from "./_mask_names.ts";

/** One mask's name. */
export type MaskName =
  | "email"
  | "name"
  | "first_name"
  | "last_name"
  | "phone"
  | "digits"
  | "redact"
  | "hash"
  | "null"
  | "constant"
  | "date"
  | "number"
  | "ip";

/**
 * Each mask's options besides `mask`, and whether it works on text only (a string-category
 * type: text, varchar, char, citext, or a domain over one). In the order they are documented.
 */
const MASK_SPECS = {
  email: { options: ["keepDomain", "domain"], text: true },
  name: { options: [], text: true },
  first_name: { options: [], text: true },
  last_name: { options: [], text: true },
  phone: { options: [], text: true },
  digits: { options: [], text: true },
  redact: { options: [], text: true },
  hash: { options: ["length"], text: true },
  null: { options: [], text: false },
  constant: { options: ["value"], text: false },
  date: { options: ["days", "by"], text: false },
  number: { options: ["noise"], text: false },
  ip: { options: [], text: false },
} as const satisfies Record<MaskName, { options: readonly string[]; text: boolean }>;

/**
 * The masks, in the order they are documented.
 *
 * @example
 * ```ts
 * MASKS.includes("email"); // true
 * ```
 */
export const MASKS = Object.keys(MASK_SPECS) as readonly MaskName[];

/**
 * The session setting that carries the mask key (hex) on the source.
 *
 * @example
 * ```ts
 * MASK_KEY_SETTING; // "pg_xmat.mask_key"
 * ```
 */
export const MASK_KEY_SETTING = "pg_xmat.mask_key";

/**
 * The domain of masked email addresses unless the mask names another or keeps the original.
 *
 * @example
 * ```ts
 * DEFAULT_EMAIL_DOMAIN; // "example.com"
 * ```
 */
export const DEFAULT_EMAIL_DOMAIN = "example.com";
/** Hex digits of an email's local part: 96 bits, so distinct addresses stay distinct. */
const EMAIL_HEX = 24;
/** `hash`'s default length and bounds, in hex digits (32 = 128 bits). */
const HASH_HEX = { default: 32, min: 16, max: 64 };
const DATE_DAYS = { default: 30, max: 36500 };
const NUMBER_NOISE = 0.1;

/**
 * Whether a `select` entry is a mask object (`{ mask: … }`).
 *
 * @example
 * ```ts
 * isMask({ mask: "email" }); // true
 * isMask("md5({column_name})"); // false
 * ```
 */
export function isMask(entry: unknown): entry is Mask {
  return typeof entry === "object" && entry !== null && "mask" in entry;
}

/**
 * Whether a `select` entry marks its column as copied in clear on purpose (`{ clear: true }`).
 *
 * @example
 * ```ts
 * isClear({ clear: true }); // true
 * ```
 */
export function isClear(entry: unknown): entry is Clear {
  return typeof entry === "object" && entry !== null && (entry as Clear).clear === true;
}

/** One fault of a mask object: the key it concerns (`""` for the object itself) and what. */
export interface MaskProblem {
  key: string;
  message: string;
}

function isInteger(value: unknown, min: number, max: number): boolean {
  return typeof value === "number" && Number.isInteger(value) && value >= min && value <= max;
}

/**
 * The faults of a mask object as a job file wrote it (before any catalog is read).
 *
 * @example
 * ```ts
 * maskProblems({ mask: "emial" });
 * // [{ key: "mask", message: 'unknown mask "emial"; masks: email, name, …' }]
 * ```
 */
export function maskProblems(value: Record<string, unknown>): MaskProblem[] {
  const name = value.mask;
  if (typeof name !== "string" || !(MASKS as readonly string[]).includes(name)) {
    return [{
      key: "mask",
      message: `unknown mask ${JSON.stringify(name)}; masks: ${MASKS.join(", ")}`,
    }];
  }
  const problems: MaskProblem[] = [];
  const add = (key: string, message: string) => problems.push({ key, message });
  const allowed: readonly string[] = MASK_SPECS[name as MaskName].options;
  for (const key of Object.keys(value)) {
    if (key !== "mask" && !allowed.includes(key)) {
      add(
        key,
        `mask "${name}" has no option ${JSON.stringify(key)} (${
          allowed.length ? `options: ${allowed.join(", ")}` : "it takes none"
        })`,
      );
    }
  }
  const { keepDomain, domain, length, value: constant, days, by, noise } = value;
  if (keepDomain !== undefined && typeof keepDomain !== "boolean") {
    add("keepDomain", "must be true or false");
  }
  if (domain !== undefined) {
    if (typeof domain !== "string" || !/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(domain)) {
      add("domain", 'must be a domain name such as "example.com"');
    } else if (keepDomain === true) add("domain", "cannot be given with keepDomain: true");
  }
  if (length !== undefined && !isInteger(length, HASH_HEX.min, HASH_HEX.max)) {
    add("length", `must be a whole number of hex digits from ${HASH_HEX.min} to ${HASH_HEX.max}`);
  }
  if (name === "constant") {
    if (constant === undefined) add("value", "required: the value every row gets");
    else {
      const problem = literalProblem(constant);
      if (problem) add("value", `${problem} (allowed: string, number, bigint, boolean, Date)`);
    }
  }
  if (days !== undefined && !isInteger(days, 1, DATE_DAYS.max)) {
    add("days", `must be a whole number of days from 1 to ${DATE_DAYS.max}`);
  }
  if (by !== undefined && (typeof by !== "string" || by === "")) {
    add("by", "must be the name of a column of the table");
  }
  if (noise !== undefined && !(typeof noise === "number" && noise > 0 && noise <= 1)) {
    add("noise", "must be a fraction above 0 and at most 1 (0.1: ±10%)");
  }
  return problems;
}

/** What a mask needs to know of its column, from the source catalog. */
export interface MaskColumn {
  name: string;
  /** The column's type (`format_type`, no typmod). */
  type: string;
  /** `pg_type.typcategory` of the type, or of its domain's base type: `S`tring, `N`umeric, … */
  category: string;
  /** `format_type` of the type, or of its domain's base type. */
  baseType: string;
  notNull: boolean;
}

/**
 * Why a mask cannot apply to a column (its type, `NOT NULL`, a `by` column the table lacks), or
 * `undefined` when it can.
 *
 * @example
 * ```ts
 * maskColumnProblem({ mask: "date" }, { name: "email", type: "text", category: "S", baseType: "text", notNull: false }, ["email"]);
 * // 'mask "date" needs a date or timestamp column; "email" is text'
 * ```
 */
export function maskColumnProblem(
  mask: Mask,
  column: MaskColumn,
  columns: readonly string[],
): string | undefined {
  const is = `${JSON.stringify(column.name)} is ${column.type}`;
  const needs = (what: string) => `mask "${mask.mask}" needs ${what}; ${is}`;
  if (MASK_SPECS[mask.mask].text && column.category !== "S") {
    return needs("a text column (text, varchar, char, citext or a domain over one)");
  }
  switch (mask.mask) {
    case "null":
      return column.notNull
        ? `mask "null" on ${
          JSON.stringify(column.name)
        }, which is NOT NULL: use mask "constant" or "redact"`
        : undefined;
    case "date":
      if (column.category !== "D" || /^time( |$)/.test(column.baseType)) {
        return needs("a date or timestamp column");
      }
      if (mask.by !== undefined && !columns.includes(mask.by)) {
        return `mask "date" by ${JSON.stringify(mask.by)}: no such column (columns: ${
          columns.join(", ")
        })`;
      }
      return undefined;
    case "number":
      return column.category !== "N" || column.baseType === "money"
        ? needs("a numeric column (integer, numeric, real, double precision)")
        : undefined;
    case "ip":
      return column.category !== "I" && column.category !== "S"
        ? needs("an inet, cidr or text column")
        : undefined;
    default:
      return undefined;
  }
}

const KEY = (part: 1 | 2) =>
  `(SELECT substr(decode(current_setting('${MASK_KEY_SETTING}'), 'hex'), ${
    part === 1 ? 1 : 65
  }, 64))`;

/**
 * HMAC-SHA-256 of `"<tag>:<text>"` under the run's key, as bytea. The setting holds the key
 * already xored with HMAC's inner and outer pads (64 bytes each), so the expression is two
 * `sha256` calls; each half is read once per statement (an uncorrelated subquery).
 */
function keyedHash(tag: string, text: string): string {
  return `sha256(${KEY(2)} || sha256(${KEY(1)} || convert_to('${tag}:' || ${text}, 'UTF8')))`;
}

/** The first `hex` hex digits of a keyed hash. */
function hashHex(tag: string, text: string, hex: number): string {
  return `left(encode(${keyedHash(tag, text)}, 'hex'), ${hex})`;
}

/** A number in [0, 2^32) drawn from a keyed hash. */
function hashUint32(tag: string, text: string): string {
  return `('x' || ${hashHex(tag, text, 8)})::bit(32)::int8`;
}

/** A name drawn from `list` by a keyed hash of `text`, never `text` itself. */
function pickName(list: readonly string[], tag: string, text: string): string {
  // The next name when the drawn one is the value itself: a masked name is never the original.
  const names = `'{${list.join(",")}}'::text[]`;
  return `(SELECT CASE WHEN (${names})[1 + k.i] = ${text} THEN (${names})[1 + (k.i + 1) % ${list.length}] ` +
    `ELSE (${names})[1 + k.i] END FROM (SELECT (${
      hashUint32(tag, text)
    } % ${list.length})::int AS i OFFSET 0) k)`;
}

/**
 * The value as text, as its type compares it: a timestamp with time zone in UTC (the session's
 * zone does not count), a citext lower-cased (`A@x.org` and `a@x.org` are one value there, and
 * a foreign key between two citext columns must still match once both are masked).
 */
function valueText(column: string, baseType: string): string {
  if (baseType === "timestamp with time zone") return `(${column} AT TIME ZONE 'UTC')::text`;
  if (/(^|\.)citext$/.test(baseType)) return `lower((${column})::text)`;
  return `(${column})::text`;
}

/**
 * The SQL expression that computes a masked column from the source row (the caller casts it to
 * the column's type). Check the mask with `maskColumnProblem` first.
 *
 * @example
 * ```ts
 * const column: MaskColumn = { name: "note", type: "text", category: "S", baseType: "text", notNull: false };
 * maskSql({ mask: "null" }, column); // "NULL"
 * maskSql({ mask: "constant", value: "n/a" }, column); // `CASE WHEN "note" IS NULL THEN NULL ELSE 'n/a' END`
 * ```
 */
export function maskSql(mask: Mask, column: MaskColumn): string {
  const col = quoteIdent(column.name);
  const text = valueText(col, column.baseType);
  // Masks on text keep an empty string empty, as NULL stays NULL (every function used is strict).
  const keepEmpty = (expression: string) => `CASE WHEN ${text} = '' THEN '' ELSE ${expression} END`;
  switch (mask.mask) {
    case "email": {
      const domain = mask.keepDomain
        ? `COALESCE(NULLIF(substring(${text} from '@([^@]*)$'), ''), ${
          quoteLiteral(DEFAULT_EMAIL_DOMAIN)
        })`
        : quoteLiteral(mask.domain ?? DEFAULT_EMAIL_DOMAIN);
      return keepEmpty(`${hashHex("email", text, EMAIL_HEX)} || '@' || ${domain}`);
    }
    case "first_name":
      return keepEmpty(pickName(FIRST_NAMES, "first_name", text));
    case "last_name":
      return keepEmpty(pickName(LAST_NAMES, "last_name", text));
    case "name":
      return keepEmpty(
        `${pickName(FIRST_NAMES, "first_name", text)} || ' ' || ${
          pickName(LAST_NAMES, "last_name", text)
        }`,
      );
    case "phone":
    case "digits":
      // One hash per value (`OFFSET 0` keeps it from being inlined once per character); the
      // n-th character, when a digit, becomes a digit drawn from the hash's (n mod 32)-th byte.
      return keepEmpty(
        `(SELECT string_agg(CASE WHEN strpos('0123456789', d.c) > 0 ` +
          `THEN ((get_byte(k.h, ((d.i - 1) % 32)::int) + (d.i - 1) / 32) % 10)::text ` +
          `ELSE d.c END, '' ORDER BY d.i) ` +
          `FROM (SELECT ${keyedHash("digits", text)} AS h OFFSET 0) k, ` +
          `unnest(string_to_array(${text}, NULL)) WITH ORDINALITY AS d(c, i))`,
      );
    case "redact":
      return `regexp_replace(${text}, '[^[:space:][:punct:]]', 'x', 'g')`;
    case "hash":
      return keepEmpty(hashHex("hash", text, mask.length ?? HASH_HEX.default));
    case "null":
      return "NULL";
    case "constant":
      return `CASE WHEN ${col} IS NULL THEN NULL ELSE ${quoteLiteral(mask.value as Scalar)} END`;
    case "date": {
      const days = mask.days ?? DATE_DAYS.default;
      const from = mask.by === undefined ? text : `(${quoteIdent(mask.by)})::text`;
      // s in [-days, days - 1], then 0 and up move one further: never 0, so never the same date.
      return `(SELECT ${col} + make_interval(days => k.s + (k.s >= 0)::int) FROM (SELECT (${
        hashUint32("date", from)
      } % ${2 * days} - ${days})::int AS s OFFSET 0) k)`;
    }
    case "number": {
      const noise = mask.noise ?? NUMBER_NOISE;
      // A factor in [1 - noise, 1 + noise]; numeric, so integers and numerics keep their precision.
      return `${col} * (1 + ${noise} * (${
        hashUint32("number", text)
      }::float8 / 2147483647.5 - 1))::numeric`;
    }
    case "ip": {
      const address = column.category === "I" ? `(${col})::inet` : `(${col})::text::inet`;
      const from = `host(${address})`;
      const masked = `CASE family(${address}) WHEN 4 ` +
        `THEN '0.0.0.0'::inet + (16777216 + ${hashUint32("ip", from)} % 3741319168) ` +
        `ELSE '2001:db8::'::inet + (('x' || ${
          hashHex("ip", from, 16)
        })::bit(64)::int8 & 4611686018427387903) END`;
      if (column.category !== "I") {
        return keepEmpty(
          `host(${masked}) || CASE WHEN strpos(${text}, '/') > 0 THEN '/' || masklen(${address}) ELSE '' END`,
        );
      }
      const withPrefix = `set_masklen(${masked}, masklen(${address}))`;
      return column.baseType === "cidr" ? `cidr(${withPrefix})` : withPrefix;
    }
  }
}
