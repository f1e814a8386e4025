/**
 * `openClient` against a real server: small COPYs are not held back by Nagle's algorithm, and a
 * URL's hosts are tried in turn.
 */

import { assertEquals, assertOk, assertRejects, assertStringIncludes } from "./_assert.ts";
import { servers } from "./_servers.ts";
import { ConnectError, openClient } from "../lib/connect.ts";

Deno.test("a small COPY FROM ends without waiting for the server's delayed ACK", async () => {
  const sql = await openClient("target", servers().target.url);
  try {
    const conn = await sql.reserve();
    try {
      await conn.unsafe("CREATE TEMP TABLE small (a int, b text)");
      const rounds = 20;
      const started = performance.now();
      for (let i = 0; i < rounds; i++) {
        const copy = await conn.unsafe("COPY small FROM STDIN").writable();
        await new Promise<void>((resolve, reject) => {
          copy.on("finish", resolve).on("error", reject);
          copy.write("1\tone\n2\ttwo\n");
          copy.end();
        });
      }
      const each = (performance.now() - started) / rounds;
      // With Nagle's algorithm on, the CopyDone waits 40 ms or more for the ACK of the rows.
      assertOk(each < 20, `${each.toFixed(1)} ms per COPY`);
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
