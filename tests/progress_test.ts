/** Progress rendering, live and plain, driven by events and a fake clock: no server, no terminal. */

import { assertEquals, assertNotIncludes, assertOk, assertStringIncludes } from "./_assert.ts";
import { hasColour, screen, stripColours } from "./_screen.ts";
import {
  formatTableStatus,
  liveTableLine,
  PLAIN_EVERY_MS,
  Progress,
  REDRAW_MS,
  tableStatus,
} from "../cli/progress.ts";
import { fit, makeStyle, terminalMode } from "../cli/style.ts";
import { formatDuration, formatEvent, linePrefix, plural } from "../cli/log.ts";
import type { RunEvent } from "../lib/events.ts";

Deno.test("terminalMode: live and colours on a terminal only; NO_COLOR and TERM=dumb", () => {
  assertEquals(terminalMode(true, {}), { live: true, color: true });
  assertEquals(terminalMode(true, { NO_COLOR: "1" }), { live: true, color: false });
  assertEquals(terminalMode(true, { NO_COLOR: "" }), { live: true, color: true });
  assertEquals(terminalMode(true, { TERM: "dumb" }), { live: false, color: false });
  assertEquals(terminalMode(false, {}), { live: false, color: false });
  assertEquals(makeStyle(false).red("x"), "x");
  assertEquals(makeStyle(true).red("x"), "\x1b[31mx\x1b[39m");
});

Deno.test("fit cuts visible characters, keeps escape codes", () => {
  assertEquals(fit("abcdef", 6), "abcdef");
  assertEquals(fit("abcdef", 4), "abc…");
  assertEquals(fit("\x1b[32mabcdef\x1b[39m", 4), "\x1b[32mabc\x1b[39m…");
  assertEquals(fit("ab███", 4), "ab█…");
});

Deno.test("tableStatus: percent and ETA from rows, from bytes when never analysed, none without", () => {
  const t = (estimatedRows: number, estimatedBytes: number, rows: number, bytes: number) => ({
    table: "t",
    estimatedRows,
    estimatedBytes,
    started: 0,
    progress: { rows, bytes },
  });
  assertEquals(tableStatus(t(1000, 0, 250, 5000), 2000), {
    rows: 250,
    bytes: 5000,
    rate: 2500,
    fraction: 0.25,
    eta: 6,
  });
  assertEquals(tableStatus(t(-1, 10_000, 9, 5000), 1000).fraction, 0.5);
  assertEquals(tableStatus(t(0, 10_000, 9, 5000), 1000).fraction, undefined);
  // A filtered or grown table passes its estimate: never 100% while it runs.
  assertEquals(tableStatus(t(100, 0, 500, 5000), 1000).fraction, 0.99);
  assertEquals(tableStatus(t(100, 0, 0, 0), 0), { rows: 0, bytes: 0, rate: 0, fraction: 0 });
  const s = { rows: 1234, bytes: 5e6, rate: 1e6, fraction: 0.25, eta: 75 };
  assertEquals(
    formatTableStatus("orders", s),
    "orders: 1,234 rows, 5.0 MB, 1.0 MB/s, ~25%, ETA 1:15",
  );
  assertEquals(
    liveTableLine("orders", 8, s),
    "    orders    ██▌░░░░░░░   25%      1,234 rows    5.0 MB    1.0 MB/s  ETA 1:15",
  );
  assertEquals(formatDuration(3723), "1:02:03");
  assertEquals(plural(1, "table"), "1 table");
});

/** A progress on a fake clock whose output is collected. */
function harness(live: boolean, color = false, columns = 60) {
  let now = 0;
  let out = "";
  const progress = new Progress({
    live,
    style: makeStyle(color),
    write: (text) => (out += text),
    columns: () => columns,
    now: () => now,
    clock: () => new Date(Date.UTC(2024, 0, 1, 12, 0, Math.floor(now / 1000))),
  });
  return {
    progress,
    at: (ms: number) => (now = ms),
    output: () => out,
  };
}

const job = "demo:subset";
const copyOf = (progress: { rows: number; bytes: number }): RunEvent[] => [
  { kind: "step-start", job, step: "plan" },
  { kind: "planned", job, tables: [{ table: "orders", estimatedRows: 1000, estimatedBytes: 1 }] },
  { kind: "step-end", job, step: "plan", seconds: 0.2 },
  { kind: "step-start", job, step: "copy", detail: "1 table, 2 at a time" },
  { kind: "table-start", job, table: "orders", estimatedRows: 1000, estimatedBytes: 1, progress },
];

Deno.test("plain progress: timestamped lines, a line per table every ten seconds, no escapes", () => {
  const h = harness(false);
  const progress = { rows: 0, bytes: 0 };
  for (const e of copyOf(progress)) h.progress.event(e);
  h.at(PLAIN_EVERY_MS - 1);
  h.progress.tick();
  assertNotIncludes(h.output(), "orders:");
  progress.rows = 500;
  progress.bytes = 50_000;
  h.at(PLAIN_EVERY_MS);
  h.progress.tick();
  h.progress.tick(); // not twice in the same period
  h.progress.event({ kind: "warning", job, message: "careful" });
  h.progress.event({
    kind: "table-end",
    job,
    table: "orders",
    rows: 1000,
    bytes: 1e5,
    seconds: 20,
  });
  h.at(20_000);
  h.progress.event({ kind: "step-end", job, step: "copy", seconds: 20 });
  h.progress.event({ kind: "step-start", job, step: "swap" });
  h.progress.event({ kind: "step-end", job, step: "swap", seconds: 0.01 });
  h.progress.stop();
  assertEquals(h.output().split("\n"), [
    "12:00:00 demo:subset  plan",
    "12:00:00 demo:subset  copy (1 table, 2 at a time)",
    "12:00:10 demo:subset    orders: 500 rows, 50 kB, 5.0 kB/s, ~50%, ETA 0:10",
    "12:00:10 demo:subset  warning: careful",
    "12:00:10 demo:subset    orders: 1,000 rows, 100 kB in 20.0s",
    "12:00:20 demo:subset  copy done in 20.0s (1 table, 1,000 rows, 100 kB, 5.0 kB/s)",
    "12:00:20 demo:subset  swap",
    "",
  ]);
  assertNotIncludes(h.output(), "\x1b");
});

Deno.test("live progress: a line per table, redrawn at most every 250 ms, warnings above it", () => {
  const h = harness(true, true);
  const progress = { rows: 0, bytes: 0 };
  for (const e of copyOf(progress)) h.progress.event(e);
  const draws = () => h.output().split("\x1b[J").length;
  const before = draws();
  for (let ms = 1; ms < REDRAW_MS; ms += 10) {
    h.at(ms);
    progress.rows += 10;
    h.progress.tick();
  }
  assertEquals(draws(), before, "no redraw within 250 ms");
  h.at(500);
  progress.rows = 500;
  progress.bytes = 40_000;
  h.progress.tick();
  const live = screen(h.output(), 60).map(stripColours);
  assertEquals(live.length, 3, live.join("\n"));
  assertEquals(live[0], "12:00:00 demo:subset  ✓ plan 0.2s");
  assertStringIncludes(live[1], "demo:subset  copy  0/1 tables done · 500 rows · 40 kB");
  assertStringIncludes(live[2], "orders  █████░░░░░   50%");
  assertOk(live.every((l) => [...l].length < 60), "every line fits the terminal");
  assertStringIncludes(h.output(), "\x1b[32m"); // colours on

  // A warning while the live lines are drawn: erased, the warning, drawn again.
  h.at(1000);
  h.progress.event({ kind: "warning", job, message: "something to know" });
  h.at(1250);
  h.progress.tick();
  const after = screen(h.output(), 60).map(stripColours);
  assertEquals(
    after[1],
    "12:00:01 demo:subset  warning: something to know",
  );
  assertStringIncludes(after[2], "copy  0/1 tables done");
  assertEquals(after.length, 4);

  h.progress.event({ kind: "table-end", job, table: "orders", rows: 1000, bytes: 8e4, seconds: 2 });
  h.at(2000);
  h.progress.event({ kind: "step-end", job, step: "copy", seconds: 2 });
  h.progress.stop();
  const end = screen(h.output(), 60).map(stripColours);
  assertEquals(end, [
    "12:00:00 demo:subset  ✓ plan 0.2s",
    "12:00:01 demo:subset  warning: something to know",
    "12:00:02 demo:subset  ✓ copy (1 table, 1,000 rows, 80 kB, 40", // wrapped at 60 columns
    " kB/s) 2.0s",
  ]);
});

Deno.test("live progress without colours (NO_COLOR) still redraws in place", () => {
  const h = harness(true, false);
  for (const e of copyOf({ rows: 1, bytes: 1 })) h.progress.event(e);
  h.at(REDRAW_MS);
  h.progress.tick();
  h.progress.stop();
  assertStringIncludes(h.output(), "\x1b[J");
  assertEquals(hasColour(h.output()), false);
  assertEquals(screen(h.output()), ["12:00:00 demo:subset  ✓ plan 0.2s"]);
});

Deno.test("log lines", () => {
  assertEquals(linePrefix("j", new Date(0)), "00:00:00 j  ");
  assertEquals(
    formatEvent({ kind: "step-end", job: "j", step: "structure", seconds: 0.42 }, new Date(0)),
    "00:00:00 j  structure done in 0.4s",
  );
  assertEquals(
    formatEvent({ kind: "planned", job: "j", tables: [] }, new Date(0)),
    undefined,
  );
});

Deno.test("live progress after the last table: index builds and ANALYZE as what they are, the rate kept", () => {
  const h = harness(true, false, 120);
  const progress = { rows: 0, bytes: 0 };
  for (const e of copyOf(progress)) h.progress.event(e);
  h.at(1000);
  progress.rows = 1000;
  progress.bytes = 1e6;
  h.progress.event({ kind: "table-end", job, table: "orders", rows: 1000, bytes: 1e6, seconds: 1 });
  h.progress.event({ kind: "work-start", job, table: "orders", index: "orders_pkey" });
  h.progress.event({ kind: "work-start", job, table: "orders" });
  h.at(4000);
  h.progress.tick();
  // It said `copy 1/1 tables done` for as long as the indexes built, the rate falling.
  const live = screen(h.output(), 120).map(stripColours);
  assertStringIncludes(live.at(-3)!, "1/1 tables done · 1,000 rows · 1.0 MB · 1.0 MB/s");
  assertStringIncludes(live.at(-3)!, "indexes and ANALYZE: 2 running");
  assertEquals(live.slice(-2), [
    '    building index "orders_pkey" on orders  3.0s',
    "    ANALYZE orders  3.0s",
  ]);
  h.progress.event({ kind: "work-end", job, table: "orders", index: "orders_pkey", seconds: 3 });
  h.at(4500);
  h.progress.tick();
  const after = screen(h.output(), 120).map(stripColours);
  assertEquals(after.at(-1), "    ANALYZE orders  3.5s");
});
