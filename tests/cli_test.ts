/** The CLI as users run it: exit codes, messages for each bad input, redaction. */

import { assertEquals, assertNotIncludes, assertStringIncludes } from "./_assert.ts";
import { exec, freshPair, inDir, runCli, servers } from "./_servers.ts";
import { PASSWORD } from "../scripts/clusters.ts";

function jobsFile(
  source: string,
  target: string,
  names = ["export:users"],
  tables = "{ users: {} }",
): string {
  return `export const JOBS = {\n${
    names.map((n) =>
      `  ${JSON.stringify(n)}: { source: { database: ${JSON.stringify(source)}, schema: "app" }, ` +
      `target: { database: ${JSON.stringify(target)}, schema: "copy" }, tables: ${tables} },`
    ).join("\n")
  }\n};\n`;
}

// --help and --version: smoke_test.ts, with the binary's permissions.
Deno.test("bad arguments exit 2 with the option named", async () => {
  const bad = await runCli(["--frobnicate"]);
  assertEquals(bad.code, 2);
  assertStringIncludes(bad.stderr, "pg-xmat: error:");
  assertStringIncludes(bad.stderr, "--frobnicate");
  assertNotIncludes(bad.stderr, "    at ");
});

Deno.test("a missing jobs file names the file and what to do", async () => {
  await inDir({}, async (dir) => {
    const r = await runCli([], { cwd: dir });
    assertEquals(r.code, 2);
    assertStringIncludes(
      r.stderr,
      `cannot load jobs file ${await Deno.realPath(dir)}/pg_xmat_jobs.ts`,
    );
    assertStringIncludes(r.stderr, "no such file");
  });
});

Deno.test("a TypeScript syntax error shows file, line and message", async () => {
  await inDir({ "broken.ts": "export const JOBS = {\n  a: { source: ,\n};\n" }, async (dir) => {
    const r = await runCli(["-c", "broken.ts"], { cwd: dir });
    assertEquals(r.code, 2);
    assertStringIncludes(r.stderr, "broken.ts");
    assertStringIncludes(r.stderr, `${await Deno.realPath(dir)}/broken.ts:2:`);
    assertStringIncludes(r.stderr, "Expression expected");
    assertNotIncludes(r.stderr, "at async");
  });
});

Deno.test("a module without JOBS, and an invalid job, exit 2 with the path of the fault", async () => {
  await inDir({
    "none.ts": "export const jobs = {};\n",
    "invalid.js":
      `export default { "export:users": { source: { database: "postgres://u:topsecret@h/db", schema: "s" }, ` +
      `target: { database: "postgres://u@h/db2", schema: "t" }, tables: { users: { where: { created_at: { gte3: 1 } } } } } };\n`,
  }, async (dir) => {
    const none = await runCli(["-c", "none.ts"], { cwd: dir });
    assertEquals(none.code, 2);
    assertStringIncludes(none.stderr, "exports neither `JOBS` nor a default export");
    const invalid = await runCli(["-c", "invalid.js"], { cwd: dir });
    assertEquals(invalid.code, 2);
    assertStringIncludes(
      invalid.stderr,
      'jobs["export:users"].tables.users.where.created_at: unknown operator "gte3"',
    );
    assertNotIncludes(invalid.stderr, "topsecret");
  });
});

Deno.test("patterns: no match lists the jobs; several jobs need a pattern", async () => {
  const file = jobsFile("postgres://h/a", "postgres://h/b", ["export:users", "mat:users"]);
  await inDir({ "pg_xmat_jobs.ts": file }, async (dir) => {
    const none = await runCli(["nothing:*"], { cwd: dir });
    assertEquals(none.code, 2);
    assertStringIncludes(none.stderr, 'no job matches "nothing:*"');
    assertStringIncludes(none.stderr, "export:users\n  mat:users");
    const several = await runCli([], { cwd: dir });
    assertEquals(several.code, 2);
    assertStringIncludes(several.stderr, "defines 2 jobs; name the ones to run with a pattern");
  });
});

Deno.test("a wrong password fails the job (exit 1), names the side, never prints the password", async () => {
  const s = servers();
  const wrong = s.source.url.replace(`:${PASSWORD}@`, ":Wr0ngPassw0rd@");
  await inDir({ "pg_xmat_jobs.ts": jobsFile(wrong, s.target.url) }, async (dir) => {
    const r = await runCli([], { cwd: dir });
    assertEquals(r.code, 1);
    assertStringIncludes(
      r.stderr,
      'job "export:users", step connect (source): cannot connect to the source postgres://postgres:***@127.0.0.1',
    );
    assertStringIncludes(r.stderr, "password authentication failed");
    assertStringIncludes(r.stderr, "check the user name and password");
    assertNotIncludes(r.stderr, "Wr0ngPassw0rd");
    assertNotIncludes(r.stderr, PASSWORD);
  });
});

Deno.test("an unreachable port fails within seconds and says which side", async () => {
  const s = servers();
  await inDir(
    { "pg_xmat_jobs.ts": jobsFile(s.source.url, "postgres://u:pw@127.0.0.1:1/db") },
    async (dir) => {
      const started = Date.now();
      const r = await runCli([], { cwd: dir });
      assertEquals(r.code, 1);
      assertStringIncludes(
        r.stderr,
        "cannot connect to the target postgres://u:***@127.0.0.1:1/db",
      );
      assertStringIncludes(r.stderr, "is the server running");
      assertEquals(Date.now() - started < 30_000, true);
    },
  );
});

Deno.test("a real job through the CLI: exit 0 and a summary; --verbose adds nothing secret", async () => {
  const pair = await freshPair("cli-run");
  try {
    await exec(
      pair.source,
      "CREATE SCHEMA app; CREATE TABLE app.users (id int PRIMARY KEY, n text); INSERT INTO app.users VALUES (1, 'a'), (2, 'b');",
    );
    await inDir({ "jobs.ts": jobsFile(pair.sourceUrl, pair.targetUrl) }, async (dir) => {
      const r = await runCli(["export:*", "-c", "jobs.ts", "-v"], { cwd: dir });
      assertEquals(r.code, 0, r.stderr);
      assertStringIncludes(r.stderr, "export:users  copy");
      assertStringIncludes(r.stderr, "done: 1 table, 2 rows");
      assertNotIncludes(r.stderr, PASSWORD);
      const [{ n }] = await pair.target`SELECT count(*)::int AS n FROM copy.users`;
      assertEquals(n, 2);
    });
  } finally {
    await pair.close();
  }
});
