/**
 * The PostgreSQL client tools pg-xmat spawns (`pg_dump`, `pg_restore`, `psql`): where to find
 * them, which version they are, whether they are new enough for the source server, and how to
 * run them with credentials in their environment, never on their command line.
 *
 * @example
 * ```ts
 * import { findClientTools, runTool } from "./pg_tools.ts";
 * const tools = await findClientTools(16); // pg_dump 16 or newer, pg_restore and psql to match
 * const { stdout } = await runTool(tools.pgDump.path, ["--version"]);
 * ```
 * @module
 */

import { delimiter, dirname, join } from "node:path";
import { ToolError, ToolFailed } from "./errors.ts";

/** A tool found on this machine. */
export interface Tool {
  name: string;
  path: string;
  /** Major version, e.g. 15 (9.6 for the 9.x series). */
  major: number;
  /** The full version line the tool printed. */
  version: string;
}

/** The client tools one job runs. */
export interface ClientTools {
  pgDump: Tool;
  pgRestore: Tool;
  psql: Tool;
}

/** Where `PG_BIN` and `PATH` are read from: this process's environment unless a test says. */
export interface ToolEnv {
  get(name: string): string | undefined;
}

/** A Deno permission that is missing is reported as such, never as a tool not found. */
function rethrowNotCapable(error: unknown): void {
  if (error instanceof Deno.errors.NotCapable) throw error;
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    const info = await Deno.stat(path);
    return info.isFile && (Deno.build.os === "windows" || ((info.mode ?? 0o111) & 0o111) !== 0);
  } catch (error) {
    rethrowNotCapable(error);
    return false;
  }
}

async function versionedDirs(
  pattern: { root: string; prefix: string; suffix: string },
): Promise<string[]> {
  const found: { dir: string; version: number }[] = [];
  try {
    for await (const entry of Deno.readDir(pattern.root)) {
      if (!entry.name.startsWith(pattern.prefix)) continue;
      const version = parseFloat(entry.name.slice(pattern.prefix.length));
      if (Number.isFinite(version)) {
        found.push({ dir: join(pattern.root, entry.name, pattern.suffix), version });
      }
    }
  } catch {
    // The directory does not exist on this machine.
  }
  return found.sort((a, b) => b.version - a.version).map((f) => f.dir);
}

/**
 * The directories searched for a tool, in order. `PG_BIN`, when set, is the only one: the
 * user chose those tools. Otherwise `PATH`, then the usual installation directories (Debian and
 * Ubuntu, RHEL, Homebrew, Postgres.app, Windows), newest version first.
 *
 * @example
 * ```ts
 * await toolDirs(new Map([["PG_BIN", "/opt/pg16/bin"]])); // ["/opt/pg16/bin"]
 * ```
 */
export async function toolDirs(env: ToolEnv = Deno.env): Promise<string[]> {
  const pgBin = env.get("PG_BIN");
  if (pgBin) return [pgBin];
  const dirs = (env.get("PATH") ?? "").split(delimiter).filter(Boolean);
  dirs.push(
    ...await versionedDirs({ root: "/usr/lib/postgresql", prefix: "", suffix: "bin" }),
    ...await versionedDirs({ root: "/usr", prefix: "pgsql-", suffix: "bin" }),
    ...await versionedDirs({ root: "/opt/homebrew/opt", prefix: "postgresql@", suffix: "bin" }),
    ...await versionedDirs({ root: "/usr/local/opt", prefix: "postgresql@", suffix: "bin" }),
    "/opt/homebrew/opt/libpq/bin",
    "/usr/local/opt/libpq/bin",
    ...await versionedDirs({
      root: "/Applications/Postgres.app/Contents/Versions",
      prefix: "",
      suffix: "bin",
    }),
    ...await versionedDirs({ root: "C:\\Program Files\\PostgreSQL", prefix: "", suffix: "bin" }),
    "/usr/local/pgsql/bin",
  );
  return [...new Set(dirs)];
}

/**
 * `pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)` → 15.
 *
 * @example
 * ```ts
 * parseMajor("psql (PostgreSQL) 16.4"); // 16
 * parseMajor("pg_dump (PostgreSQL) 9.6.24"); // 9.6
 * ```
 */
export function parseMajor(versionLine: string): number | undefined {
  const m = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/.exec(versionLine);
  if (!m) return undefined;
  const major = Number(m[1]);
  return major < 10 && m[2] !== undefined ? Number(`${major}.${m[2]}`) : major;
}

/**
 * A server's major version from its `server_version_num`, on the scale of `parseMajor`.
 *
 * @example
 * ```ts
 * serverMajor(160004); // 16
 * serverMajor(90624); // 9.6
 * ```
 */
export function serverMajor(versionNum: number): number {
  const major = Math.floor(versionNum / 10000);
  return major >= 10 ? major : Number(`${major}.${Math.floor(versionNum / 100) % 100}`);
}

async function probe(name: string, path: string): Promise<Tool | undefined> {
  if (!await isExecutable(path)) return undefined;
  try {
    const { stdout } = await runTool(path, ["--version"]);
    const version = stdout.trim().split("\n")[0];
    const major = parseMajor(version);
    return major === undefined ? undefined : { name, path, major, version };
  } catch (error) {
    rethrowNotCapable(error);
    return undefined;
  }
}

/**
 * How to install the client tools of one major version on this kind of machine.
 *
 * @example
 * ```ts
 * installHint("darwin", 16); // "brew install postgresql@16, or Postgres.app"
 * ```
 */
export function installHint(os: typeof Deno.build.os, major?: number): string {
  if (os === "darwin") {
    return major ? `brew install postgresql@${major}, or Postgres.app` : "brew install libpq";
  }
  if (os === "windows") {
    return `the PostgreSQL${major ? ` ${major}` : ""} installer for Windows`;
  }
  const v = major ? { dash: `-${major}`, bare: `${major}` } : { dash: "", bare: "" };
  return `apt-get install postgresql-client${v.dash} (Debian, Ubuntu), ` +
    `apk add postgresql${v.bare}-client (Alpine), dnf install postgresql${v.bare} (RHEL, Fedora)`;
}

/** What `toolErrorMessage` says. */
export interface ToolProblem {
  name: string;
  /** The oldest major version that will do; 0: any. */
  minMajor: number;
  /** Why that version is needed. */
  reason?: string;
  /** The copies found, all older than `minMajor`. */
  found: readonly Tool[];
  /** Where it looked, for when nothing was found. */
  searched: string;
  os: typeof Deno.build.os;
}

/**
 * One message for a missing or too old tool: the tool, the version needed and why, what was
 * found, and how to install the right one.
 *
 * @example
 * ```ts
 * toolErrorMessage({ name: "pg_dump", minMajor: 16, found: [], searched: "PATH", os: "linux" });
 * // "pg_dump 16 or newer is needed, but none was found in PATH. Install …"
 * ```
 */
export function toolErrorMessage(problem: ToolProblem): string {
  const { name, minMajor } = problem;
  const need = minMajor ? `${name} ${minMajor} or newer` : name;
  const why = problem.reason ? ` (${problem.reason})` : "";
  const found = problem.found.length
    ? `only ${problem.found.map((t) => `${name} ${t.major} (${t.path})`).join(", ")} ${
      problem.found.length > 1 ? "were" : "was"
    } found`
    : `none was found in ${problem.searched}`;
  const version = minMajor ? ` ${minMajor}` : "";
  return `${need} is needed${why}, but ${found}. Install the PostgreSQL${version} client tools ` +
    `(${installHint(problem.os, minMajor || undefined)}) and put their directory on PATH, ` +
    `or set PG_BIN to it.`;
}

/** Options of `findTool`. */
export interface FindOptions {
  /** A directory to look in first (to take pg_restore and psql from pg_dump's installation). */
  near?: string;
  /** Why `minMajor` is needed, for the error message. */
  reason?: string;
  env?: ToolEnv;
}

/**
 * Finds `name` in `near`, then `toolDirs()`: the first copy whose major version is at least
 * `minMajor`. Throws a `ToolError` (see `toolErrorMessage`) when there is none.
 *
 * @example
 * ```ts
 * const initdb = await findTool("initdb"); // any version
 * const pgDump = await findTool("pg_dump", 16, { reason: "the source server is PostgreSQL 16" });
 * ```
 */
export async function findTool(
  name: string,
  minMajor = 0,
  options: FindOptions = {},
): Promise<Tool> {
  const exe = Deno.build.os === "windows" ? `${name}.exe` : name;
  const dirs = await toolDirs(options.env);
  const seen: Tool[] = [];
  for (const dir of new Set(options.near ? [options.near, ...dirs] : dirs)) {
    const tool = await probe(name, join(dir, exe));
    if (!tool) continue;
    if (tool.major >= minMajor) return tool;
    if (!seen.some((s) => s.version === tool.version)) seen.push(tool);
  }
  const pgBin = (options.env ?? Deno.env).get("PG_BIN");
  throw new ToolError(toolErrorMessage({
    name,
    minMajor,
    reason: options.reason,
    found: seen,
    searched: pgBin ? `PG_BIN (${pgBin})` : "PATH or the usual PostgreSQL directories",
    os: Deno.build.os,
  }));
}

/**
 * The tools for a source server of major version `serverMajor`: `pg_dump` at least as new as
 * the server (it refuses to dump a newer one), then `pg_restore` and `psql` at least as new as
 * that `pg_dump`, taken from its directory when they are there, so one installation reads and
 * runs what the other wrote. Throws a `ToolError` naming the first one missing or too old.
 *
 * @example
 * ```ts
 * const { pgDump, pgRestore, psql } = await findClientTools(16);
 * ```
 */
export async function findClientTools(serverMajor: number, env?: ToolEnv): Promise<ClientTools> {
  const pgDump = await findTool("pg_dump", serverMajor, {
    env,
    reason: `the source server is PostgreSQL ${serverMajor}, and pg_dump must be at least as ` +
      `new as the server it dumps`,
  });
  const pgRestore = await findTool("pg_restore", pgDump.major, {
    env,
    near: dirname(pgDump.path),
    reason: `to read the archives of ${pgDump.path}, version ${pgDump.major}`,
  });
  const psql = await findTool("psql", pgRestore.major, {
    env,
    near: dirname(pgRestore.path),
    reason: `to run the SQL of ${pgRestore.path}, version ${pgRestore.major}`,
  });
  return { pgDump, pgRestore, psql };
}

/** What a finished tool printed. */
export interface ToolOutput {
  stdout: string;
  stderr: string;
}

/** Options of `runTool`. */
export interface RunToolOptions {
  /** Extra environment (e.g. `PGPASSWORD`); the rest of the environment is inherited. */
  env?: Record<string, string>;
  /** Text written to the tool's standard input. */
  stdin?: string;
  /**
   * Stops the tool when aborted, as Ctrl+C at a terminal does (`SIGINT`: psql and pg_dump cancel
   * their statement first), and kills it if it is still running `STOP_SECONDS` later.
   */
  signal?: AbortSignal;
  /** Called with each line of standard output as the tool prints it (still returned whole). */
  onLine?: (line: string) => void;
}

/**
 * Runs a tool to completion; throws `ToolFailed` on a non-zero exit.
 *
 * @example
 * ```ts
 * const { stdout } = await runTool("pg_dump", ["--version"]);
 * ```
 */
export async function runTool(
  path: string,
  args: string[],
  options: RunToolOptions = {},
): Promise<ToolOutput> {
  options.signal?.throwIfAborted();
  const child = new Deno.Command(path, {
    args,
    env: { PGCONNECT_TIMEOUT: Deno.env.get("PGCONNECT_TIMEOUT") ?? "15", ...options.env },
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Killed outright, psql left its session running: a statement waiting for a lock kept it, with
  // the locks of its transaction (the shadow schema's), until that lock came.
  let killer: ReturnType<typeof setTimeout> | undefined;
  const stop = () => {
    // Windows has no SIGINT to send a process: there the tool is ended at once.
    signalTool(child, Deno.build.os === "windows" ? "SIGTERM" : "SIGINT");
    killer = setTimeout(() => signalTool(child, "SIGKILL"), STOP_SECONDS * 1000);
  };
  options.signal?.addEventListener("abort", stop, { once: true });
  try {
    // Both outputs are read while the input is written: a tool may fill a pipe before it reads on.
    const reading = Promise.all([readText(child.stdout, options.onLine), readText(child.stderr)]);
    if (options.stdin !== undefined) {
      const writer = child.stdin.getWriter();
      // A tool that fails early closes its input; its exit status tells why, not this write.
      await writer.write(new TextEncoder().encode(options.stdin)).catch(() => {});
      await writer.close().catch(() => {});
    }
    const [{ code }, [stdout, stderr]] = await Promise.all([child.status, reading]);
    if (code !== 0) throw new ToolFailed(path.split(/[\\/]/).pop()!, code, stderr);
    return { stdout, stderr };
  } finally {
    options.signal?.removeEventListener("abort", stop);
    clearTimeout(killer);
  }
}

/** Seconds an aborted tool has to stop after `SIGINT` before it is killed. */
const STOP_SECONDS = 5;

function signalTool(child: Deno.ChildProcess, signal: Deno.Signal): void {
  try {
    child.kill(signal);
  } catch {
    // It ended already.
  }
}

/** A stream's text, each complete line passed to `onLine` as it arrives. */
async function readText(
  stream: ReadableStream<Uint8Array>,
  onLine?: (line: string) => void,
): Promise<string> {
  let text = "";
  let lineStart = 0;
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    text += chunk;
    if (!onLine) continue;
    for (let end = text.indexOf("\n", lineStart); end >= 0; end = text.indexOf("\n", lineStart)) {
      onLine(text.slice(lineStart, end));
      lineStart = end + 1;
    }
  }
  return text;
}
