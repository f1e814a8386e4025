/**
 * `openClient` against a real server: small COPYs are not held back by Nagle's algorithm, a
 * URL's hosts are tried in turn, and the password a connection logs in with (from the URL, its
 * `password` parameter or PGPASSWORD) is redacted from the messages of errors that follow.
 */

import {
  assertEquals,
  assertNotIncludes,
  assertOk,
  assertRejects,
  assertStringIncludes,
} from "./_assert.ts";
import { client, exec, freshPair, inDir, runCli, servers } from "./_servers.ts";
import { ConnectError, openClient } from "../lib/connect.ts";

Deno.test("a small COPY FROM ends without waiting for the server's delayed ACK", async () => {
  const sql = await openClient("target", servers().target.url);
  try {
    const conn = await sql.reserve();
    try {
      await conn.unsafe("CREATE TEMP TABLE small (a int, b text)");
      const rounds = 20;
      const times: number[] = [];
      for (let i = 0; i < rounds; i++) {
        const started = performance.now();
        const copy = await conn.unsafe("COPY small FROM STDIN").writable();
        await new Promise<void>((resolve, reject) => {
          copy.on("finish", resolve).on("error", reject);
          copy.write("1\tone\n2\ttwo\n");
          copy.end();
        });
        times.push(performance.now() - started);
      }
      // With Nagle's algorithm on, every CopyDone waits 40 ms or more for the ACK of the rows;
      // a loaded machine slows some COPYs, not the fastest of twenty.
      const fastest = Math.min(...times);
      assertOk(fastest < 30, `the fastest COPY took ${fastest.toFixed(1)} ms`);
      const [{ n }] = await conn.unsafe("SELECT count(*)::int AS n FROM small");
      assertEquals(n, 2 * rounds);
    } finally {
      conn.release();
    }
  } finally {
    await sql.end();
  }
});

Deno.test("the hosts of a URL are tried in turn; when none answers, the error names the side", async () => {
  const url = new URL(servers().source.url);
  const refused = `127.0.0.1:1`;
  const several = servers().source.url.replace(url.host, `${refused},${url.host}`);
  const sql = await openClient("source", several, { max: 2 });
  try {
    const rows = await sql`SELECT inet_server_port() AS port`;
    assertEquals(String(rows[0].port), url.port);
  } finally {
    await sql.end();
  }
  const error = await assertRejects(
    () => openClient("source", servers().source.url.replace(url.host, refused)),
    ConnectError,
  );
  assertStringIncludes(error.message, "cannot connect to the source");
  assertStringIncludes(error.message, "is the server running");
});

Deno.test("the password from the URL, its password parameter or PGPASSWORD is redacted from a later error", async () => {
  const pair = await freshPair("redact");
  const role = `redact_${pair.name}`.slice(0, 60);
  const password = `Sw0rdfish-${crypto.randomUUID().slice(0, 8)}`;
  const admin = client(servers().source.url, 1);
  try {
    await admin.unsafe(`CREATE ROLE "${role}" LOGIN PASSWORD '${password}'`);
    await exec(
      pair.source,
      `CREATE SCHEMA app; CREATE TABLE app.t (id int PRIMARY KEY, n int);
       GRANT USAGE ON SCHEMA app TO "${role}"; GRANT SELECT ON app.t TO "${role}";`,
    );
    const url = new URL(pair.sourceUrl);
    const base = `postgres://${role}@${url.host}${url.pathname}`;
    const sources = {
      url: { database: `postgres://${role}:${password}@${url.host}${url.pathname}`, env: {} },
      parameter: { database: `${base}?sslmode=disable&password=${password}`, env: {} },
      environment: { database: base, env: { PGPASSWORD: password } },
    };
    await Promise.all(
      Object.entries(sources).map(([from, { database, env }]) => {
        // Once connected, the server echoes the password back: the value the plan step rejects.
        const job = {
          source: { database, schema: "app" },
          target: { database: pair.targetUrl, schema: from },
          tables: { t: { select: { n: `'${password}'` } } },
        };
        const file = `export const JOBS = { ${JSON.stringify(from)}: ${JSON.stringify(job)} };\n`;
        return inDir({ "pg_xmat_jobs.ts": file }, async (dir) => {
          const r = await runCli(["--verbose"], { cwd: dir, env });
          assertEquals(r.code, 1, r.stderr);
          assertStringIncludes(r.stderr, 'invalid input syntax for type integer: "***"', from);
          assertNotIncludes(r.stderr + r.stdout, password, `the password from the ${from} shows`);
        });
      }),
    );
  } finally {
    await pair.close();
    await admin.unsafe(`DROP ROLE IF EXISTS "${role}"`);
    await admin.end();
  }
});
