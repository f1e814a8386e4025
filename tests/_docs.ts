/**
 * Reading the documentation (README.md and docs/*.md) for the checks of `docs_test.ts`: code
 * blocks, headings and their GitHub anchors, relative links, options named, tests cited. Pure
 * functions over the text; the test does the file system and `deno check`.
 *
 * @example
 * ```ts
 * import { githubSlug } from "./_docs.ts";
 * githubSlug("Seeing before doing: `--dry-run`"); // "seeing-before-doing---dry-run"
 * ```
 * @module
 */

/** A fenced code block: its info string split in language and the rest, and where it starts. */
export interface CodeBlock {
  lang: string;
  /** What follows the language on the fence line (`ts ignore: why`, `json RunDocument`). */
  rest: string;
  /** The 1-based line of the opening fence. */
  line: number;
  code: string;
}

/** Something wrong in a page, with where it is. */
export interface Problem {
  file: string;
  line: number;
  message: string;
}

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*(\S*)\s*(.*)$/;

/**
 * The fenced code blocks of a markdown text, in order.
 *
 * @example
 * ```ts
 * codeBlocks("text\n```ts\nconst a = 1;\n```\n")[0]; // { lang: "ts", rest: "", line: 2, code: "const a = 1;\n" }
 * ```
 */
export function codeBlocks(text: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = lines[i].match(FENCE);
    if (!open) continue;
    const fence = open[1];
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !isClosingFence(lines[j], fence)) body.push(lines[j++]);
    blocks.push({
      lang: open[2],
      rest: open[3].trim(),
      line: i + 1,
      code: body.length ? body.join("\n") + "\n" : "",
    });
    i = j;
  }
  return blocks;
}

function isClosingFence(line: string, fence: string): boolean {
  const trimmed = line.trim();
  return trimmed.startsWith(fence) && /^(`+|~+)$/.test(trimmed) && trimmed[0] === fence[0];
}

/**
 * The text's lines with the lines of code blocks blanked, so that line numbers still hold.
 *
 * @example
 * ```ts
 * proseLines("a\n```\nb\n```\nc"); // ["a", "", "", "", "c"]
 * ```
 */
export function proseLines(text: string): string[] {
  const lines = text.split("\n");
  let fence: string | undefined;
  return lines.map((line) => {
    if (fence) {
      if (isClosingFence(line, fence)) fence = undefined;
      return "";
    }
    const open = line.match(FENCE);
    if (open) {
      fence = open[1];
      return "";
    }
    return line;
  });
}

/**
 * The anchor GitHub gives a heading: its text lower-cased, markdown links reduced to their text,
 * punctuation other than `-` and `_` removed, each space a `-`.
 *
 * @example
 * ```ts
 * githubSlug('`"*"`: every table'); // "-every-table"
 * ```
 */
export function githubSlug(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
    .replace(/ /g, "-");
}

/**
 * The anchors of a text's headings, with GitHub's `-1`, `-2` suffixes for repeated ones.
 *
 * @example
 * ```ts
 * headingAnchors("# A\n## B\n## B\n"); // Set { "a", "b", "b-1" }
 * ```
 */
export function headingAnchors(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of proseLines(text)) {
    const heading = line.match(/^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/);
    if (!heading) continue;
    const slug = githubSlug(heading[1]);
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/** A link of a page: its target as written and its line. */
export interface Link {
  target: string;
  line: number;
}

/**
 * The links of a text outside code blocks and inline code whose target is in the repository: a
 * relative path, with or without an `#anchor`, or an anchor alone.
 *
 * @example
 * ```ts
 * relativeLinks("see [x](docs/cli.md#exit-status), [y](https://deno.com), `[z](no.md)`");
 * // [{ target: "docs/cli.md#exit-status", line: 1 }]
 * ```
 */
export function relativeLinks(text: string): Link[] {
  const links: Link[] = [];
  proseLines(text).forEach((line, i) => {
    const prose = line.replace(/(`+)(?:(?!\1).)+\1/g, "");
    for (const match of prose.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const target = match[1];
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
      links.push({ target, line: i + 1 });
    }
  });
  return links;
}

/**
 * Where a relative link leads: the repository path of its file (the page's own when the link is
 * an anchor alone) and its anchor, if any.
 *
 * @example
 * ```ts
 * resolveLink("docs/cli.md", "../README.md#install"); // { path: "README.md", anchor: "install" }
 * ```
 */
export function resolveLink(page: string, target: string): { path: string; anchor?: string } {
  const [file, anchor] = target.split("#", 2) as [string, string | undefined];
  if (file === "") return { path: page, anchor };
  const parts = page.split("/").slice(0, -1);
  for (const part of file.split("/")) {
    if (part === "..") parts.pop();
    else if (part !== "." && part !== "") parts.push(part);
  }
  return { path: parts.join("/"), anchor: anchor || undefined };
}

/**
 * The options the help text lists, long and short: `-c, --config FILE` gives `-c` and
 * `--config`.
 *
 * @example
 * ```ts
 * helpOptions("Options:\n  -c, --config FILE   jobs\n      --list   list\n"); // ["-c", "--config", "--list"]
 * ```
 */
export function helpOptions(help: string): string[] {
  const options: string[] = [];
  for (const match of help.matchAll(/^ {2,}(?:(-[a-zA-Z]), )?(--[a-z][a-z0-9-]*)/gm)) {
    if (match[1]) options.push(match[1]);
    options.push(match[2]);
  }
  return options;
}

/** An option a page names, and its line. */
export interface NamedOption {
  option: string;
  line: number;
}

/**
 * Every long option (`--name`) a text names, in prose and code alike. Markdown table rules,
 * SQL `--` comments and anchors such as `#a---b` are not options.
 *
 * @example
 * ```ts
 * namedOptions("run `pg-xmat --dry-run`; [x](#doing---list)\n| --- |"); // [{ option: "--dry-run", line: 1 }]
 * ```
 */
export function namedOptions(text: string): NamedOption[] {
  const named: NamedOption[] = [];
  text.split("\n").forEach((line, i) => {
    for (const match of line.matchAll(/(?<![\w-])--[a-z][a-z0-9-]*/g)) {
      named.push({ option: match[0], line: i + 1 });
    }
  });
  return named;
}

/**
 * The long options the project's scripts (`deno task bench`, `compile`, `demo`) take: the keys
 * of their `parseArgs` options (a boolean also as `--no-name`) and the flags they look for with
 * `args.includes("--name")`.
 *
 * @example
 * ```ts
 * scriptOptions('options: { size: { type: "string" }, bound: { type: "boolean" } }');
 * // ["--size", "--bound", "--no-bound"]
 * ```
 */
export function scriptOptions(source: string): string[] {
  const options: string[] = [];
  for (const match of source.matchAll(/"?([a-z][a-z0-9-]*)"?: \{ type: "(string|boolean)"/g)) {
    options.push(`--${match[1]}`);
    if (match[2] === "boolean") options.push(`--no-${match[1]}`);
  }
  for (const match of source.matchAll(/includes\("(--[a-z][a-z0-9-]*)"\)/g)) {
    options.push(match[1]);
  }
  return options;
}

/** A test a page cites as `` `tests/x_test.ts` › "name" ``. */
export interface CitedTest {
  file: string;
  name: string;
}

/**
 * The tests a text cites, each as `` `tests/x_test.ts` › "name" `` (line breaks inside the name
 * count as spaces).
 *
 * @example
 * ```ts
 * citedTests('held by `tests/fault_test.ts` › "source backend\n  terminated mid-COPY"');
 * // [{ file: "tests/fault_test.ts", name: "source backend terminated mid-COPY" }]
 * ```
 */
export function citedTests(text: string): CitedTest[] {
  const flat = text.replace(/\s+/g, " ");
  return [...flat.matchAll(/`(tests\/[\w.]+_test\.ts)` › "([^"]+)"/g)].map((m) => ({
    file: m[1],
    name: m[2],
  }));
}

/**
 * The names of the tests and steps a test file defines: `Deno.test("name", …)`,
 * `Deno.test({ name: "name", … })` and `t.step("name", …)`.
 *
 * @example
 * ```ts
 * testNames('Deno.test("a", () => {});\nawait t.step("b", () => {});'); // ["a", "b"]
 * ```
 */
export function testNames(source: string): string[] {
  const pattern =
    /(?:Deno\.test\(\s*(?:\{\s*name:\s*)?|\.step\(\s*)("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')/g;
  return [...source.matchAll(pattern)].map((m) =>
    m[1].startsWith('"') ? JSON.parse(m[1]) : m[1].slice(1, -1).replace(/\\'/g, "'")
  );
}

/**
 * A TypeScript block made into a module `deno check` can take: every relative import resolved
 * against the page to an absolute `file:` URL of the repository, and `./pg_xmat_types.ts` (the
 * file `pg-xmat init` writes beside a jobs file) taken as the repository's `lib/types.ts`.
 *
 * @example
 * ```ts
 * checkableSource('import type { Jobs } from "./pg_xmat_types.ts";', "README.md", "file:///repo/");
 * // 'import type { Jobs } from "file:///repo/lib/types.ts";\nexport {};\n'
 * ```
 */
export function checkableSource(code: string, page: string, root: string): string {
  const body = code.replace(/(from\s+|import\s+)"(\.{1,2}\/[^"]+)"/g, (_all, lead, spec) => {
    const path = spec.endsWith("/pg_xmat_types.ts") ? "lib/types.ts" : resolveLink(page, spec).path;
    return `${lead}"${new URL(path, root).href}"`;
  });
  return `${body.trimEnd()}\nexport {};\n`;
}

/** A file a page names in inline code, and its line. */
export interface NamedFile {
  name: string;
  line: number;
}

/**
 * The files a text names in inline code outside code blocks: `lib/run.ts`, `main.ts`,
 * `ci.yml`.
 *
 * @example
 * ```ts
 * namedFiles("the pipeline is `lib/run.ts`, with `sql.ts`; `deno task check`");
 * // [{ name: "lib/run.ts", line: 1 }, { name: "sql.ts", line: 1 }]
 * ```
 */
export function namedFiles(text: string): NamedFile[] {
  const named: NamedFile[] = [];
  proseLines(text).forEach((line, i) => {
    for (const match of line.matchAll(/`((?:\.{0,2}\/)?[\w.\/-]*\w\.(?:ts|sql|md|yml))`/g)) {
      named.push({ name: match[1], line: i + 1 });
    }
  });
  return named;
}

/**
 * The fields of an exported interface of a TypeScript source, in order.
 *
 * @example
 * ```ts
 * interfaceFields("export interface A {\n  /** x *\/\n  b?: string;\n  c: number;\n}", "A"); // ["b", "c"]
 * ```
 */
export function interfaceFields(source: string, name: string): string[] {
  const start = source.search(new RegExp(`^export interface ${name}\\b[^{]*\\{`, "m"));
  if (start < 0) return [];
  const body = source.slice(start).split("\n").slice(1);
  const end = body.findIndex((line) => line.startsWith("}"));
  return body.slice(0, end).flatMap((line) => {
    const field = line.match(/^ {2}(?:readonly )?(\w+)\??:/);
    return field ? [field[1]] : [];
  });
}
