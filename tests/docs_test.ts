/**
 * The documentation cannot drift from the code: every ```ts block of README.md and docs/ type-checks
 * against this repository, every ```json block naming a type is one, every relative link and
 * anchor resolves, the command-line page has every option of `--help` and no page names an option
 * that does not exist, and every test a page cites exists. Needs no server.
 */

import { assertEquals } from "./_assert.ts";
import { HELP } from "../cli/args.ts";
import {
  checkableSource,
  citedTests,
  codeBlocks,
  githubSlug,
  headingAnchors,
  helpOptions,
  interfaceFields,
  namedFiles,
  namedOptions,
  type Problem,
  proseLines,
  relativeLinks,
  resolveLink,
  scriptOptions,
  testNames,
} from "./_docs.ts";

const ROOT = new URL("../", import.meta.url);
const CLI_PAGE = "docs/cli.md";
/**
 * Interfaces of lib/ whose every field a page names in inline code: a jobs file's keys on the
 * jobs-file page, the library's options on its page.
 */
const DOCUMENTED_INTERFACES: Record<string, string[]> = {
  "docs/jobs_file.md": ["Job", "Endpoint", "TableSpec", "Operators"],
  "docs/library.md": ["RunOptions"],
};
/** The front door stays short: reference text belongs in docs/. */
const README_MAX_BYTES = 15_000;
/** Prose and table lines readable in a terminal; code blocks (verbatim output) are exempt. */
const LINE_MAX = 120;

/**
 * Options of other programs the pages show being run, by program. Anything else a page names as
 * `--name` must be pg-xmat's or a project script's.
 */
const OTHER_PROGRAMS: Record<string, string[]> = {
  "sha256sum, shasum": ["--check", "--ignore-missing"],
  "apt-get": ["--no-install-recommends"],
  "pg_dump": ["--schema-only", "--clean", "--if-exists"],
  "pgcopydb clone": ["--table-jobs", "--index-jobs"],
  "deno (the binary's sandbox)": ["--no-prompt"],
};

/** Files a page may name that are the user's, not the repository's. */
const USER_FILES = new Set(["pg_xmat_jobs.ts", "pg_xmat_types.ts", "./pg_xmat_types.ts"]);

/** README.md and the pages of docs/, by repository path. */
async function readPages(): Promise<Map<string, string>> {
  const pages = new Map<string, string>();
  pages.set("README.md", await Deno.readTextFile(new URL("README.md", ROOT)));
  const names: string[] = [];
  for await (const entry of Deno.readDir(new URL("docs/", ROOT))) {
    if (entry.isFile && entry.name.endsWith(".md")) names.push(entry.name);
  }
  for (const name of names.sort()) {
    pages.set(`docs/${name}`, await Deno.readTextFile(new URL(`docs/${name}`, ROOT)));
  }
  return pages;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(new URL(path, ROOT));
    return true;
  } catch {
    return false;
  }
}

function report(problems: Problem[]): string {
  return problems.map((p) => `${p.file}:${p.line}: ${p.message}`).join("\n");
}

/** Links whose file or anchor does not exist. */
function brokenLinks(pages: Map<string, string>): Problem[] {
  const problems: Problem[] = [];
  const anchors = new Map<string, Set<string>>();
  for (const [page, text] of pages) {
    for (const { target, line } of relativeLinks(text)) {
      const { path, anchor } = resolveLink(page, target);
      const known = pages.get(path) ?? (exists(path) ? undefined : null);
      if (known === null) {
        problems.push({ file: page, line, message: `link to a missing file: ${target}` });
        continue;
      }
      if (anchor === undefined || !path.endsWith(".md")) continue;
      const text = known ?? Deno.readTextFileSync(new URL(path, ROOT));
      if (!anchors.has(path)) anchors.set(path, headingAnchors(text));
      if (!anchors.get(path)!.has(anchor)) {
        problems.push({
          file: page,
          line,
          message: `no heading in ${path} has the anchor #${anchor}`,
        });
      }
    }
  }
  return problems;
}

/** Options named by a page that neither pg-xmat, a project script, nor a program shown has. */
async function unknownOptions(pages: Map<string, string>): Promise<Problem[]> {
  const known = new Set(helpOptions(HELP));
  for await (const entry of Deno.readDir(new URL("scripts/", ROOT))) {
    if (!entry.name.endsWith(".ts")) continue;
    const source = await Deno.readTextFile(new URL(`scripts/${entry.name}`, ROOT));
    for (const option of scriptOptions(source)) known.add(option);
  }
  for (const options of Object.values(OTHER_PROGRAMS)) for (const o of options) known.add(o);
  const problems: Problem[] = [];
  for (const [page, text] of pages) {
    for (const { option, line } of namedOptions(text)) {
      if (!known.has(option)) {
        problems.push({ file: page, line, message: `${option} is not an option of pg-xmat` });
      }
    }
  }
  return problems;
}

/** Every file of the repository, by path (dependencies and build output left out). */
async function repositoryFiles(dir = ""): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(new URL(dir || ".", ROOT))) {
    const path = `${dir}${entry.name}`;
    if (entry.isDirectory && ![".git", ".deno", "node_modules", "dist"].includes(entry.name)) {
      files.push(...await repositoryFiles(`${path}/`));
    } else if (entry.isFile) files.push(path);
  }
  return files;
}

/**
 * Files a page names that do not exist: a path must exist as written (from the repository's
 * root), a bare name somewhere in the repository.
 */
async function missingFiles(pages: Map<string, string>): Promise<Problem[]> {
  const files = await repositoryFiles();
  const names = new Set(files.map((f) => f.split("/").at(-1)));
  const problems: Problem[] = [];
  for (const [page, text] of pages) {
    for (const { name, line } of namedFiles(text)) {
      if (USER_FILES.has(name)) continue;
      const found = name.includes("/") ? files.includes(name) : names.has(name);
      if (!found) problems.push({ file: page, line, message: `no file ${name} in the repository` });
    }
  }
  return problems;
}

/** Cited tests that their file does not define. */
async function missingTests(pages: Map<string, string>): Promise<Problem[]> {
  const problems: Problem[] = [];
  for (const [page, text] of pages) {
    for (const { file, name } of citedTests(text)) {
      const defined = exists(file)
        ? testNames(await Deno.readTextFile(new URL(file, ROOT))).map((n) => n.replace(/\s+/g, " "))
        : [];
      if (!defined.includes(name)) {
        problems.push({ file: page, line: 0, message: `${file} has no test named "${name}"` });
      }
    }
  }
  return problems;
}

/** The module of cli/ or lib/ that exports a type of that name. */
async function typeModule(name: string): Promise<string | undefined> {
  for (const dir of ["cli", "lib"]) {
    for await (const entry of Deno.readDir(new URL(`${dir}/`, ROOT))) {
      const path = `${dir}/${entry.name}`;
      const source = await Deno.readTextFile(new URL(path, ROOT));
      if (new RegExp(`^export (interface|type) ${name}\\b`, "m").test(source)) return path;
    }
  }
  return undefined;
}

/**
 * Writes each ```ts block (and each ```json block naming a type) to a module of its own and runs
 * `deno check` on them all; returns the checker's complaints, empty when every block passes.
 */
async function typeCheck(pages: Map<string, string>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "pg-xmat-docs-" });
  try {
    const files: string[] = [];
    const problems: Problem[] = [];
    for (const [page, text] of pages) {
      for (const block of codeBlocks(text)) {
        let source: string | undefined;
        if (block.lang === "ts" || block.lang === "typescript") {
          if (block.rest.startsWith("ignore")) {
            if (!/^ignore\S*\s+\S/.test(block.rest)) {
              problems.push({
                file: page,
                line: block.line,
                message: "```ts ignore needs a reason",
              });
            }
            continue;
          }
          source = checkableSource(block.code, page, ROOT.href);
        } else if (block.lang === "json" && block.rest) {
          const module = await typeModule(block.rest);
          if (!module) {
            problems.push({ file: page, line: block.line, message: `no type ${block.rest}` });
            continue;
          }
          source = `import type { ${block.rest} } from "${new URL(module, ROOT).href}";\n` +
            `export const document: ${block.rest} = ${block.code.trim()};\n`;
        }
        if (source === undefined) continue;
        const file = `${dir}/${page.replace(/[/.]/g, "_")}_line_${block.line}.ts`;
        await Deno.writeTextFile(file, source);
        files.push(file);
      }
    }
    if (problems.length) return report(problems);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["check", "--quiet", "--config", new URL("deno.json", ROOT).pathname, ...files],
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const decoder = new TextDecoder();
    return out.success ? "" : decoder.decode(out.stdout) + decoder.decode(out.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("docs: every ts block type-checks, every json block naming a type is one", async () => {
  const pages = await readPages();
  const blocks = [...pages.values()].flatMap((t) => codeBlocks(t)).filter((b) => b.lang === "ts");
  assertEquals(blocks.length > 0, true, "no ```ts block found: the extraction is broken");
  assertEquals(await typeCheck(pages), "");
});

Deno.test("docs: every relative link leads to a file, every #anchor to a heading", async () => {
  assertEquals(report(brokenLinks(await readPages())), "");
});

Deno.test("docs: the command-line page has every option of --help; no page names another", async () => {
  const pages = await readPages();
  const cliPage = pages.get(CLI_PAGE) ?? "";
  const missing = helpOptions(HELP).filter((option) =>
    !new RegExp(`(?<![\\w-])${option}(?![\\w-])`).test(cliPage)
  );
  assertEquals(missing, [], `${CLI_PAGE} does not mention these options of --help`);
  assertEquals(helpOptions(HELP).length >= 10, true, "the options of --help were not found");
  assertEquals(report(await unknownOptions(pages)), "");
});

Deno.test("docs: every test a page cites exists, every file it names", async () => {
  const pages = await readPages();
  assertEquals(report(await missingFiles(pages)), "");
  assertEquals(citedTests(pages.get("docs/safety.md") ?? "").length >= 10, true);
  assertEquals(report(await missingTests(pages)), "");
});

/** The text of every exported interface and type of lib/, its subdirectories included. */
async function librarySource(dir = "lib/"): Promise<string> {
  let source = "";
  for await (const entry of Deno.readDir(new URL(dir, ROOT))) {
    if (entry.isDirectory) source += await librarySource(`${dir}${entry.name}/`);
    else if (entry.name.endsWith(".ts")) {
      source += await Deno.readTextFile(new URL(`${dir}${entry.name}`, ROOT)) + "\n";
    }
  }
  return source;
}

/** The inline code of a page's prose, one span a line. */
function inlineCode(page: string): string {
  return proseLines(page).flatMap((line) => [...line.matchAll(/`([^`]+)`/g)].map((m) => m[1]))
    .join("\n");
}

Deno.test("docs: the jobs file's keys, the library's options and events are all named", async () => {
  const lib = await librarySource();
  const pages = await readPages();
  const missing: string[] = [];
  for (const [page, interfaces] of Object.entries(DOCUMENTED_INTERFACES)) {
    const code = inlineCode(pages.get(page) ?? "");
    for (const name of interfaces) {
      const fields = interfaceFields(lib, name);
      assertEquals(fields.length > 0, true, `interface ${name} not found under lib/`);
      for (const field of fields) {
        if (!new RegExp(`\\b${field}\\b`).test(code)) missing.push(`${page}: ${name}.${field}`);
      }
    }
  }
  const kinds = [...lib.matchAll(/^ {2}kind: "([\w-]+)";/gm)].map((m) => m[1]);
  assertEquals(kinds.length >= 5, true, "the kinds of RunEvent were not found under lib/");
  const libraryCode = inlineCode(pages.get("docs/library.md") ?? "");
  for (const kind of kinds) {
    if (!libraryCode.split("\n").includes(kind)) missing.push(`docs/library.md: event ${kind}`);
  }
  assertEquals(missing, [], "not named in inline code on the page");
});

Deno.test("docs: README stays short; prose and tables fit a terminal", async () => {
  const pages = await readPages();
  const size = new TextEncoder().encode(pages.get("README.md")).length;
  assertEquals(
    size <= README_MAX_BYTES,
    true,
    `README.md is ${size} bytes, over ${README_MAX_BYTES}: move reference text to a page of docs/`,
  );
  const long: Problem[] = [];
  for (const [page, text] of pages) {
    proseLines(text).forEach((line, i) => {
      if ([...line].length > LINE_MAX) {
        long.push({ file: page, line: i + 1, message: `${[...line].length} characters` });
      }
    });
  }
  assertEquals(
    report(long),
    "",
    `lines over ${LINE_MAX} characters: shorten the table cells (one sentence each; ` +
      "details in prose under the table)",
  );
});

Deno.test("docs helpers: anchors, links, options, citations", () => {
  assertEquals(
    githubSlug("Seeing before doing: `--dry-run` and `--list`"),
    "seeing-before-doing---dry-run-and---list",
  );
  assertEquals(githubSlug('`"*"`: every table'), "-every-table");
  assertEquals(githubSlug("5. copy"), "5-copy");
  assertEquals([...headingAnchors("# A\n```\n# not a heading\n```\n## A\n")], ["a", "a-1"]);
  assertEquals(relativeLinks("[a](x.md#b) `[c](d.md)` [e](https://f) [g](#h)"), [
    { target: "x.md#b", line: 1 },
    { target: "#h", line: 1 },
  ]);
  assertEquals(resolveLink("docs/a.md", "../lib/mod.ts"), {
    path: "lib/mod.ts",
    anchor: undefined,
  });
  assertEquals(resolveLink("docs/a.md", "#x"), { path: "docs/a.md", anchor: "x" });
  assertEquals(helpOptions(HELP).slice(0, 2), ["-c", "--config"]);
  assertEquals(
    namedOptions("`--jobs N`, a -- comment, | --- |, [x](#a---list)").map((o) => o.option),
    ["--jobs"],
  );
  assertEquals(namedFiles("`lib/run.ts`, `sql.ts`, `deno task`").map((f) => f.name), [
    "lib/run.ts",
    "sql.ts",
  ]);
  assertEquals(
    interfaceFields("export interface A {\n  /** b */\n  b?: X;\n  c: {\n    d: 1;\n  };\n}", "A"),
    ["b", "c"],
  );
  assertEquals(scriptOptions('args.includes("--keep")'), ["--keep"]);
  assertEquals(citedTests('`tests/a_test.ts` › "one\n  two"'), [{
    file: "tests/a_test.ts",
    name: "one two",
  }]);
  assertEquals(testNames('Deno.test({\n  name: "x",\n});\nt.step("y", f)'), ["x", "y"]);
});
