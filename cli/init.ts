/**
 * `pg-xmat init`: writes a commented starter jobs file and, beside it, the types it is checked
 * against (`satisfies Jobs`), so an editor checks a jobs file even where only the binary is
 * installed. The types are `lib/types.ts`, embedded in the binary at build time. An existing
 * file is never overwritten.
 *
 * @example
 * ```ts
 * import { initFiles } from "./init.ts";
 * const lines = await initFiles("pg_xmat_jobs.ts", "0.1.0");
 * ```
 * @module
 */

import { basename, dirname, relative, resolve } from "node:path";
import TYPES from "../lib/types.ts" with { type: "text" };
import { UsageError } from "../lib/errors.ts";
import { DEFAULT_JOBS_FILE } from "../lib/load.ts";

/** The name of the types file, written beside the jobs file. */
export const TYPES_FILE = "pg_xmat_types.ts";

/**
 * The types file: `lib/types.ts` under a line that says where it came from.
 *
 * @example
 * ```ts
 * typesFile("0.1.0").includes("export type Jobs"); // true
 * ```
 */
export function typesFile(version: string): string {
  return `// The types of a pg-xmat jobs file, written by \`pg-xmat init\` (pg-xmat ${version}).\n` +
    `// To refresh them after an upgrade, delete this file and run \`pg-xmat init\` again.\n\n${TYPES}`;
}

/**
 * The starter jobs file: one job copying a whole schema, with the other forms in comments.
 *
 * @example
 * ```ts
 * starterJobs().includes("satisfies Jobs"); // true
 * ```
 */
export function starterJobs(): string {
  return `/**
 * pg-xmat jobs. Each job rebuilds a target schema from tables of a source schema: the same
 * structure, the rows you choose, transformed as you say. The target schema is replaced only
 * when the whole job succeeded; the source is only read.
 *
 *   pg-xmat --list                 the jobs, and where each reads and writes
 *   pg-xmat "copy:*" --dry-run     what a run would do, writing nothing anywhere
 *   pg-xmat "copy:*"               run the jobs whose names start with copy:
 *
 * \`satisfies Jobs\` makes your editor (or \`deno check\`) check this file against
 * ${TYPES_FILE}. Keep this file free of imports other than \`import type\`.
 */
import type { Jobs } from "./${TYPES_FILE}"; // type-only: erased at run time

// For editors without Deno's types: the one Deno API this file uses.
declare const Deno: { env: { get(name: string): string | undefined } };

// The URLs come from the environment, so no password is written here:
//   export SOURCE_DB_URL=postgres://user:password@prod.example:5432/app
//   export TARGET_DB_URL=postgres://user:password@localhost:5432/app_dev
const SOURCE = Deno.env.get("SOURCE_DB_URL")!;
const TARGET = Deno.env.get("TARGET_DB_URL")!;

export const JOBS = {
  "copy:public": {
    source: { database: SOURCE, schema: "public" },
    target: { database: TARGET, schema: "public" },
    tables: {
      // Every table of the source schema, every row, as it is.
      "*": {},

      // Some rows: a condition per column (a value is =, a list is IN; operators gte, lte, gt,
      // lt, ne, in, notIn, like, isNull), or a raw SQL string.
      // orders: { where: { placed_at: { gte: "2024-01-01" }, status: ["paid", "shipped"] } },

      // Anonymised columns: an SQL expression per column; {column_name} is the column itself.
      // customers: { select: { email: "'user' || id || '@example.invalid'", phone: "NULL" } },

      // One tenant: a where of "*" applies to every table that has the column.
      // "*": { where: { tenant_id: 42 } },
    },
  },
  // A consistent subset: the seed's rows, the rows that belong to them (tables referencing it),
  // and every row those reference, so each foreign key is created VALID on the target.
  // "dev:subset": {
  //   source: { database: SOURCE, schema: "public" },
  //   target: { database: TARGET, schema: "dev" },
  //   subset: true,
  //   tables: {
  //     "*": {},
  //     customers: { where: { id: [1, 2, 3] } }, // the seed
  //     countries: { rows: "referenced" }, // only the countries kept rows name
  //     orders: { keys: { orders_coupon_fkey: "null" } }, // do not follow a key: NULL it
  //   },
  // },
} satisfies Jobs;
`;
}

/**
 * Writes the starter jobs file `file` (relative to `cwd`) and the types file beside it, each
 * only when it does not exist yet. Returns what it did, and what to do next, as lines. Throws
 * a `UsageError` when both exist or `file` is not a `.ts` file.
 *
 * @example
 * ```ts
 * (await initFiles("jobs/nightly.ts", "0.1.0"))[0];
 * // "wrote /home/me/app/jobs/nightly.ts: a starter job to edit"
 * ```
 */
export async function initFiles(
  file: string,
  version: string,
  cwd: string = Deno.cwd(),
): Promise<string[]> {
  if (!file.endsWith(".ts")) {
    throw new UsageError(
      `pg-xmat init writes a TypeScript jobs file; name it with .ts (e.g. -c ${
        basename(file).replace(/\.[^.]*$/, "")
      }.ts)`,
    );
  }
  const jobsPath = resolve(cwd, file);
  const typesPath = resolve(dirname(jobsPath), TYPES_FILE);
  await Deno.mkdir(dirname(jobsPath), { recursive: true });
  const lines: string[] = [];
  const write = async (path: string, text: string, what: string) => {
    try {
      await Deno.writeTextFile(path, text, { createNew: true });
      lines.push(`wrote ${path}: ${what}`);
      return true;
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
      lines.push(`kept ${path}: it exists (init never overwrites a file)`);
      return false;
    }
  };
  const wroteJobs = await write(jobsPath, starterJobs(), "a starter job to edit");
  const wroteTypes = await write(
    typesPath,
    typesFile(version),
    `the types ${basename(jobsPath)} is checked against (delete it and run init again to refresh)`,
  );
  if (!wroteJobs && !wroteTypes) {
    throw new UsageError(
      `${jobsPath} and ${typesPath} exist and init never overwrites a file; ` +
        `write a new jobs file elsewhere with pg-xmat init -c FILE, or delete ${TYPES_FILE} to refresh the types`,
    );
  }
  if (!wroteJobs) return lines;
  const config = relative(cwd, jobsPath);
  const c = config === DEFAULT_JOBS_FILE ? "" : ` -c ${config}`;
  const next = [
    [`pg-xmat --list${c}`, "the jobs, and where each reads and writes"],
    [`pg-xmat "copy:*" --dry-run${c}`, "what a run would do, writing nothing anywhere"],
    [`pg-xmat "copy:*"${c}`, "run it"],
  ];
  const width = Math.max(...next.map(([command]) => command.length));
  lines.push(
    "next: set SOURCE_DB_URL and TARGET_DB_URL (or edit the file), then:",
    ...next.map(([command, what]) => `  ${command.padEnd(width)}   ${what}`),
  );
  return lines;
}
