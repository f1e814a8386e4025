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
  if (tokens.filter((t) => !t.startsWith("\x1b")).length <= width) return text;
  let out = "";
  let shown = 0;
  for (const t of tokens) {
    if (t.startsWith("\x1b")) out += t;
    else if (shown < width - 1) {
      out += t;
      shown++;
    }
  }
  return `${out}…`;
}
