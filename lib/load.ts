/**
 * Imports a jobs module from disk and returns its `JOBS` (or default) export, or reads a `.json`
 * jobs file. The URL is built from an absolute path, so a compiled binary loads the file the user
 * means.
 *
 * @example
 * ```ts
 * import { loadJobsModule } from "./load.ts";
 * const jobs = await loadJobsModule("pg_xmat_jobs.ts");
 * ```
 * @module
 */

import { extname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { ConfigError } from "./errors.ts";
import { redact } from "./redact.ts";

/**
 * The default jobs file, looked for in the working directory.
 *
 * @example
 * ```ts
 * DEFAULT_JOBS_FILE; // "pg_xmat_jobs.ts"
 * ```
 */
export const DEFAULT_JOBS_FILE = "pg_xmat_jobs.ts";

/**
 * Imports `file` (relative to `cwd`) and returns its `JOBS` export, or its default export; a
 * `.json` file is read as the jobs map itself (no environment variables there: URLs in full).
 * A missing file, a syntax error or a throw while loading becomes a `ConfigError` naming the
 * file (and the line, for a syntax error).
 *
 * @example
 * ```ts
 * import { validateJobs } from "./config.ts";
 * const configs = validateJobs(await loadJobsModule(DEFAULT_JOBS_FILE));
 * ```
 */
export async function loadJobsModule(file: string, cwd: string = Deno.cwd()): Promise<unknown> {
  const path = resolve(cwd, file);
  const fail = (message: string) => new ConfigError([message], `cannot load jobs file ${path}`);
  try {
    const info = await Deno.stat(path);
    if (!info.isFile) throw fail("it is not a file");
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    if (e instanceof Deno.errors.NotFound) {
      throw fail(
        `no such file. Pass -c FILE, or create ${DEFAULT_JOBS_FILE} with \`pg-xmat init\``,
      );
    }
    throw fail((e as Error).message);
  }
  if (extname(path).toLowerCase() === ".json") {
    // Deno would want an import attribute; a JSON file is the jobs map itself.
    try {
      return JSON.parse(await Deno.readTextFile(path));
    } catch (e) {
      throw fail(`not valid JSON: ${(e as Error).message}`);
    }
  }
  let mod: Record<string, unknown>;
  try {
    mod = await import(pathToFileURL(path).href);
  } catch (e) {
    // Deno's message already points at the file, line and column (`at file:///…/jobs.ts:2:16`).
    const message = redact(String((e as Error)?.message ?? e))
      .replace(/^Uncaught /, "")
      .replaceAll(pathToFileURL(path).href, path);
    throw fail(message.split("\n").slice(0, 6).join("\n  "));
  }
  const jobs = mod.JOBS ?? mod.default;
  if (jobs === undefined) {
    throw fail("it exports neither `JOBS` nor a default export (export const JOBS = { … })");
  }
  return jobs;
}
