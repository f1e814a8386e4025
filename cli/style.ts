/**
 * What the terminal can take: live redraws and colours only on a terminal, colours never when
 * `NO_COLOR` is set to anything but "" (no-color.org), neither on `TERM=dumb`. And the few
 * helpers to colour a text and to fit it to a width. Pure.
 *
 * @example
 * ```ts
 * import { makeStyle, terminalMode } from "./style.ts";
 * const mode = terminalMode(Deno.stderr.isTerminal(), Deno.env.toObject());
 * const style = makeStyle(mode.color);
 * console.error(style.yellow("warning: …"));
 * ```
 * @module
 */

/** How output is written to a stream. */
export interface TerminalMode {
  /** Redraw live progress lines in place (escape codes); otherwise plain lines only. */
  live: boolean;
  /** Colour the text. */
  color: boolean;
}

/**
 * The mode for a stream: `isTerminal` is the stream's `isTerminal()`, `env` the environment.
 *
 * @example
 * ```ts
 * terminalMode(true, { NO_COLOR: "1" }); // { live: true, color: false }
 * terminalMode(false, {}); // { live: false, color: false }
 * ```
 */
export function terminalMode(
  isTerminal: boolean,
  env: { readonly NO_COLOR?: string; readonly TERM?: string },
): TerminalMode {
  const live = isTerminal && env.TERM !== "dumb";
  return { live, color: live && (env.NO_COLOR ?? "") === "" };
}

/** Colours, each a no-op when colours are off. */
export interface Style {
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  dim(text: string): string;
  bold(text: string): string;
}

/**
 * The colours, or no-ops.
 *
 * @example
 * ```ts
 * makeStyle(true).green("ok"); // "\x1b[32mok\x1b[39m"
 * makeStyle(false).green("ok"); // "ok"
 * ```
 */
export function makeStyle(color: boolean): Style {
  const sgr = (on: number, off: number) => (text: string) =>
    color ? `\x1b[${on}m${text}\x1b[${off}m` : text;
  return {
    red: sgr(31, 39),
    green: sgr(32, 39),
    yellow: sgr(33, 39),
    dim: sgr(2, 22),
    bold: sgr(1, 22),
  };
}

/** An escape sequence, or one character. */
// deno-lint-ignore no-control-regex
const TOKEN = /\x1b\[[0-9;?]*[A-Za-z]|[\s\S]/gu;

/**
 * Cuts a text to `width` visible characters (escape codes take no room), ending with `…` when
 * cut; a line that fits a terminal's width never wraps, so redrawing in place stays exact.
 *
 * @example
 * ```ts
 * fit("orders  61%", 8); // "orders …"
 * fit("\x1b[32mok\x1b[39m", 8); // "\x1b[32mok\x1b[39m"
 * ```
 */
export function fit(text: string, width: number): string {
  const tokens = text.match(TOKEN) ?? [];
  if (textWidth(text) <= width) return text;
  let out = "";
  let shown = 0;
  for (const t of tokens) {
    if (t.startsWith("\x1b")) out += t;
    else if (shown + charWidth(t) <= width - 1) {
      out += t;
      shown += charWidth(t);
    } else shown = width; // nothing after a character that did not fit
  }
  return `${out}…`;
}

/** East Asian wide and fullwidth characters, and emoji: two columns of a terminal each. */
const WIDE =
  /[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6\u{1f300}-\u{1f64f}\u{1f900}-\u{1f9ff}\u{20000}-\u{3fffd}]/u;
/** Combining marks and zero-width characters: no column of their own. */
const ZERO = /[\p{Mn}\p{Me}\u200b-\u200f]/u;

/**
 * The columns one character takes in a terminal.
 *
 * @example
 * ```ts
 * charWidth("a"); // 1
 * charWidth("表"); // 2
 * ```
 */
export function charWidth(char: string): number {
  return ZERO.test(char) ? 0 : WIDE.test(char) ? 2 : 1;
}

/**
 * The columns a text takes in a terminal (escape codes take none): what aligns tables, where
 * `length` would count `表` as one column.
 *
 * @example
 * ```ts
 * textWidth("表 t"); // 4
 * textWidth("\x1b[32mok\x1b[39m"); // 2
 * ```
 */
export function textWidth(text: string): number {
  let width = 0;
  for (const t of text.match(TOKEN) ?? []) if (!t.startsWith("\x1b")) width += charWidth(t);
  return width;
}

/**
 * Pads a text to `width` columns, on the right (`l`, left-aligned) or on the left (`r`).
 *
 * @example
 * ```ts
 * padWidth("表", 4, "l"); // "表  "
 * padWidth("12", 4, "r"); // "  12"
 * ```
 */
export function padWidth(text: string, width: number, align: "l" | "r"): string {
  const pad = " ".repeat(Math.max(0, width - textWidth(text)));
  return align === "r" ? pad + text : text + pad;
}
