/**
 * The shape of a query's text, for the tests of the modules that build SQL: its `$n`
 * parameters, and whether its parentheses and quotes are balanced (outside literals, quoted
 * names and comments). No server needed; the integration suites run the queries.
 *
 * @module
 */

import { assertEquals } from "./_assert.ts";

/** The `$n` parameters a query uses, each once, in ascending order. */
export function parameters(sql: string): number[] {
  const found = new Set<number>();
  for (const m of outsideQuotes(sql).matchAll(/\$(\d+)/g)) found.add(Number(m[1]));
  return [...found].sort((a, b) => a - b);
}

/** The text of a query with its literals, quoted names and comments blanked out. */
function outsideQuotes(sql: string): string {
  return sql.replace(/'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*/g, (m) => " ".repeat(m.length));
}

/**
 * Asserts that a query is whole: no template placeholder left (`${`), quotes closed,
 * parentheses balanced, and its parameters exactly `$1` to `$count`.
 */
export function assertWellFormed(sql: string, count: number, what = sql.slice(0, 60)): void {
  assertEquals(sql.includes("${"), false, `${what}: a template placeholder is left`);
  const bare = outsideQuotes(sql);
  assertEquals(/['"]/.test(bare), false, `${what}: a quote is not closed`);
  let depth = 0;
  for (const ch of bare) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    assertEquals(depth >= 0, true, `${what}: ")" before its "("`);
  }
  assertEquals(depth, 0, `${what}: unbalanced parentheses`);
  assertEquals(parameters(sql), Array.from({ length: count }, (_, i) => i + 1), what);
}
