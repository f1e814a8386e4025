/**
 * The binary as users run it, with exactly its permissions (`PERMISSION_FLAGS`): `--version`,
 * `--help`, a real job from a jobs file on disk that has no runtime imports (source over TCP,
 * target over a Unix socket), and the client-tool check failing before anything is written.
 *
 * It runs twice: through `deno run` with the binary's flags, always; and through the compiled
 * binary when a `denort` runtime is available (`DENORT_BIN`, or one a previous compile cached)
 * or `PGXMAT_BINARY` names a built binary (the release workflow). Otherwise that test is
 * reported as ignored, with the reason in its name.
 */

import { join, resolve } from "node:path";
import { assertEquals, assertNotIncludes, assertStringIncludes } from "./_assert.ts";
import { exec, freshPair, type Pair, runCli, schemaNames, servers, tableText } from "./_servers.ts";
import { PASSWORD } from "../scripts/clusters.ts";
import { compile, findDenort, PERMISSION_FLAGS, ROOT } from "../scripts/compile.ts";
import { installHint, serverMajor } from "../lib/pg_tools.ts";
import denoJson from "../deno.json" with { type: "json" };

const SOURCE_SQL = `
CREATE SCHEMA shop;
CREATE TYPE shop.status AS ENUM ('open', 'paid', 'cancelled');
CREATE TABLE shop.customers (
  id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, email text NOT NULL UNIQUE, name text);
CREATE TABLE shop.orders (
  id bigserial PRIMARY KEY, customer_id int NOT NULL REFERENCES shop.customers,
  status shop.status NOT NULL, note text);
INSERT INTO shop.customers (email, name) VALUES
  ('ann@example.com', 'Ann'), ('bob@example.com', 'Bøb "B" O''Brien'), ('cy@example.com', NULL);
INSERT INTO shop.orders (customer_id, status, note) VALUES
  (1, 'paid', E'tab\\there'), (2, 'cancelled', NULL), (2, 'open', 'ünïcödé'), (3, 'paid', '');
`;

// What a user writes: types come from `import type` (erased when the binary loads the file, so
// the types file need not exist next to it, and here it does not), URLs from the environment.
const JOBS_FILE = `import type { Jobs } from "./pg_xmat_types.ts";

const SOURCE = Deno.env.get("SMOKE_SOURCE_URL")!;
const TARGET = Deno.env.get("SMOKE_TARGET_URL")!;

export const JOBS = {
  "smoke:shop": {
    source: { database: SOURCE, schema: "shop" },
    target: { database: TARGET, schema: "shop_copy" },
    tables: {
      customers: { select: { email: "'user' || id || '@example.invalid'" } },
      orders: { where: { status: { ne: "cancelled" } } },
    },
  },
} satisfies Jobs;
`;

/** Runs the binary (or what stands for it) with `args` in `cwd`. */
type Run = (
  args: string[],
  options?: { cwd?: string; env?: Record<string, string> },
) => Promise<{ code: number; stdout: string; stderr: string }>;

function runner(command: readonly string[]): Run {
  return (args, options = {}) => runCli(args, { ...options, command });
}

async function fakePgDump(version: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "pgxmat-smoke-bin-" });
  const path = join(dir, "pg_dump");
  await Deno.writeTextFile(path, `#!/bin/sh\necho "pg_dump (PostgreSQL) ${version}"\n`);
  await Deno.chmod(path, 0o755);
  return dir;
}

async function targetState(pair: Pair): Promise<string> {
  const customers = await tableText(pair.target, "shop_copy", "customers");
  return JSON.stringify([await schemaNames(pair.target), customers]);
}

async function smoke(t: Deno.TestContext, run: Run): Promise<void> {
  await t.step("--version and --help", async () => {
    const version = await run(["--version"]);
    assertEquals(version.code, 0, version.stderr);
    assertEquals(version.stdout, `pg-xmat ${denoJson.version}\n`);
    const help = await run(["--help"]);
    assertEquals(help.code, 0, help.stderr);
    assertStringIncludes(help.stdout, "Usage:\n  pg-xmat [JOB_PATTERN] [options]");
  });

  const pair = await freshPair("smoke");
  const dir = await Deno.makeTempDir({ prefix: "pgxmat-smoke-" });
  try {
    await exec(pair.source, SOURCE_SQL);
    await Deno.writeTextFile(join(dir, "pg_xmat_jobs.ts"), JOBS_FILE);
    const target = servers().target;
    const env = {
      SMOKE_SOURCE_URL: pair.sourceUrl,
      SMOKE_TARGET_URL: `postgres://postgres:${PASSWORD}@/${pair.name}?host=${
        encodeURIComponent(target.dir)
      }&port=${target.port}`,
    };

    await t.step(
      "a real job: jobs file from the working directory, target by Unix socket",
      async () => {
        const r = await run([], { cwd: dir, env });
        assertEquals(r.code, 0, r.stderr);
        assertStringIncludes(r.stderr, "done:");
        assertNotIncludes(r.stderr, PASSWORD);
        assertEquals(
          await tableText(pair.target, "shop_copy", "customers"),
          '1\tuser1@example.invalid\tAnn\n2\tuser2@example.invalid\tBøb "B" O\'Brien\n' +
            "3\tuser3@example.invalid\t\\N\n",
        );
        assertEquals(
          await tableText(pair.target, "shop_copy", "orders"),
          "1\t1\tpaid\ttab\\there\n3\t2\topen\tünïcödé\n4\t3\tpaid\t\n",
        );
        const [{ next }] = await pair.target`SELECT nextval('shop_copy.orders_id_seq') AS next`;
        assertEquals(Number(next), 5);
        const [{ fk }] = await pair.target`
        SELECT count(*)::int AS fk FROM pg_constraint
         WHERE conrelid = 'shop_copy.orders'::regclass AND contype = 'f'`;
        assertEquals(fk, 1);
      },
    );

    const [{ server_version_num }] = await pair.source`SHOW server_version_num`;
    const major = serverMajor(Number(server_version_num));
    const jobsPath = join(dir, "pg_xmat_jobs.ts");

    await t.step("pg_dump older than the source server: one message, nothing written", async () => {
      const bin = await fakePgDump(`${major - 1}.3`);
      try {
        const before = await targetState(pair);
        // The jobs file by absolute path, from another working directory.
        const r = await run(["smoke:*", "-c", jobsPath], {
          cwd: bin,
          env: { ...env, PG_BIN: bin },
        });
        assertEquals(r.code, 1, r.stderr);
        assertStringIncludes(
          r.stderr,
          `pg-xmat: error: job "smoke:shop", step plan: pg_dump ${major} or newer is needed ` +
            `(the source server is PostgreSQL ${major}, and pg_dump must be at least as new as ` +
            `the server it dumps), but only pg_dump ${major - 1} (${bin}/pg_dump) was found. ` +
            `Install the PostgreSQL ${major} client tools (${installHint(Deno.build.os, major)})`,
        );
        assertEquals(await targetState(pair), before);
      } finally {
        await Deno.remove(bin, { recursive: true });
      }
    });

    await t.step("no pg_dump in PG_BIN: the same message, naming where it looked", async () => {
      const empty = await Deno.makeTempDir({ prefix: "pgxmat-smoke-bin-" });
      try {
        const before = await targetState(pair);
        const r = await run(["-c", jobsPath], { cwd: dir, env: { ...env, PG_BIN: empty } });
        assertEquals(r.code, 1, r.stderr);
        assertStringIncludes(
          r.stderr,
          `pg_dump ${major} or newer is needed (the source server is PostgreSQL ${major}, and ` +
            `pg_dump must be at least as new as the server it dumps), but none was found in ` +
            `PG_BIN (${empty}).`,
        );
        assertEquals(await targetState(pair), before);
      } finally {
        await Deno.remove(empty, { recursive: true });
      }
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
    await pair.close();
  }
}

Deno.test("smoke: main.ts through deno run with the binary's permissions", async (t) => {
  await smoke(t, runner([Deno.execPath(), "run", ...PERMISSION_FLAGS, join(ROOT, "main.ts")]));
});

const prebuilt = Deno.env.get("PGXMAT_BINARY") && resolve(Deno.env.get("PGXMAT_BINARY")!);
const denort = prebuilt ? { path: prebuilt } : await findDenort();

Deno.test({
  name: "missing" in denort
    ? `smoke: the compiled binary (skipped: ${denort.missing})`
    : `smoke: the compiled binary (${prebuilt ? prebuilt : `built with ${denort.path}`})`,
  ignore: "missing" in denort,
  fn: async (t) => {
    const dir = await Deno.makeTempDir({ prefix: "pgxmat-binary-" });
    try {
      let binary = prebuilt;
      if (!binary) {
        binary = join(dir, "pg-xmat");
        await compile({ output: binary, signal: AbortSignal.timeout(300_000) });
      }
      await smoke(t, runner([binary]));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
