/**
 * Finding the client tools: versions, the search order, PG_BIN, and the one message for a tool
 * that is missing or too old. Fake tools are shell scripts that print a version line; no server.
 */

import { join } from "node:path";
import { assertEquals, assertOk, assertRejects, assertStringIncludes } from "./_assert.ts";
import {
  findClientTools,
  findTool,
  installHint,
  parseMajor,
  runTool,
  serverMajor,
  toolErrorMessage,
} from "../lib/pg_tools.ts";
import { ToolError, ToolFailed } from "../lib/errors.ts";

const unix = Deno.build.os !== "windows";

/** A directory of fake tools, each printing `<name> (PostgreSQL) <version>`. */
async function fakeTools(tools: Record<string, string>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "pgxmat-tools-" });
  for (const [name, version] of Object.entries(tools)) {
    const path = join(dir, name);
    await Deno.writeTextFile(path, `#!/bin/sh\necho "${name} (PostgreSQL) ${version}"\n`);
    await Deno.chmod(path, 0o755);
  }
  return dir;
}

function env(vars: Record<string, string>): Map<string, string> {
  return new Map(Object.entries(vars));
}

Deno.test("serverMajor and parseMajor agree on the 9.x and the 10+ scales", () => {
  assertEquals(serverMajor(150004), 15);
  assertEquals(serverMajor(170000), 17);
  assertEquals(serverMajor(90624), 9.6);
  assertEquals(serverMajor(90624), parseMajor("pg_dump (PostgreSQL) 9.6.24"));
  assertEquals(parseMajor("pg_dump (PostgreSQL) 17beta1"), 17);
  assertEquals(parseMajor("pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"), 15);
  assertEquals(parseMajor("nope"), undefined);
});

Deno.test("toolErrorMessage names the tool, the versions needed and found, and the install", () => {
  const old = { name: "pg_dump", path: "/opt/pg14/bin/pg_dump", major: 14, version: "" };
  assertEquals(
    toolErrorMessage({
      name: "pg_dump",
      minMajor: 16,
      reason: "the source server is PostgreSQL 16",
      found: [old],
      searched: "PATH",
      os: "linux",
    }),
    "pg_dump 16 or newer is needed (the source server is PostgreSQL 16), but only pg_dump 14 " +
      "(/opt/pg14/bin/pg_dump) was found. Install the PostgreSQL 16 client tools (apt-get install " +
      "postgresql-client-16 (Debian, Ubuntu), apk add postgresql16-client (Alpine), dnf install " +
      "postgresql16 (RHEL, Fedora)) and put their directory on PATH, or set PG_BIN to it.",
  );
  const none = toolErrorMessage({
    name: "psql",
    minMajor: 0,
    found: [],
    searched: "PG_BIN (/nowhere)",
    os: "darwin",
  });
  assertEquals(
    none,
    "psql is needed, but none was found in PG_BIN (/nowhere). Install the PostgreSQL client " +
      "tools (brew install libpq) and put their directory on PATH, or set PG_BIN to it.",
  );
  const two = toolErrorMessage({
    name: "pg_dump",
    minMajor: 17,
    found: [old, { ...old, path: "/usr/bin/pg_dump", major: 15 }],
    searched: "PATH",
    os: "windows",
  });
  assertStringIncludes(
    two,
    "only pg_dump 14 (/opt/pg14/bin/pg_dump), pg_dump 15 (/usr/bin/pg_dump) were found",
  );
  assertStringIncludes(two, "the PostgreSQL 17 installer for Windows");
  assertEquals(installHint("darwin", 16), "brew install postgresql@16, or Postgres.app");
});

Deno.test({
  name: "findTool: PG_BIN is the only place looked at when set; a too-old copy is named",
  ignore: !unix,
  fn: async () => {
    const old = await fakeTools({ pg_dump: "9.6.24" });
    const empty = await Deno.makeTempDir({ prefix: "pgxmat-tools-" });
    try {
      const found = await findTool("pg_dump", 9, { env: env({ PG_BIN: old, PATH: "" }) });
      assertEquals(found, {
        name: "pg_dump",
        path: join(old, "pg_dump"),
        major: 9.6,
        version: "pg_dump (PostgreSQL) 9.6.24",
      });
      // Newer copies in the usual directories (this machine's /usr/lib/postgresql/*/bin) are
      // not taken: the user chose PG_BIN.
      const tooOld = await assertRejects(
        () => findTool("pg_dump", 15, { env: env({ PG_BIN: old }), reason: "why" }),
        ToolError,
      );
      assertStringIncludes(
        tooOld.message,
        `pg_dump 15 or newer is needed (why), but only pg_dump 9.6 (${old}/pg_dump) was found.`,
      );
      const missing = await assertRejects(
        () => findTool("pg_dump", 15, { env: env({ PG_BIN: empty }) }),
        ToolError,
      );
      assertStringIncludes(missing.message, `but none was found in PG_BIN (${empty}).`);
    } finally {
      await Deno.remove(old, { recursive: true });
      await Deno.remove(empty, { recursive: true });
    }
  },
});

Deno.test({
  name: "findTool: PATH in order, skipping copies too old, unusable or not executable",
  ignore: !unix,
  fn: async () => {
    const old = await fakeTools({ pg_dump: "13.2" });
    const good = await fakeTools({ pg_dump: "16.1" });
    const broken = await Deno.makeTempDir({ prefix: "pgxmat-tools-" });
    await Deno.writeTextFile(join(broken, "pg_dump"), "#!/bin/sh\necho nonsense\n");
    await Deno.chmod(join(broken, "pg_dump"), 0o755);
    const plain = await fakeTools({ pg_dump: "17.0" });
    await Deno.chmod(join(plain, "pg_dump"), 0o644);
    try {
      const PATH = [plain, broken, old, good].join(":");
      assertEquals((await findTool("pg_dump", 14, { env: env({ PATH }) })).path, `${good}/pg_dump`);
      assertEquals((await findTool("pg_dump", 0, { env: env({ PATH }) })).path, `${old}/pg_dump`);
    } finally {
      for (const dir of [old, good, broken, plain]) await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "findClientTools: pg_restore and psql from pg_dump's directory, at least its version",
  ignore: !unix,
  fn: async () => {
    const a = await fakeTools({ pg_dump: "14.0", pg_restore: "16.2", psql: "16.2" });
    const b = await fakeTools({ pg_dump: "16.2", pg_restore: "16.2", psql: "16.2" });
    const c = await fakeTools({ pg_dump: "17.1", pg_restore: "16.0", psql: "15.0" });
    try {
      // pg_dump from b (a's is too old); pg_restore and psql from b too, though a comes first.
      const tools = await findClientTools(15, env({ PATH: `${a}:${b}` }));
      assertEquals(
        [tools.pgDump.path, tools.pgRestore.path, tools.psql.path],
        [`${b}/pg_dump`, `${b}/pg_restore`, `${b}/psql`],
      );
      // pg_dump 17 in c: its pg_restore 16 cannot read a 17 archive, and nothing else can.
      const error = await assertRejects(
        () => findClientTools(17, env({ PG_BIN: c })),
        ToolError,
      );
      assertStringIncludes(
        error.message,
        `pg_restore 17 or newer is needed (to read the archives of ${c}/pg_dump, version 17), ` +
          `but only pg_restore 16 (${c}/pg_restore) was found.`,
      );
      const server = await assertRejects(() => findClientTools(18, env({ PG_BIN: b })), ToolError);
      assertStringIncludes(
        server.message,
        "pg_dump 18 or newer is needed (the source server is PostgreSQL 18, and pg_dump must be " +
          `at least as new as the server it dumps), but only pg_dump 16 (${b}/pg_dump) was found.`,
      );
    } finally {
      for (const dir of [a, b, c]) await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "findTool: a missing Deno permission is reported as such, not as a tool not found",
  ignore: !unix,
  permissions: { read: true, write: true, env: true, run: false },
  fn: async () => {
    const dir = await fakeTools({ pg_dump: "16.1" });
    try {
      await assertRejects(
        () => findTool("pg_dump", 15, { env: env({ PG_BIN: dir }) }),
        Deno.errors.NotCapable,
        "run access",
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "runTool: each line of output as it comes; a large input echoed back does not block",
  ignore: !unix,
  fn: async () => {
    const lines: { line: string; at: number }[] = [];
    const started = performance.now();
    const out = await runTool("sh", ["-c", "echo first; sleep 0.5; echo second"], {
      onLine: (line) => lines.push({ line, at: performance.now() - started }),
    });
    assertEquals(out.stdout, "first\nsecond\n");
    assertEquals(lines.map((l) => l.line), ["first", "second"]);
    assertOk(
      lines[1].at - lines[0].at >= 400,
      `told of "first" as it came: ${JSON.stringify(lines)}`,
    );
    // cat writes while it reads: with the output read only after the input was written, both
    // pipes filled and neither side went on.
    const input = "x".repeat(1023) + "\n";
    const blocked = new AbortController();
    const timer = setTimeout(() => blocked.abort(), 20_000);
    try {
      const echoed = await runTool("cat", [], {
        stdin: input.repeat(2048),
        signal: blocked.signal,
      });
      assertEquals(echoed.stdout.length, input.length * 2048);
    } finally {
      clearTimeout(timer);
    }
  },
});

Deno.test({
  name:
    "runTool: aborted, a tool gets SIGINT (psql cancels its statement), then SIGKILL if it goes on",
  ignore: !unix,
  fn: async () => {
    const stop = new AbortController();
    const script = `trap 'echo stopped >&2; exit 7' INT; echo up; while :; do sleep 0.1; done`;
    await assertRejects(
      () => runTool("sh", ["-c", script], { signal: stop.signal, onLine: () => stop.abort() }),
      ToolFailed,
      "sh failed: stopped",
    );
    const deaf = new AbortController();
    const started = performance.now();
    await assertRejects(
      () =>
        runTool("sh", ["-c", `trap '' INT; echo up; exec sleep 30`], {
          signal: deaf.signal,
          onLine: () => deaf.abort(),
        }),
      ToolFailed,
    );
    const seconds = (performance.now() - started) / 1000;
    assertOk(seconds >= 4 && seconds < 20, `killed after ${seconds} s`);
  },
});
