/**
 * The PostgreSQL client tools pg-xmat spawns (`pg_dump`, `pg_restore`, `psql`): where to find
 * them, which version they are, and how to run them with credentials in their environment,
 * never on their command line.
 *
 * @example
 * ```ts
 * import { findTool, runTool } from "./pg_tools.ts";
 * const pgDump = await findTool("pg_dump", 15);
 * const { stdout } = await runTool(pgDump.path, ["--version"]);
 * ```
 * @module
 */

import { delimiter, join } from "node:path";
import { redact } from "./redact.ts";

/** A tool found on this machine. */
export interface Tool {
  name: string;
  path: string;
  /** Major version, e.g. 15. */
  major: number;
  /** The full version line the tool printed. */
  version: string;
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    const info = await Deno.stat(path);
    return info.isFile && (Deno.build.os === "windows" || ((info.mode ?? 0o111) & 0o111) !== 0);
  } catch {
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
 * The directories searched for a tool, in order: `PG_BIN`, then `PATH`, then the usual
 * installation directories (Debian/Ubuntu, RHEL, Homebrew, Postgres.app, Windows), newest first.
 */
export async function toolDirs(): Promise<string[]> {
  const dirs: string[] = [];
  const pgBin = Deno.env.get("PG_BIN");
  if (pgBin) dirs.push(pgBin);
  dirs.push(...(Deno.env.get("PATH") ?? "").split(delimiter).filter(Boolean));
  dirs.push(
    ...await versionedDirs({ root: "/usr/lib/postgresql", prefix: "", suffix: "bin" }),
    ...await versionedDirs({ root: "/usr", prefix: "pgsql-", suffix: "bin" }),
    ...await versionedDirs({ root: "/opt/homebrew/opt", prefix: "postgresql@", suffix: "bin" }),
    ...await versionedDirs({ root: "/usr/local/opt", prefix: "postgresql@", suffix: "bin" }),
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

async function probe(name: string, path: string): Promise<Tool | undefined> {
  if (!await isExecutable(path)) return undefined;
  try {
    const { stdout } = await runTool(path, ["--version"]);
    const version = stdout.trim().split("\n")[0];
    const major = parseMajor(version);
    return major === undefined ? undefined : { name, path, major, version };
  } catch {
    return undefined;
  }
}

/** The tool is missing, or every copy found is older than needed. */
export class ToolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ToolError";
  }
}

/**
 * Finds `name` in `toolDirs()`, the first copy whose major version is at least `minMajor`
 * (pg_dump must be at least as new as the server it dumps). Throws a `ToolError` naming the
 * versions found and how to install the right one.
 */
export async function findTool(name: string, minMajor = 0): Promise<Tool> {
  const exe = Deno.build.os === "windows" ? `${name}.exe` : name;
  const seen: Tool[] = [];
  for (const dir of await toolDirs()) {
    const tool = await probe(name, join(dir, exe));
    if (!tool) continue;
    if (tool.major >= minMajor) return tool;
    if (!seen.some((s) => s.version === tool.version)) seen.push(tool);
  }
  const need = minMajor ? ` ${minMajor} or newer` : "";
  const found = seen.length
    ? `found only ${seen.map((t) => `${t.path} (${t.major})`).join(", ")}`
    : "not found in PG_BIN, PATH or the usual PostgreSQL directories";
  throw new ToolError(
    `${name}${need} is needed: ${found}. Install the PostgreSQL client tools${need} ` +
      `(Debian/Ubuntu: apt-get install postgresql-client-${minMajor || "<version>"}; ` +
      `macOS: brew install postgresql@${
        minMajor || "<version>"
      }) or point PG_BIN at their directory.`,
  );
}

/** What a finished tool printed. */
export interface ToolOutput {
  stdout: string;
  stderr: string;
}

/** Options of `runTool`. */
export interface RunOptions {
  /** Extra environment (e.g. `PGPASSWORD`); the rest of the environment is inherited. */
  env?: Record<string, string>;
  /** Text written to the tool's standard input. */
  stdin?: string;
  /** Kills the tool when aborted. */
  signal?: AbortSignal;
}

/** A tool exited with a non-zero status; the message is its redacted standard error. */
export class ToolFailed extends Error {
  readonly stderr: string;
  constructor(name: string, code: number, stderr: string) {
    const text = redact(stderr.trim()) || `exit status ${code}`;
    super(`${name} failed: ${text}`);
    this.name = "ToolFailed";
    this.stderr = redact(stderr);
  }
}

/** Runs a tool to completion; throws `ToolFailed` on a non-zero exit. */
export async function runTool(
  path: string,
  args: string[],
  options: RunOptions = {},
): Promise<ToolOutput> {
  const child = new Deno.Command(path, {
    args,
    env: { PGCONNECT_TIMEOUT: Deno.env.get("PGCONNECT_TIMEOUT") ?? "15", ...options.env },
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    signal: options.signal,
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    // A tool that fails early closes its input; its exit status tells why, not this write.
    await writer.write(new TextEncoder().encode(options.stdin)).catch(() => {});
    await writer.close().catch(() => {});
  }
  const { code, stdout, stderr } = await child.output();
  const out = {
    stdout: new TextDecoder().decode(stdout),
    stderr: new TextDecoder().decode(stderr),
  };
  const name = path.split(/[\\/]/).pop()!;
  if (code !== 0) throw new ToolFailed(name, code, out.stderr);
  return out;
}
