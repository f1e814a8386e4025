/**
 * The connect step (`lib/steps/connect.ts`) on real servers: both pools opened for the workers
 * and the target lock taken; a second run of the same target refused with its pools closed
 * again; the lock let go when the clients close; a dry run's source alone.
 */

import { assertEquals, assertRejects } from "./_assert.ts";
import { type Pair, withPair } from "./_servers.ts";
import { contextOf, pairJob } from "./_steps.ts";
import { JobError } from "../lib/errors.ts";
import { closeClients, connect, connectSource } from "../lib/steps/connect.ts";

/** pg-xmat's sessions on each side's database, once they settle (closing is asynchronous). */
async function sessions(pair: Pair, expected: [number, number]): Promise<[number, number]> {
  const count = async (sql: Pair["source"]) => {
    const [row] = await sql`
      SELECT count(*)::int AS n FROM pg_stat_activity
       WHERE datname = current_database() AND application_name = 'pg-xmat'`;
    return row.n as number;
  };
  let seen: [number, number] = [-1, -1];
  for (let i = 0; i < 50; i++) {
    seen = [await count(pair.source), await count(pair.target)];
    if (seen[0] === expected[0] && seen[1] === expected[1]) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return seen;
}

Deno.test("connect: a session per worker and two more on each side, the target lock held", async () => {
  await withPair("step-connect", async (pair) => {
    const job = pairJob(pair, "public", "staging", { tables: { "*": {} } });
    const clients = await connect(contextOf(job), 3);
    try {
      assertEquals(await sessions(pair, [5, 5]), [5, 5]);
      const [{ pid }] = await clients.lock`SELECT pg_backend_pid() AS pid`;
      const [held] = await pair.target`
        SELECT count(*)::int AS n FROM pg_locks
         WHERE locktype = 'advisory' AND granted AND pid = ${pid}`;
      assertEquals(held.n, 1);
    } finally {
      await closeClients(clients, { failed: false });
    }
    assertEquals(await sessions(pair, [0, 0]), [0, 0]);
  });
});

Deno.test("connect: a second run of the same target is refused, its pools closed; the lock is let go at the end", async () => {
  await withPair("step-connect-twice", async (pair) => {
    const job = pairJob(pair, "public", "staging", { tables: { "*": {} } });
    const first = await connect(contextOf(job), 1);
    try {
      await assertRejects(
        () => connect(contextOf(job), 1),
        JobError,
        'another pg-xmat run is building target schema "staging" on this database',
      );
      assertEquals(await sessions(pair, [3, 3]), [3, 3]);
      const other = await connect(
        contextOf(pairJob(pair, "public", "other", { tables: { "*": {} } })),
        1,
      );
      await closeClients(other, { failed: false });
    } finally {
      await closeClients(first, { failed: true });
    }
    const again = await connect(contextOf(job), 1);
    await closeClients(again, { failed: false });
  });
});

Deno.test("connectSource: the dry run's sessions, on the source: the snapshot's and a spare to cancel its reads", async () => {
  await withPair("step-connect-source", async (pair) => {
    const source = await connectSource(contextOf(pairJob(pair, "public", "staging", {
      tables: { "*": {} },
    })));
    try {
      const [row] = await source`SELECT current_database() AS db`;
      assertEquals(row.db, pair.name);
      assertEquals(await sessions(pair, [2, 0]), [2, 0]);
    } finally {
      await source.end();
    }
  });
});
