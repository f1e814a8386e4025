/**
 * Job-name patterns: `*` any run of characters (`:` included), `?` one character, `[abc]` /
 * `[a-z]` / `[!abc]` one of a set; everything else matches itself.
 *
 * @example
 * ```ts
 * import { matchJobs } from "./glob.ts";
 * matchJobs("export:*", ["export:users", "mat:users"]); // ["export:users"]
 * ```
 * @module
 */

/**
 * Compiles a glob to an anchored regular expression.
 *
 * @example
 * ```ts
 * globToRegExp("mat:use?s").test("mat:users"); // true
 * ```
 */
export function globToRegExp(pattern: string): RegExp {
  let source = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "*") source += ".*";
    else if (c === "?") source += ".";
    else if (c === "[" && pattern.indexOf("]", i + 2) > i) {
      const end = pattern.indexOf("]", i + 2);
      let set = pattern.slice(i + 1, end);
      const negate = set.startsWith("!");
      if (negate) set = set.slice(1);
      source += `[${negate ? "^" : ""}${set.replace(/[\\\]^]/g, "\\$&")}]`;
      i = end;
    } else source += c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  }
  return new RegExp(`^${source}$`, "s");
}

/**
 * The names a pattern matches, in their given order.
 *
 * @example
 * ```ts
 * matchJobs("*:users", ["export:users", "mat:users", "export:orders"]);
 * // ["export:users", "mat:users"]
 * ```
 */
export function matchJobs(pattern: string, names: readonly string[]): string[] {
  const re = globToRegExp(pattern);
  return names.filter((name) => re.test(name));
}
