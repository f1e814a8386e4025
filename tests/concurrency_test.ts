/**
 * Runs and readers at once, through whole runs: readers of the target table keep reading while
 * a refresh swaps it in, and see the old rows or the new, never an error; a second run started
 * while one builds the same target schema is refused at once and leaves the first alone.
 */

import { assertEquals, assertOk, assertRejects } from "./_assert.ts";
import { client, closeGate, type Pair, within, withSource } from "./_servers.ts";
import { runJob } from "../lib/run.ts";
import { JobError } from "../lib/errors.ts";
import type { Job, TableSpec } from "../lib/mod.ts";

const SOURCE = `
CREATE SCHEMA app;
CREATE TABLE app.t (id int PRIMARY KEY, v text NOT NULL);
INSERT INTO app.t SELECT g, 'row ' || g FROM generate_series(1, 1000) g;`;

function job(pair: Pair, tables: Record<string, TableSpec>): Job {
  return {
    source: { database: pair.sourceUrl, schema: "app" },
    target: { database: pair.targetUrl, schema: "staging" },
    tables,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("a refresh under readers: every read sees the old rows or the new, none fails", async () => {
  await withSource("swap-readers", SOURCE, async (pair) => {
    await runJob(job(pair, { t: { where: { id: { lte: 10 } } } }), { name: "old" });
    // Two readers, one with a prepared statement, one with the simple protocol.
    const readers = [client(pair.targetUrl, 1), client(pair.targetUrl, 1)];
    const read = [
      () => readers[0]`SELECT count(*)::int AS n FROM staging.t`,
      () => readers[1].unsafe("SELECT count(*)::int AS n FROM staging.t").simple(),
    ];
    let running = true;
    let swapping = false;
    const seen = new Map<number, number>();
    let duringSwap = 0;
    const errors: string[] = [];
    const loops = read.map(async (query) => {
      const deadline = Date.now() + 120_000;
      while (running && Date.now() < deadline) {
        const during = swapping;
        try {
          const [{ n }] = await query();
          seen.set(n, (seen.get(n) ?? 0) + 1);
          if (during && swapping) duringSwap++;
        } catch (error) {
          errors.push(String(error));
        }
        await sleep(3);
      }
    });
    try {
      await runJob(job(pair, { t: {} }), {
        name: "new",
        onEvent: (e) => {
          if (e.kind === "step-start" && e.step === "swap") swapping = true;
        },
      });
      swapping = false;
      for (const query of read) {
        const [{ n }] = await query();
        seen.set(n, (seen.get(n) ?? 0) + 1);
      }
    } finally {
      running = false;
      await Promise.all(loops);
      await Promise.all(readers.map((r) => r.end()));
    }
    assertEquals(errors, []);
    assertEquals([...seen.keys()].sort((a, b) => a - b), [10, 1000], JSON.stringify([...seen]));
    // Reads that started and ended within the swap step: it was read through, not only around.
    assertOk(duringSwap > 0, "no read happened during the swap step");
  });
});

Deno.test("two runs at once on one target: the second is refused at once, the first completes", async () => {
  await withSource("swap-twice", SOURCE, async (pair) => {
    // The first run's copy waits at a gate: it is mid-run, for sure, while the second starts.
    const gate = await closeGate(pair.source, 4242);
    const first = runJob(job(pair, { t: { select: { v: gate.select } } }), { name: "first" });
    try {
      await gate.reached(first);
      const refused = await assertRejects(
        // Were it let in, it would wait for the first run's shadow, and the first for the gate.
        () => within(30_000, "the second run", runJob(job(pair, { t: {} }), { name: "second" })),
        JobError,
      );
      assertEquals(
        refused.message,
        'job "second", step connect (target): another pg-xmat run is building target schema ' +
          '"staging" on this database; wait for it to finish (or stop it) and run again',
      );
    } finally {
      await gate.open();
    }
    const report = await within(60_000, "the first run", first);
    assertEquals(report.tables[0].rows, 1000);
    const [{ n }] = await pair.target`SELECT count(*)::int AS n FROM staging.t`;
    assertEquals(n, 1000);
  });
});
