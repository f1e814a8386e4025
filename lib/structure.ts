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
 * const batches = await sectionBatches(tools, archive, "pre-data", tocSelection(structure.objects), 1600);
 * await runScript(tools, target, transactions(batches.map((body) => ({ body }))));
 * ```
 * @module
 */

import { join } from "node:path";
import { type ConnInfo, toolConnection } from "./conninfo.ts";
import { ToolFailed } from "./errors.ts";
import { type ClientTools, runTool } from "./pg_tools.ts";
import { packBatches } from "./lock_budget.ts";
import {
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
    "--lock-wait-timeout=30000",
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

/**
 * One section of the narrowed archive as SQL (as `pg_restore` writes it), cut into batches of
 * consecutive entries that each take at most `budget` locks (`weight`, by default `entryLocks`):
 * each batch is meant for a transaction of its own. Always at least one batch, empty when the
 * section is.
 *
 * @example
 * ```ts
 * import type { ClientTools } from "./pg_tools.ts";
 * import { tocSelection } from "./toc.ts";
 * declare const tools: ClientTools, archive: Archive;
 * const scripts = await sectionBatches(tools, archive, "post-data", tocSelection(["1259:16390"]), 1600);
 * ```
 */
export async function sectionBatches(
  tools: ClientTools,
  archive: Archive,
  section: "pre-data" | "post-data",
  selection: TocSelection,
  budget: number,
  signal?: AbortSignal,
  weight: (entry: TocEntry) => number = entryLocks,
): Promise<string[]> {
  // The list alone chooses the section: with `--section`, pg_restore would place an entry
  // without a section of its own (a comment) in the section of the entry listed before it.
  const post = section === "post-data";
  const entries = selectToc(archive.toc, selection).filter((e) =>
    archive.postData.has(e.id) === post
  );
  const batches = packBatches(entries, weight, budget);
  const sql: string[] = [];
  for (const [i, batch] of (batches.length ? batches : [[]]).entries()) {
    const listPath = `${archive.path}.${section}.${i}.list`;
    await Deno.writeTextFile(listPath, tocList(batch));
    const { stdout } = await runTool(tools.pgRestore.path, [
      `--use-list=${listPath}`,
      "--no-owner",
      "--no-privileges",
      "--no-tablespaces",
      "--no-security-labels",
      "--file=-",
      archive.path,
    ], { signal });
    sql.push(stdout);
  }
  return sql;
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
 * await runScript(tools, target, "BEGIN;\nCREATE SCHEMA s;\nCOMMIT;");
 * ```
 */
export async function runScript(
  tools: ClientTools,
  target: ConnInfo,
  script: string,
  signal?: AbortSignal,
): Promise<void> {
  const { dbname, env } = toolConnection(target);
  try {
    await runTool(tools.psql.path, [
      "--no-psqlrc",
      "--quiet",
      "--set=ON_ERROR_STOP=1",
      `--dbname=${dbname}`,
      "--file=-",
    ], { env: { ...env, PGOPTIONS: "-c client_min_messages=warning" }, stdin: script, signal });
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
 * A script of transactions, each between `BEGIN` and `COMMIT`. Each of pg-xmat's own statements
 * comes after a header naming no object, so a failure is not taken for the last object's (see
 * `failedObject`); a statement may bring its own header.
 *
 * @example
 * ```ts
 * transactions([{ before: ["SELECT 1"], body: "", after: ["SELECT 2"] }]);
 * // "-- Name: -; Type: -; Schema: -\nBEGIN;\n…SELECT 1;\n\n…SELECT 2;\n…COMMIT;\n"
 * ```
 */
export function transactions(list: readonly Transaction[]): string {
  const statements = (l: readonly string[] = []) =>
    l.map((s) => `${s.startsWith("-- Name: ") ? "" : `${NO_OBJECT}\n`}${s};\n`).join("");
  return list.map((t) =>
    `${statements(["BEGIN", ...t.before ?? []])}${t.body ?? ""}\n${
      statements([...t.after ?? [], "COMMIT"])
    }`
  ).join("");
}

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
