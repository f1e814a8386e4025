/**
 * The client tools' part of the structure: `pg_dump` of the source schema (schema only, in the
 * job's snapshot) into an archive, one section of it narrowed to the job's objects as SQL
 * (`pg_restore`) in batches that each fit a transaction's share of the target's lock table, and
 * a script of transactions run on the target with `psql`. The structure and post-data steps
 * (`steps/`) run the pre-data and post-data sections with them.
 *
 * @example
 * ```ts
 * import { dumpStructure, runScript, sectionBatches, transactions } from "./structure.ts";
 * import type { ConnInfo } from "./conninfo.ts";
 * import type { ClientTools } from "./pg_tools.ts";
 * import type { Structure } from "./source_objects.ts";
 * import { tocSelection } from "./toc.ts";
 * declare const tools: ClientTools, source: ConnInfo, target: ConnInfo, structure: Structure;
 * const dir = await Deno.makeTempDir();
 * const archive = await dumpStructure({ tools, source, schema: "public", snapshot: "00000003-1", dir, exclude: [] });
 * const batches = await sectionBatches(tools, archive, {
 *   section: "pre-data",
 *   selection: tocSelection(structure.objects),
 *   budget: 1600,
 * });
 * await runScript(tools, target, transactions(batches.map(({ sql }) => ({ body: sql }))));
 * ```
 * @module
 */

import { join } from "node:path";
import { type ConnInfo, toolConnection } from "./conninfo.ts";
import { ToolFailed } from "./errors.ts";
import { type ClientTools, runTool } from "./pg_tools.ts";
import { packBatches } from "./lock_budget.ts";
import { SOURCE_LOCK_WAIT_MS } from "./snapshot.ts";
import {
  defaultsEarly,
  entryLocks,
  parseToc,
  selectToc,
  type TocEntry,
  tocList,
  type TocSelection,
} from "./toc.ts";

/** A dumped archive and its table of contents. */
export interface Archive {
  /** The private directory that holds it (and the lists given to pg_restore). */
  dir: string;
  path: string;
  toc: TocEntry[];
  /** The dump IDs of the post-data section's entries; the others are pre-data. */
  postData: ReadonlySet<number>;
}

/** What `dumpStructure` needs. */
export interface DumpInput {
  tools: ClientTools;
  source: ConnInfo;
  schema: string;
  /** The exported snapshot every reader of the job shares. */
  snapshot: string;
  /** A private temporary directory for the archive. */
  dir: string;
  /** Relations of the schema to leave out (not locked, no privilege needed on them). */
  exclude: readonly string[];
  signal?: AbortSignal;
}

/**
 * A pg_dump pattern that matches exactly one name: inside double quotes, case, dots and
 * wildcards are literal.
 *
 * @example
 * ```ts
 * exactPattern("My.Schema"); // '"My.Schema"'
 * exactPattern("acme", "Order Items"); // '"acme"."Order Items"'
 * ```
 */
export function exactPattern(...names: string[]): string {
  return names.map((n) => `"${n.replaceAll('"', '""')}"`).join(".");
}

/**
 * `pg_dump --schema-only` of one schema, in the job's snapshot, as a custom-format archive;
 * returns it with its table of contents.
 *
 * @example
 * ```ts
 * import type { ClientTools } from "./pg_tools.ts";
 * import type { ConnInfo } from "./conninfo.ts";
 * declare const tools: ClientTools, source: ConnInfo;
 * const archive = await dumpStructure({
 *   tools, source, schema: "public", snapshot: "00000003-0000001B-1",
 *   dir: await Deno.makeTempDir(), exclude: [],
 * });
 * ```
 */
export async function dumpStructure(input: DumpInput): Promise<Archive> {
  const path = join(input.dir, "structure.dump");
  const { dbname, env } = toolConnection(input.source);
  await runTool(input.tools.pgDump.path, [
    "--schema-only",
    "--format=custom",
    `--schema=${exactPattern(input.schema)}`,
    ...input.exclude.map((name) => `--exclude-table=${exactPattern(input.schema, name)}`),
    `--snapshot=${input.snapshot}`,
    `--lock-wait-timeout=${SOURCE_LOCK_WAIT_MS}`,
    "--no-sync",
    `--file=${path}`,
    `--dbname=${dbname}`,
  ], { env, signal: input.signal });
  const list = (...args: string[]) =>
    runTool(input.tools.pgRestore.path, ["--list", ...args, path], { signal: input.signal });
  const [all, post] = await Promise.all([list("--verbose"), list("--section=post-data")]);
  return {
    dir: input.dir,
    path,
    toc: parseToc(all.stdout),
    postData: new Set(parseToc(post.stdout).map((e) => e.id)),
  };
}

/** One batch of a section: its entries and their SQL (as `pg_restore` writes it). */
export interface SectionBatch {
  entries: TocEntry[];
  sql: string;
}

/** How `sectionBatches` cuts a section. */
export interface BatchOptions {
  section: "pre-data" | "post-data";
  selection: TocSelection;
  /** Locks one batch may take. */
  budget: number;
  /** An entry's locks; `entryLocks` by default. */
  weight?: (entry: TocEntry) => number;
  /**
   * Cut into at least this many batches, of at least `SPREAD_ENTRIES` entries each (1 by
   * default): the section's first objects are committed early, for what waits for them.
   */
  spread?: number;
  signal?: AbortSignal;
}

/**
 * One section of the narrowed archive as SQL, cut into batches of consecutive entries that each
 * take at most `budget` locks (and into `spread` batches): each batch is meant for a transaction
 * of its own. Always at least one batch, empty when the section is.
 *
 * @example
 * ```ts
 * import type { ClientTools } from "./pg_tools.ts";
 * import { tocSelection } from "./toc.ts";
 * declare const tools: ClientTools, archive: Archive;
 * const batches = await sectionBatches(tools, archive, {
 *   section: "post-data",
 *   selection: tocSelection(["1259:16390"]),
 *   budget: 1600,
 * });
 * batches.map((b) => b.sql);
 * ```
 */
export async function sectionBatches(
  tools: ClientTools,
  archive: Archive,
  options: BatchOptions,
): Promise<SectionBatch[]> {
  // The list alone chooses the section: with `--section`, pg_restore would place an entry
  // without a section of its own (a comment) in the section of the entry listed before it.
  const post = options.section === "post-data";
  const section = selectToc(archive.toc, options.selection).filter((e) =>
    archive.postData.has(e.id) === post
  );
  // Each table's defaults right after it: what waits for a table waits for those too.
  const entries = post ? section : defaultsEarly(section);
  const batches = packBatches(
    entries,
    options.weight ?? entryLocks,
    options.budget,
    Math.max(SPREAD_ENTRIES, Math.ceil(entries.length / (options.spread ?? 1))),
  );
  const render = async (batch: TocEntry[], i: number): Promise<SectionBatch> => {
    const listPath = `${archive.path}.${options.section}.${i}.list`;
    await Deno.writeTextFile(listPath, tocList(batch));
    const { stdout } = await runTool(tools.pgRestore.path, [
      `--use-list=${listPath}`,
      "--no-owner",
      "--no-privileges",
      "--no-tablespaces",
      "--no-security-labels",
      "--file=-",
      archive.path,
    ], { signal: options.signal });
    return { entries: batch, sql: stdout };
  };
  const all = batches.length ? batches : [[]];
  const rendered: SectionBatch[] = [];
  // A few pg_restore at a time: each reads the whole archive's table of contents.
  for (let i = 0; i < all.length; i += RENDERING_AT_ONCE) {
    rendered.push(
      ...await Promise.all(all.slice(i, i + RENDERING_AT_ONCE).map((b, j) => render(b, i + j))),
    );
  }
  return rendered;
}

const RENDERING_AT_ONCE = 4;

/**
 * The fewest entries `sectionBatches` puts in a batch to spread a section: a transaction costs a
 * `pg_restore` run to write it and a commit.
 *
 * @example
 * ```ts
 * SPREAD_ENTRIES; // 50
 * ```
 */
export const SPREAD_ENTRIES = 50;

/** Options of `runScript`. */
export interface ScriptOptions {
  signal?: AbortSignal;
  /** Called with each transaction's index (in the script, from 0) once it committed. */
  onCommit?: (index: number) => void;
}

/**
 * Runs a script of transactions (see `transactions`) on the target with `psql`, stopping at the
 * first error: the transaction it happened in is rolled back, those before it stay committed.
 * The script may contain the `\restrict` lines `pg_restore` writes, which is why psql runs it.
 * A failure is a `ToolFailed` whose message is psql's error (with DETAIL, HINT and the line),
 * after the object it was restoring.
 *
 * @example
 * ```ts
 * import type { ClientTools } from "./pg_tools.ts";
 * import type { ConnInfo } from "./conninfo.ts";
 * declare const tools: ClientTools, target: ConnInfo;
 * await runScript(tools, target, transactions([{ before: ["CREATE SCHEMA s"] }]), {
 *   onCommit: (i) => console.log(`transaction ${i} committed`),
 * });
 * ```
 */
export async function runScript(
  tools: ClientTools,
  target: ConnInfo,
  script: string,
  options: ScriptOptions = {},
): Promise<void> {
  const { dbname, env } = toolConnection(target);
  const { onCommit } = options;
  try {
    await runTool(tools.psql.path, [
      "--no-psqlrc",
      "--quiet",
      "--set=ON_ERROR_STOP=1",
      `--dbname=${dbname}`,
      "--file=-",
    ], {
      env: { ...env, PGOPTIONS: "-c client_min_messages=warning" },
      stdin: script,
      signal: options.signal,
      onLine: onCommit && ((line) => {
        if (line.startsWith(COMMITTED)) onCommit(Number(line.slice(COMMITTED.length)));
      }),
    });
  } catch (error) {
    if (!(error instanceof ToolFailed)) throw error;
    const object = failedObject(script, error.stderr);
    const hint = object && BROUGHT_WITH_OBJECTS.test(object) ? `\nHINT: ${OBJECTS_HINT}` : "";
    throw new ToolFailed(
      "psql",
      1,
      `${object ? `${object}: ` : ""}${psqlError(error.stderr)}${hint}`,
    );
  }
}

/** Objects a job brings per its `objects` mode rather than because a table needs them. */
const BROUGHT_WITH_OBJECTS =
  /^(creating|filling) (VIEW|MATERIALIZED VIEW|FUNCTION|PROCEDURE|AGGREGATE|OPERATOR|TYPE|DOMAIN|COLLATION|CONVERSION|TEXT SEARCH)/;
const OBJECTS_HINT = "create what it needs on the target first, or leave it out: the job's " +
  '`objects: "dependent"` brings only the views over the copied tables and what they need, ' +
  '`"tables"` only what the tables need';

/**
 * The object whose statement failed, as pg_restore's header before it names it (`-- Name: v;
 * Type: VIEW; Schema: shop; Owner: -`), found from the line psql reports; `undefined` when the
 * failure is not inside such an object.
 *
 * @example
 * ```ts
 * failedObject("-- Name: v; Type: VIEW; Schema: shop; Owner: -\nCREATE VIEW …;\n", "psql:<stdin>:2: ERROR:  x");
 * // 'creating VIEW shop.v'
 * ```
 */
export function failedObject(script: string, stderr: string): string | undefined {
  const at = /^psql:[^:]*:(\d+): (?:ERROR|FATAL)/m.exec(stderr);
  if (!at) return undefined;
  const lines = script.split("\n").slice(0, Number(at[1]));
  for (let i = lines.length - 1; i >= 0; i--) {
    const header = /^-- Name: (.*); Type: (.*); Schema: ([^;]*)(?:;|$)/.exec(lines[i]);
    if (header?.[1] === "-") return undefined;
    if (header) {
      const schema = header[3] === "-" ? "" : `${header[3]}.`;
      const [kind, verb] = header[2].endsWith(" DATA")
        ? [header[2].slice(0, -5), "filling"]
        : header[2].endsWith(" SEARCH_PATH")
        ? [header[2].slice(0, -12), "setting the search_path of"]
        : [header[2], "creating"];
      return `${verb} ${kind} ${schema}${header[1]}`;
    }
  }
  return undefined;
}

/**
 * The useful part of psql's standard error: from the first `ERROR:` on, without the
 * `psql:<stdin>:N:` prefixes.
 *
 * @example
 * ```ts
 * psqlError('psql:<stdin>:12: ERROR:  type "x" does not exist\nLINE 3: …');
 * // 'ERROR:  type "x" does not exist\nLINE 3: …'
 * ```
 */
export function psqlError(stderr: string): string {
  const lines = stderr.split("\n").map((l) => l.replace(/^psql:[^:]*:\d+: /, ""));
  const first = lines.findIndex((l) => /^(ERROR|FATAL|psql: error)/.test(l));
  return (first < 0 ? lines : lines.slice(first)).filter(Boolean).slice(0, 8).join("\n");
}

/** One transaction of a script: statements before, SQL (a batch of a section), statements after. */
export interface Transaction {
  before?: readonly string[];
  body?: string;
  after?: readonly string[];
}

/**
 * A script of transactions, each between `BEGIN` and `COMMIT`, and after each `COMMIT` a psql
 * `\echo` of the transaction's index (what `runScript` reports as it runs). Each of pg-xmat's own
 * statements comes after a header naming no object, so a failure is not taken for the last
 * object's (see `failedObject`); a statement may bring its own header.
 *
 * @example
 * ```ts
 * transactions([{ before: ["SELECT 1"], body: "", after: ["SELECT 2"] }]);
 * // "-- Name: -; Type: -; Schema: -\nBEGIN;\n…SELECT 1;\n\n…SELECT 2;\n…COMMIT;\n\\echo pg-xmat: committed 0\n"
 * ```
 */
export function transactions(list: readonly Transaction[]): string {
  const statements = (l: readonly string[] = []) =>
    l.map((s) => `${s.startsWith("-- Name: ") ? "" : `${NO_OBJECT}\n`}${s};\n`).join("");
  return list.map((t, i) =>
    `${statements(["BEGIN", ...t.before ?? []])}${t.body ?? ""}\n${
      statements([...t.after ?? [], "COMMIT"])
    }\\echo ${COMMITTED}${i}\n`
  ).join("");
}

/** What psql prints after a transaction of `transactions` committed, before its index. */
const COMMITTED = "pg-xmat: committed ";

/**
 * Statements cut into transactions of at most `budget` locks, `weight` each, between `before`
 * and `after` (a `SET LOCAL`, or the rename dance).
 *
 * @example
 * ```ts
 * statementTransactions(["A", "B", "C"], 2, 1, ["SET LOCAL x = 1"]).length; // 2
 * ```
 */
export function statementTransactions(
  statements: readonly string[],
  budget: number,
  weight: number,
  before: readonly string[] = [],
  after: readonly string[] = [],
): Transaction[] {
  return packBatches(statements, () => weight, budget).map((batch) => ({
    before,
    after: [...batch, ...after],
  }));
}

const NO_OBJECT = "-- Name: -; Type: -; Schema: -";
