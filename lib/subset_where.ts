/**
 * One answer for every table: a subset evaluates a seed's `where` in every table's query, each
 * in its own worker transaction, so `now()` (the transaction's start) would differ between them
 * and the rows kept would no longer fit together. The transaction-time functions are replaced
 * by the values the snapshot's transaction read once; functions that give another answer on each
 * call are refused. Pure: the SQL is scanned, never executed.
 *
 * @example
 * ```ts
 * import { resolveTimes } from "./subset_where.ts";
 * resolveTimes("created_at > now() - interval '1 day'", { now: "'2026-11-30 02:00:00+00'::timestamptz" });
 * // { sql: "created_at > ('2026-11-30 02:00:00+00'::timestamptz) - interval '1 day'", calls: [], problems: [] }
 * ```
 * @module
 */

/**
 * The transaction-time functions and the type each returns; `now` stands for three names.
 *
 * @example
 * ```ts
 * TRANSACTION_TIMES.now; // "timestamptz"
 * ```
 */
export const TRANSACTION_TIMES: Readonly<Record<string, string>> = {
  now: "timestamptz",
  current_date: "date",
  current_time: "timetz",
  localtime: "time",
  localtimestamp: "timestamp",
};

/** Names that mean `now()`. */
const NOW_NAMES = ["now", "current_timestamp", "transaction_timestamp"];

/** SQL keywords among them: written without parentheses. */
const KEYWORDS = [
  "current_timestamp",
  "current_date",
  "current_time",
  "localtime",
  "localtimestamp",
];

/** A bare word of the SQL text (outside literals, quoted names and comments). */
interface Word {
  name: string;
  start: number;
  end: number;
  /** The next character that is not white space is `(`. */
  call: boolean;
  /** The word follows a `.`: it is qualified. */
  qualified: boolean;
}

/**
 * The bare words of a SQL expression, lowercased, skipping string literals (`'…'`, `E'…'`,
 * `$tag$…$tag$`), quoted identifiers and comments. The contents of `'…'` literals go to
 * `literals` when it is given.
 *
 * @example
 * ```ts
 * sqlWords("now() > 'now()' -- now").map((w) => w.name); // ["now"]
 * ```
 */
export function sqlWords(sql: string, literals?: string[]): Word[] {
  const words: Word[] = [];
  let i = 0;
  const skipTo = (end: number) => (i = end < 0 ? sql.length : end);
  while (i < sql.length) {
    const ch = sql[i];
    if (ch === "'") {
      const escapes = i > 0 && /[eE]/.test(sql[i - 1]) && !/[\w$]/.test(sql[i - 2] ?? "");
      let j = i + 1;
      for (; j < sql.length; j++) {
        if (escapes && sql[j] === "\\") j++;
        else if (sql[j] === "'") {
          if (sql[j + 1] === "'") j++;
          else break;
        }
      }
      literals?.push(sql.slice(i + 1, j).replaceAll("''", "'"));
      skipTo(j + 1);
    } else if (ch === '"') {
      let j = i + 1;
      for (; j < sql.length; j++) {
        if (sql[j] === '"') {
          if (sql[j + 1] === '"') j++;
          else break;
        }
      }
      skipTo(j + 1);
    } else if (ch === "-" && sql[i + 1] === "-") {
      const end = sql.indexOf("\n", i);
      skipTo(end < 0 ? -1 : end + 1);
    } else if (ch === "/" && sql[i + 1] === "*") {
      let depth = 0;
      let j = i;
      for (; j < sql.length; j++) {
        if (sql[j] === "/" && sql[j + 1] === "*") depth++, j++;
        else if (sql[j] === "*" && sql[j + 1] === "/") {
          j++;
          if (--depth === 0) break;
        }
      }
      skipTo(j + 1);
    } else if (ch === "$" && /^\$([A-Za-z_]\w*)?\$/.test(sql.slice(i))) {
      const tag = /^\$([A-Za-z_]\w*)?\$/.exec(sql.slice(i))![0];
      const end = sql.indexOf(tag, i + tag.length);
      skipTo(end < 0 ? -1 : end + tag.length);
    } else if (/[A-Za-z_\u0080-\uffff]/.test(ch)) {
      let j = i + 1;
      while (j < sql.length && /[\w$\u0080-\uffff]/.test(sql[j])) j++;
      let k = j;
      while (k < sql.length && /\s/.test(sql[k])) k++;
      let b = i - 1;
      while (b >= 0 && /\s/.test(sql[b])) b--;
      // `E'…'`, `B'…'`, `X'…'`: a literal's prefix, no word.
      if (sql[j] !== "'") {
        words.push({
          name: sql.slice(i, j).toLowerCase(),
          start: i,
          end: j,
          call: sql[k] === "(",
          qualified: b >= 0 && sql[b] === ".",
        });
      }
      i = j;
    } else if (/[0-9]/.test(ch)) {
      let j = i + 1;
      while (j < sql.length && /[\w.]/.test(sql[j])) j++;
      i = j;
    } else i++;
  }
  return words;
}

/** A `where` with its transaction-time functions replaced, and what else it calls. */
export interface ResolvedWhere {
  sql: string;
  /** The functions it calls (bare names), whose volatility the caller checks. */
  calls: string[];
  /** What cannot be given one answer, with what to write instead. */
  problems: string[];
}

/**
 * Replaces `now()`, `current_timestamp`, `transaction_timestamp()`, `current_date`,
 * `current_time`, `localtime` and `localtimestamp` with `values` (literals read once, keyed as
 * in `TRANSACTION_TIMES`), and lists the other functions the expression calls.
 *
 * @example
 * ```ts
 * resolveTimes("d >= current_date", { current_date: "'2026-11-30'::date" }).sql;
 * // "d >= ('2026-11-30'::date)"
 * ```
 */
export function resolveTimes(sql: string, values: Readonly<Record<string, string>>): ResolvedWhere {
  const calls = new Set<string>();
  const problems: string[] = [];
  let out = "";
  let at = 0;
  const literals: string[] = [];
  const words = sqlWords(sql, literals);
  for (const text of literals) {
    // As a date or time, these strings are read when the statement is: in each transaction.
    if (["now", "today", "tomorrow", "yesterday"].includes(text.trim().toLowerCase())) {
      problems.push(
        `'${text}' is read as each table's transaction time: use now() or current_date ` +
          `(resolved once), or a date`,
      );
    }
  }
  for (const w of words) {
    const key = NOW_NAMES.includes(w.name) ? "now" : w.name;
    const timed = key in TRANSACTION_TIMES;
    if (!timed || (!w.call && !KEYWORDS.includes(w.name))) {
      if (w.call) calls.add(w.name);
      continue;
    }
    if (w.qualified || (w.call && KEYWORDS.includes(w.name))) {
      problems.push(
        `${sql.slice(w.start, w.end)} gives each table's transaction its own answer: write it as ` +
          `${
            w.name === "now" ? "now()" : w.name.toUpperCase()
          } (unqualified, no precision), which ` +
          `pg-xmat resolves once, or a literal`,
      );
      continue;
    }
    let end = w.end;
    if (w.call) {
      const close = /^\s*\(\s*\)/.exec(sql.slice(w.end));
      if (!close) {
        problems.push(`${w.name}(…) takes no arguments`);
        continue;
      }
      end = w.end + close[0].length;
    }
    out += `${sql.slice(at, w.start)}(${values[key]})`;
    at = end;
  }
  return { sql: out + sql.slice(at), calls: [...calls].sort(), problems };
}
