/**
 * The tables the structure step has created, as the copy step waits for them, without a server:
 * the plan, then each commit in turn; a wait ends when the signal aborts (the other step failed).
 */

import { assertEquals, assertRejects, settled } from "./_assert.ts";
import { CreatedTables } from "../lib/created_tables.ts";

Deno.test("created tables: the plan, then each commit in turn, all once the last committed", async () => {
  const created = new CreatedTables();
  const signal = new AbortController().signal;
  const plan = created.plan(signal);
  const first = created.after(0, signal);
  assertEquals(await settled(plan), false, "no plan yet");
  created.planned(new Map([["a", 0], ["b", 2]]), 3);
  assertEquals(Object.fromEntries(await plan), { a: 0, b: 2 });
  assertEquals(await settled(first), false, "nothing committed yet");
  created.committed(0);
  assertEquals(await first, 1);
  created.committed(1);
  assertEquals(await created.after(0, signal), 2, "what committed meanwhile counts");
  const last = created.after(2, signal);
  assertEquals(await settled(last), false);
  created.committed(2);
  assertEquals(await last, 3);
  assertEquals(await created.after(3, signal), 3, "after the last commit, nothing to wait for");
});

Deno.test("created tables: an abort ends every wait, before the plan and after it", async () => {
  const created = new CreatedTables();
  const stop = new AbortController();
  const plan = created.plan(stop.signal);
  stop.abort(new Error("the structure step failed"));
  await assertRejects(() => plan, Error, "the structure step failed");
  const other = new AbortController();
  created.planned(new Map([["a", 1]]), 2);
  const waiting = created.after(0, other.signal);
  assertEquals(await settled(waiting), false);
  other.abort(new Error("stopped"));
  await assertRejects(() => waiting, Error, "stopped");
});
