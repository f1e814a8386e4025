/** The job's snapshot on a real server: what the exporting transaction is, and who sees what. */

import { assertEquals, assertOk, assertRejects } from "./_assert.ts";
import { client, freshPair } from "./_servers.ts";
import {
  exportSnapshot,
  importSnapshot,
  isSnapshotId,
  SOURCE_LOCK_WAIT_MS,
} from "../lib/snapshot.ts";

Deno.test("isSnapshotId takes what pg_export_snapshot returns, nothing else", () => {
  assertOk(isSnapshotId("00000003-0000001B-1"));
  assertOk(isSnapshotId("00000004-00000002"));
  assertOk(!isSnapshotId("x'; DROP TABLE t; --"));
  assertOk(!isSnapshotId("1'; DROP"));
  assertOk(!isSnapshotId(""));
});

Deno.test("exportSnapshot: read only, repeatable read, no JIT, empty search_path, lock waits bounded; readers see one moment", async () => {
  const pair = await freshPair("snapshot");
  try {
    await pair.source.unsafe("CREATE TABLE t (id int); INSERT INTO t VALUES (1)");
    const sql = client(pair.sourceUrl, 3);
    const snapshot = await exportSnapshot(sql);
    const reader = await sql.reserve();
    try {
      const [s] = await snapshot.conn.unsafe(
        `SELECT current_setting('transaction_read_only') AS ro, current_setting('jit') AS jit,
                current_setting('transaction_isolation') AS iso, current_setting('search_path') AS path,
                current_setting('lock_timeout') AS lock_wait`,
      );
      assertEquals({ ...s }, {
        ro: "on",
        jit: "off",
        iso: "repeatable read",
        path: "",
        lock_wait: `${SOURCE_LOCK_WAIT_MS / 1000}s`,
      });
      await sql.unsafe("INSERT INTO t VALUES (2)");
      await importSnapshot(reader, snapshot.id, { rowSecurity: false });
      const [r] = await reader.unsafe(
        "SELECT count(*)::int AS n, current_setting('row_security') AS rls FROM public.t",
      );
      assertEquals({ ...r }, { n: 1, rls: "off" });
      await reader.unsafe("COMMIT");
      // pg-xmat's own refusal, before anything is sent: not the server's "invalid snapshot
      // identifier", which a quoted id would get as well.
      for (const id of ["1; DROP TABLE t", "x'; DROP TABLE t; --"]) {
        const refused = await assertRejects(
          () => importSnapshot(reader, id, { rowSecurity: true }),
          TypeError,
        );
        assertEquals(refused.message, `not a snapshot id: ${id}`);
        const [{ open }] = await reader.unsafe(
          "SELECT now() <> statement_timestamp() OR txid_current_if_assigned() IS NOT NULL AS open",
        );
        assertEquals(open, false, "no transaction was begun");
      }
    } finally {
      reader.release();
      await snapshot.close();
      await sql.end();
    }
  } finally {
    await pair.close();
  }
});

Deno.test("exportSnapshot: a shorter lock_timeout of the session is kept; cancel ends a read that waits", async () => {
  const pair = await freshPair("snapshot-lock-wait");
  const sql = client(pair.sourceUrl, 3);
  const blocker = await pair.source.reserve();
  try {
    await pair.source.unsafe("CREATE TABLE t (id int)");
    await sql.unsafe("SET lock_timeout = '2min'");
    const longer = await exportSnapshot(sql);
    const [{ lock_timeout }] = await longer.conn`SHOW lock_timeout`;
    await longer.close();
    assertEquals(lock_timeout, "30s", "a longer one is bounded");
    await pair.source.unsafe(`ALTER DATABASE "${pair.name}" SET lock_timeout = '1500ms'`);
    const fresh = client(pair.sourceUrl, 2);
    const snapshot = await exportSnapshot(fresh);
    try {
      const [{ lock_timeout }] = await snapshot.conn`SHOW lock_timeout`;
      assertEquals(lock_timeout, "1500ms");
      await blocker.unsafe("BEGIN");
      await blocker.unsafe("LOCK TABLE t IN ACCESS EXCLUSIVE MODE");
      const waiting = snapshot.conn.unsafe("SELECT pg_relation_size('public.t')");
      waiting.catch(() => {});
      await new Promise((r) => setTimeout(r, 300));
      await snapshot.cancel();
      await assertRejects(() => waiting, Error, "canceling statement due to user request");
    } finally {
      await snapshot.close();
      await fresh.end();
    }
  } finally {
    await blocker.unsafe("ROLLBACK").catch(() => {});
    blocker.release();
    await sql.end();
    await pair.close();
  }
});
