/**
 * The snapshot step (`lib/steps/snapshot.ts`) on real servers: the snapshot it exports holds the
 * source as it was, for any session that imports it; a job whose target is its own source
 * schema is refused (and the snapshot's transaction ended), another schema of the same database
 * is not, nor a dry run, which has no target session to compare.
 */

import { assertEquals, assertRejects } from "./_assert.ts";
import { exec, type Pair, withSource } from "./_servers.ts";
import { contextOf, pairJob } from "./_steps.ts";
import { JobError } from "../lib/errors.ts";
import { closeClients, connect } from "../lib/steps/connect.ts";
import { takeSnapshot } from "../lib/steps/snapshot.ts";
import type { Job } from "../lib/types.ts";

const SOURCE = "CREATE SCHEMA s; CREATE TABLE s.t (id int); INSERT INTO s.t VALUES (1), (2);";

/** A job whose target is `schema` of the source database itself. */
function ontoSource(pair: Pair, schema: string): Job {
  return {
    source: { database: pair.sourceUrl, schema: "s" },
    target: { database: pair.sourceUrl, schema },
    tables: { "*": {} },
  };
}

Deno.test("snapshot: what it exports is the source as it was, in every session that imports it", async () => {
  await withSource("step-snapshot", SOURCE, async (pair) => {
    const ctx = contextOf(pairJob(pair, "s", "staging", { tables: { "*": {} } }));
    const clients = await connect(ctx, 1);
    try {
      const snapshot = await takeSnapshot(ctx, clients.source, clients.lock);
      try {
        await exec(pair.source, "INSERT INTO s.t VALUES (3)");
        const [inside] = await snapshot.conn`SELECT count(*)::int AS n FROM s.t`;
        assertEquals(inside.n, 2);
        const reader = await pair.source.reserve();
        try {
          await reader.unsafe("BEGIN ISOLATION LEVEL REPEATABLE READ");
          await reader.unsafe(`SET TRANSACTION SNAPSHOT '${snapshot.id}'`);
          const [imported] = await reader.unsafe("SELECT count(*)::int AS n FROM s.t");
          assertEquals(imported.n, 2);
          await reader.unsafe("COMMIT");
        } finally {
          reader.release();
        }
      } finally {
        await snapshot.close();
      }
      const [now] = await pair.source`SELECT count(*)::int AS n FROM s.t`;
      assertEquals(now.n, 3);
    } finally {
      await closeClients(clients, { failed: false });
    }
  });
});

Deno.test("snapshot: a target that is the source schema itself is refused, the snapshot ended", async () => {
  await withSource("step-snapshot-same", SOURCE, async (pair) => {
    const ctx = contextOf(ontoSource(pair, "s"));
    const clients = await connect(ctx, 1);
    try {
      await assertRejects(
        () => takeSnapshot(ctx, clients.source, clients.lock),
        JobError,
        'source and target are the same schema "s" of the same database',
      );
      const [open] = await pair.source`
        SELECT count(*)::int AS n FROM pg_stat_activity
         WHERE datname = current_database() AND state = 'idle in transaction'`;
      assertEquals(open.n, 0);
      // A dry run has no target session: nothing to compare, nothing refused.
      const dry = await takeSnapshot(ctx, clients.source);
      await dry.close();
    } finally {
      await closeClients(clients, { failed: false });
    }
    const other = contextOf(ontoSource(pair, "s_copy"));
    const clientsOfOther = await connect(other, 1);
    try {
      const snapshot = await takeSnapshot(other, clientsOfOther.source, clientsOfOther.lock);
      await snapshot.close();
    } finally {
      await closeClients(clientsOfOther, { failed: false });
    }
  });
});
