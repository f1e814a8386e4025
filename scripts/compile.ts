/**
 * The single binary (`deno task compile`): `deno compile` of `main.ts` with the permissions the
 * binary runs with, `PERMISSION_FLAGS`, which the smoke test also runs `main.ts` with. The jobs
 * file is not embedded: the binary imports it from disk at run time.
 *
 * `deno compile` builds on `denort`, a runtime it downloads once per Deno version and target
 * into Deno's cache, or takes from `DENORT_BIN`.
 *
 * @example
 * ```sh
 * deno task compile                                 # dist/pg-xmat, for this machine
 * deno task compile --target aarch64-apple-darwin   # dist/pg-xmat-aarch64-apple-darwin
 * deno task compile --target all                    # every release target
 * ```
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

/** The repository's root directory, where `deno compile` runs. */
export const ROOT: string = fileURLToPath(new URL("..", import.meta.url));

/** The platforms a release ships, as `deno compile --target` names them. */
export const TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
] as const;

/** A release platform. */
export type Target = typeof TARGETS[number];

/**
 * The permissions of the binary: the narrowest that work. Each is unscoped because what it would
 * be scoped to is only known at run time, while `deno compile` fixes the lists at build time.
 */
export const PERMISSION_FLAGS: readonly string[] = [
  // The user's database servers: any host and port, and a Unix-socket directory of their URL.
  "--allow-net",
  // The jobs file (any path), the tool directories (PG_BIN, PATH, /usr/lib/postgresql/*/bin…),
  // the structure dump in the temporary directory, Unix sockets and TLS files named in URLs.
  "--allow-read",
  // The job's private temporary directory (wherever TMPDIR is), Unix sockets, and the starter
  // files `pg-xmat init` writes in the working directory.
  "--allow-write",
  // pg_dump, pg_restore and psql, whose paths are found at run time: an allow-list is resolved
  // against PATH when the binary starts, so it would refuse PG_BIN and versioned directories.
  "--allow-run",
  // PG_BIN, PATH, PGCONNECT_TIMEOUT, postgres.js's PG* defaults, and whatever variables the
  // jobs file reads (SOURCE_DB_URL…): names only the user knows.
  "--allow-env",
  // A permission that is missing fails at once; the binary never stops to ask.
  "--no-prompt",
];

/**
 * The binary's path under `dist/` for a target (this machine's when none).
 *
 * @example
 * ```ts
 * outputPath("x86_64-pc-windows-msvc"); // "dist/pg-xmat-x86_64-pc-windows-msvc.exe"
 * outputPath(); // "dist/pg-xmat"
 * ```
 */
export function outputPath(target?: Target): string {
  if (!target) return join("dist", "pg-xmat");
  return join("dist", `pg-xmat-${target}${target.includes("windows") ? ".exe" : ""}`);
}

/**
 * The `deno compile` arguments for one binary.
 *
 * @example
 * ```ts
 * compileArgs({ output: "dist/pg-xmat" });
 * // ["compile", ...PERMISSION_FLAGS, "--output", "dist/pg-xmat", "main.ts"]
 * ```
 */
export function compileArgs(options: { target?: Target; output: string }): string[] {
  return [
    "compile",
    ...PERMISSION_FLAGS,
    ...(options.target ? ["--target", options.target] : []),
    "--output",
    options.output,
    "main.ts",
  ];
}

/**
 * The targets a command line asks for: none (this machine), one or more `--target T`, or
 * `--target all`. Throws a message listing the targets for anything else.
 *
 * @example
 * ```ts
 * parseTargets([]); // [undefined]
 * parseTargets(["--target", "all"]).length; // 5
 * ```
 */
export function parseTargets(argv: readonly string[]): (Target | undefined)[] {
  const usage = `usage: deno task compile [--target all|${TARGETS.join("|")}]...`;
  let values: string[];
  try {
    values = parseArgs({
      args: [...argv],
      options: { target: { type: "string", multiple: true } },
    }).values.target ?? [];
  } catch (error) {
    throw new Error(`${(error as Error).message}\n${usage}`);
  }
  if (values.length === 0) return [undefined];
  if (values.includes("all")) return [...TARGETS];
  const unknown = values.filter((t) => !(TARGETS as readonly string[]).includes(t));
  if (unknown.length) throw new Error(`unknown target ${unknown.join(", ")}\n${usage}`);
  return [...new Set(values as Target[])];
}

/**
 * `DENORT_BIN` is a runtime for one platform, this machine's: building another target with it
 * would ship this machine's runtime under that target's name. Returns the refusal, if any.
 *
 * @example
 * ```ts
 * denortConflict(["aarch64-apple-darwin"], "/opt/denort", "x86_64-unknown-linux-gnu");
 * // "DENORT_BIN (/opt/denort) is a runtime for x86_64-unknown-linux-gnu only: …"
 * ```
 */
export function denortConflict(
  targets: readonly (Target | undefined)[],
  denortBin: string | undefined,
  host: string,
): string | undefined {
  const others = targets.filter((t): t is Target => t !== undefined && t !== host);
  if (!denortBin || others.length === 0) return undefined;
  return `DENORT_BIN (${denortBin}) is a runtime for ${host} only: it cannot build ` +
    `${others.join(", ")}. Unset it to let deno compile fetch each target's runtime.`;
}

/** Where `deno compile` would take its runtime from, or why it has none here. */
export type Denort = { path: string } | { missing: string };

/**
 * The `denort` runtime `deno compile` would use for `target`: `DENORT_BIN`, or the copy a
 * previous compile cached in Deno's directory. Nothing here downloads anything.
 *
 * @example
 * ```ts
 * const denort = await findDenort("x86_64-unknown-linux-gnu");
 * if ("missing" in denort) console.log(denort.missing);
 * ```
 */
export async function findDenort(target: string = Deno.build.target): Promise<Denort> {
  const exists = (path: string) => Deno.stat(path).then(() => true, () => false);
  const denortBin = Deno.env.get("DENORT_BIN");
  if (denortBin) {
    return await exists(denortBin)
      ? { path: denortBin }
      : { missing: `DENORT_BIN is set to ${denortBin}, which does not exist` };
  }
  const info = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    stdout: "piped",
    stderr: "null",
  }).output();
  const { denoDir } = JSON.parse(new TextDecoder().decode(info.stdout)) as { denoDir: string };
  const cached = join(denoDir, "dl", "release", `v${Deno.version.deno}`, `denort-${target}.zip`);
  return await exists(cached) ? { path: cached } : {
    missing: `no denort runtime for ${target}: DENORT_BIN is not set and ${cached} is not ` +
      `cached (deno compile downloads it on first use; this machine may not reach Deno's servers)`,
  };
}

/**
 * Compiles one binary; throws with `deno compile`'s output when it fails. `signal` stops it.
 *
 * @example
 * ```ts
 * await compile({ target: "aarch64-apple-darwin", output: outputPath("aarch64-apple-darwin") });
 * ```
 */
export async function compile(
  options: { target?: Target; output: string; signal?: AbortSignal },
): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: compileArgs(options),
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
    signal: options.signal,
  }).output();
  if (!out.success) {
    const decoder = new TextDecoder();
    throw new Error(
      `deno ${compileArgs(options).join(" ")} failed:\n${decoder.decode(out.stdout)}${
        decoder.decode(out.stderr)
      }`,
    );
  }
}

async function main(argv: string[]): Promise<number> {
  let targets: (Target | undefined)[];
  try {
    targets = parseTargets(argv);
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  const conflict = denortConflict(targets, Deno.env.get("DENORT_BIN"), Deno.build.target);
  if (conflict) {
    console.error(conflict);
    return 2;
  }
  for (const target of targets) {
    const output = outputPath(target);
    console.log(`compiling ${output} (${target ?? Deno.build.target})…`);
    try {
      await compile({ target, output });
    } catch (error) {
      console.error((error as Error).message);
      const denort = await findDenort(target);
      if ("missing" in denort) {
        const own = target === undefined || target === Deno.build.target;
        const where = "where deno compile can download it, as the release workflow does";
        console.error(
          `${denort.missing}.\n${
            own
              ? `Set DENORT_BIN to a denort ${Deno.version.deno} binary for this machine, or build ${where}.`
              : `Build it ${where}.`
          }`,
        );
      }
      return 1;
    }
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
