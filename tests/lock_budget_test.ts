import { assertEquals } from "./_assert.ts";
import { lockBudget, packBatches } from "../lib/lock_budget.ts";

Deno.test("lockBudget: a quarter of the shared lock table, at least one transaction's share", () => {
  const settings = { maxLocksPerTransaction: 64, maxConnections: 100, maxPreparedTransactions: 0 };
  assertEquals(lockBudget(settings), 1600);
  assertEquals(lockBudget({ ...settings, maxPreparedTransactions: 100 }), 3200);
  assertEquals(
    lockBudget({ maxLocksPerTransaction: 64, maxConnections: 2, maxPreparedTransactions: 0 }),
    64,
  );
});

Deno.test("packBatches: in order, within the budget, an oversized item alone", () => {
  assertEquals(packBatches([1, 2, 3, 4], (n) => n, 5), [[1, 2], [3], [4]]);
  assertEquals(packBatches([2, 2, 1, 5, 1], (n) => n, 5), [[2, 2, 1], [5], [1]]);
  assertEquals(packBatches([9, 1, 1], (n) => n, 5), [[9], [1, 1]]);
  assertEquals(packBatches([0, 0, 0], (n) => n, 2), [[0, 0], [0]]); // each item counts at least 1
  assertEquals(packBatches([], (n: number) => n, 5), []);
});

Deno.test("packBatches: at most maxItems items a batch, within the budget too", () => {
  assertEquals(packBatches([1, 1, 1, 1, 1], (n) => n, 100, 2), [[1, 1], [1, 1], [1]]);
  assertEquals(packBatches([3, 3, 1], (n) => n, 5, 2), [[3], [3, 1]]);
});
