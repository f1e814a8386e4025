/**
 * A tiny terminal for the tests: plays back what a program wrote to a terminal (text, `\r`,
 * `\n`, cursor up `ESC[nA`, to a column `ESC[nG`, erase a line `ESC[2K` or below `ESC[J`,
 * colours ignored, long lines wrapped) and returns the lines left on the screen, so a test can
 * check that live redraws left nothing behind and corrupted no line.
 *
 * @module
 */

/** The screen's lines after `output` was written to an empty terminal of `columns`. */
export function screen(output: string, columns = 1000): string[] {
  const lines: string[] = [""];
  let row = 0;
  let col = 0;
  // deno-lint-ignore no-control-regex
  const tokens = output.match(/\x1b\[[0-9;?]*[A-Za-z]|[\s\S]/gu) ?? [];
  for (const t of tokens) {
    if (t.startsWith("\x1b[")) {
      const n = Number(t.slice(2, -1)) || 1;
      if (t.endsWith("A")) row = Math.max(0, row - n);
      else if (t.endsWith("G")) col = n - 1;
      else if (t === "\x1b[2K") lines[row] = "";
      else if (t.endsWith("J")) {
        lines[row] = [...lines[row]].slice(0, col).join("");
        lines.length = row + 1;
      } else if (!t.endsWith("m")) throw new Error(`unexpected escape ${JSON.stringify(t)}`);
    } else if (t === "\r") col = 0;
    else if (t === "\n") {
      row++;
      col = 0;
      while (lines.length <= row) lines.push("");
    } else {
      if (col >= columns) { // the terminal wraps the line
        row++;
        col = 0;
        while (lines.length <= row) lines.push("");
      }
      const chars = [...lines[row]];
      while (chars.length < col) chars.push(" ");
      chars[col] = t;
      lines[row] = chars.join("");
      col++;
    }
  }
  while (lines.length && lines.at(-1) === "") lines.pop();
  return lines;
}

/** The text without colour codes. */
export function stripColours(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/\x1b\[[0-9;]*m/g, "");
}

/** The live lines were redrawn in place (cursor up, erase below) at least once. */
export function hasRedraw(text: string): boolean {
  // deno-lint-ignore no-control-regex
  return /\x1b\[\d+A\r\x1b\[J/.test(text);
}

/** The text has colour (SGR) codes. */
export function hasColour(text: string): boolean {
  // deno-lint-ignore no-control-regex
  return /\x1b\[[0-9;]*m/.test(text);
}
