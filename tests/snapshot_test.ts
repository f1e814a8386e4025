/** The job's snapshot on a real server: what the exporting transaction is, and who sees what. */

import { assertEquals, assertOk, assertRejects } from "./_assert.ts";
import { client, freshPair } from "./_servers.ts";
import { exportSnapshot, importSnapshot, isSnapshotId } from "../lib/snapshot.ts";

Deno.test("isSnapshotId takes what pg_export_snapshot returns, nothing else", () => {
  assertOk(isSnapshotId("00000003-0000001B-1"));
  assertOk(isSnapshotId("00000004-00000002"));
  assertOk(!isSnapshotId("x'; DROP TABLE t; --"));
  assertOk(!isSnapshotId("1'; DROP"));
  assertOk(!isSnapshotId(""));
});

Deno.test("exportSnapshot: read only, repeatable read, no JIT, empty search_path; readers see one moment", async () => {
  const pair = await freshPair("snapshot");
  try {
    await pair.source.unsafe("CREATE TABLE t (id int); INSERT INTO t VALUES (1)");
    const sql = client(pair.sourceUrl, 3);
    const snapshot = await exportSnapshot(sql);
    const reader = await sql.reserve();
    try {
      const [s] = await snapshot.conn.unsafe(
        `SELECT current_setting('transaction_read_only') AS ro, current_setting('jit') AS jit,
                current_setting('transaction_isolation') AS iso, current_setting('search_path') AS path`,
      );
      assertEquals({ ...s }, { ro: "on", jit: "off", iso: "repeatable read", path: "" });
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
