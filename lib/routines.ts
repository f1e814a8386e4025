/**
 * The routines (functions, procedures, aggregates) a job brings: each `SET search_path` that names
 * the source schema moved to the target schema, and a warning for each body that names the source
 * schema, which PostgreSQL keeps as text and no statement can move. Pure functions.
 *
 * @example
 * ```ts
 * import { routineNotes } from "./routines.ts";
 * const notes = routineNotes([
 *   { identity: "shop.f()", kind: "f", language: "sql", config: ["search_path=shop"], source: "SELECT 1" },
 * ], "shop", "staging");
 * notes.moved; // ["shop.f()"]
 * ```
 * @module
 */

import { quoteIdent } from "./sql.ts";

/** A routine (function, procedure, aggregate) the job brings, as the catalog has it. */
export interface Routine {
  /** Schema-qualified with its argument types, quoted as needed: `shop.f(integer)`. */
  identity: string;
  /** `f` function, `p` procedure, `a` aggregate, `w` window function. */
  kind: string;
  language: string;
  /** `proconfig`: `["search_path=shop, public"]`. */
  config: string[];
  /** The body as text (`prosrc`); empty for a `BEGIN ATOMIC` one, which is stored parsed. */
  source: string;
}

/**
 * The elements of a `search_path` value as PostgreSQL stores it (identifiers quoted as needed,
 * separated by commas).
 *
 * @example
 * ```ts
 * searchPathElements('"$user", shop, "Odd, Name"'); // ['"$user"', "shop", '"Odd, Name"']
 * ```
 */
export function searchPathElements(value: string): string[] {
  const elements: string[] = [];
  let current = "";
  let quoted = false;
  for (const ch of value) {
    if (ch === '"') quoted = !quoted;
    if (ch === "," && !quoted) {
      elements.push(current.trim());
      current = "";
    } else current += ch;
  }
  if (current.trim()) elements.push(current.trim());
  return elements;
}

/** An element of a search path as the schema name it denotes. */
function elementName(element: string): string {
  return /^".*"$/.test(element) ? element.slice(1, -1).replaceAll('""', '"') : element;
}

/** What a job does about routines that name the source schema. */
export interface RoutineNotes {
  /** `ALTER FUNCTION … SET search_path = …` for each routine whose path names the source schema. */
  alter: string[];
  /** The routines those statements change. */
  moved: string[];
  /** One per routine whose body still names the source schema on the target. */
  warnings: string[];
}

/**
 * The statements that give each routine whose `SET search_path` names the source schema the
 * target schema in its place (they run while the shadow schema carries the source schema's
 * name, so the routine's identity resolves there), and a warning for each body that names the
 * source schema, which PostgreSQL keeps as text. Nothing to do when the names are the same.
 *
 * @example
 * ```ts
 * routineNotes([{ identity: "shop.f()", kind: "f", language: "sql", config: ["search_path=shop"], source: "SELECT 1" }], "shop", "staging").alter;
 * // ['-- Name: shop.f(); Type: FUNCTION SEARCH_PATH; Schema: -\nALTER FUNCTION shop.f() SET search_path = staging']
 * ```
 */
export function routineNotes(
  routines: readonly Routine[],
  source: string,
  target: string,
): RoutineNotes {
  const notes: RoutineNotes = { alter: [], moved: [], warnings: [] };
  if (source === target) return notes;
  const named = namesSchema(source);
  for (const r of routines) {
    const setting = r.config.find((c) => c.startsWith("search_path="));
    const elements = setting ? searchPathElements(setting.slice("search_path=".length)) : [];
    if (elements.some((e) => elementName(e) === source)) {
      const path = elements.map((e) => elementName(e) === source ? quoteIdent(target) : e);
      const what = r.kind === "p" ? "PROCEDURE" : "FUNCTION";
      notes.alter.push(
        `-- Name: ${r.identity}; Type: ${what} SEARCH_PATH; Schema: -\n` +
          `ALTER ${what} ${r.identity} SET search_path = ${path.join(", ")}`,
      );
      notes.moved.push(r.identity);
    }
    if (!["c", "internal"].includes(r.language) && named.test(r.source)) {
      notes.warnings.push(
        `${routineKind(r.kind)} ${r.identity} names schema ${
          JSON.stringify(source)
        } in its body, which PostgreSQL keeps as text: on the target it still reads schema ${
          JSON.stringify(source)
        }, not ${
          JSON.stringify(target)
        }. Name the target schema like the source's, or write the body without the schema name and give the ${
          routineKind(r.kind)
        } SET search_path = ${quoteIdent(source)} (pg-xmat moves that to the target schema)`,
      );
    }
  }
  return notes;
}

function routineKind(kind: string): string {
  return kind === "p" ? "procedure" : kind === "a" ? "aggregate" : "function";
}

/**
 * A pattern that finds `schema.` (or `"schema".`) in SQL text: a hint for a warning, never used
 * to change the text.
 *
 * @example
 * ```ts
 * namesSchema("shop").test("SELECT * FROM Shop.orders"); // true
 * namesSchema("shop").test("SELECT * FROM workshop.orders"); // false
 * ```
 */
export function namesSchema(schema: string): RegExp {
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const quoted = escape(quoteIdent(schema).startsWith('"') ? quoteIdent(schema) : `"${schema}"`);
  const forms = [quoted];
  // An unquoted name is folded to lower case: it can only name a lower-case schema.
  if (schema === schema.toLowerCase()) forms.push(`(?<![\\w$"])${escape(schema)}`);
  return new RegExp(`(?:${forms.join("|")})\\s*\\.`, schema === schema.toLowerCase() ? "i" : "");
}
