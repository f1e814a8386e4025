/**
 * Progress of a run on standard error. On a terminal: one live line per table being copied
 * (rows, bytes, rate, percent and ETA from the source's estimate) under a line for the step,
 * redrawn in place at most four times a second; lines that stay (steps ended, warnings, the
 * report) are written above the live lines, which are then drawn again. Elsewhere (CI, cron, a
 * pipe): plain timestamped lines (steps starting, and ending when they took a second or more,
 * tables copied), and every ten seconds one line per table being copied.
 *
 * The renderer is given its clock and its writer, so it is tested without a terminal.
 *
 * @example
 * ```ts
 * import { Progress } from "./progress.ts";
 * import { makeStyle } from "./style.ts";
 * const progress = new Progress({
 *   live: Deno.stderr.isTerminal(),
 *   style: makeStyle(false),
 *   write: (text) => Deno.stderr.writeSync(new TextEncoder().encode(text)),
 * });
 * progress.start();
 * // await runJobConfig(job, { onEvent: (e) => progress.event(e) });
 * progress.stop();
 * ```
 * @module
 */

import type { CopyProgress } from "../lib/copy.ts";
import type { RunEvent, TableEstimate } from "../lib/events.ts";
import type { Step } from "../lib/errors.ts";
import { formatBytes, formatDuration, formatEvent, linePrefix, plural } from "./log.ts";
import { fit, padWidth, type Style, textWidth } from "./style.ts";

/** Least time between two redraws of the live lines. */
export const REDRAW_MS = 250;
/** Time between two plain progress lines of a table being copied. */
export const PLAIN_EVERY_MS = 10_000;
/** Plain output says when a step ended if it took this long (the copy's end always). */
export const PLAIN_STEP_END_SECONDS = 1;

/** A table being copied. */
export interface ActiveTable extends TableEstimate {
  progress: CopyProgress;
  /** When its copy started (the clock's milliseconds). */
  started: number;
}

/** A table's copy at one moment. */
export interface TableStatus {
  rows: number;
  bytes: number;
  /** Bytes per second so far. */
  rate: number;
  /** Done fraction from the source's estimate (at most 0.99 while running); unknown without one. */
  fraction?: number;
  /** Seconds left at the rate so far. */
  eta?: number;
}

/**
 * Where a copy stands: the rows estimate when the table was analysed, else its size on disk.
 * A `where` filter ends a copy before its estimate, so the percent is a floor and the ETA a
 * ceiling.
 *
 * @example
 * ```ts
 * tableStatus({ table: "t", estimatedRows: 1000, estimatedBytes: 0, started: 0,
 *   progress: { rows: 250, bytes: 5000 } }, 1000);
 * // { rows: 250, bytes: 5000, rate: 5000, fraction: 0.25, eta: 3 }
 * ```
 */
export function tableStatus(table: ActiveTable, now: number): TableStatus {
  const { rows, bytes } = table.progress;
  const seconds = Math.max(0, now - table.started) / 1000;
  const rate = seconds > 0 ? bytes / seconds : 0;
  let fraction: number | undefined;
  if (table.estimatedRows > 0) fraction = rows / table.estimatedRows;
  else if (table.estimatedRows < 0 && table.estimatedBytes > 0) {
    fraction = bytes / table.estimatedBytes;
  }
  if (fraction === undefined) return { rows, bytes, rate };
  fraction = Math.min(fraction, 0.99);
  const eta = fraction > 0 && seconds > 0 ? (seconds * (1 - fraction)) / fraction : undefined;
  return eta === undefined ? { rows, bytes, rate, fraction } : { rows, bytes, rate, fraction, eta };
}

/**
 * A table's progress as a plain log line's text.
 *
 * @example
 * ```ts
 * formatTableStatus("orders", { rows: 250, bytes: 5e6, rate: 1e6, fraction: 0.25, eta: 15 });
 * // "orders: 250 rows, 5.0 MB, 1.0 MB/s, ~25%, ETA 0:15"
 * ```
 */
export function formatTableStatus(table: string, s: TableStatus): string {
  const parts = [plural(s.rows, "row"), formatBytes(s.bytes), `${formatBytes(s.rate)}/s`];
  if (s.fraction !== undefined) parts.push(`~${Math.floor(s.fraction * 100)}%`);
  if (s.eta !== undefined) parts.push(`ETA ${formatDuration(s.eta)}`);
  return `${table}: ${parts.join(", ")}`;
}

const BAR = 10;

/** What a `work-start` event is about: `index "users_pkey" on users`, or `ANALYZE users`. */
function workName(table: string, index?: string): string {
  return index === undefined ? `ANALYZE ${table}` : `index "${index}" on ${table}`;
}

/**
 * A line for an index build or `ANALYZE` running on a loaded table.
 *
 * @example
 * ```ts
 * formatWork('index "users_pkey" on users', 2.34); // 'building index "users_pkey" on users  2.3s'
 * formatWork("ANALYZE users", 0.5); // "ANALYZE users  0.5s"
 * ```
 */
export function formatWork(what: string, seconds: number): string {
  return `${what.startsWith("index") ? "building " : ""}${what}  ${seconds.toFixed(1)}s`;
}

/**
 * A table's live line: name, bar, percent, rows, bytes, rate, ETA, in columns.
 *
 * @example
 * ```ts
 * liveTableLine("orders", 8, { rows: 250, bytes: 5e6, rate: 1e6, fraction: 0.25, eta: 15 });
 * // "    orders    ██▌░░░░░░░  25%        250 rows    5.0 MB   1.0 MB/s  ETA 0:15"
 * ```
 */
export function liveTableLine(table: string, nameWidth: number, s: TableStatus): string {
  const name = fit(table, nameWidth);
  let bar = " ".repeat(BAR);
  let percent = "    ";
  if (s.fraction !== undefined) {
    const cells = s.fraction * BAR;
    const full = Math.floor(cells);
    const half = cells - full >= 0.5 ? "▌" : "";
    bar = `${"█".repeat(full)}${half}`.padEnd(BAR, "░");
    percent = `${Math.floor(s.fraction * 100)}%`.padStart(4);
  }
  const eta = s.eta === undefined ? "" : `  ETA ${formatDuration(s.eta)}`;
  return `    ${padWidth(name, nameWidth, "l")}  ${bar}  ${percent}  ${
    plural(s.rows, "row").padStart(14)
  }  ${formatBytes(s.bytes).padStart(8)}  ${`${formatBytes(s.rate)}/s`.padStart(10)}${eta}`;
}

const SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏";
const NAME_WIDTH = 30;

/** What the progress is given. */
export interface ProgressOptions {
  /** Redraw live lines in place (a terminal); otherwise plain lines. */
  live: boolean;
  style: Style;
  /** Writes text to the terminal or stream, as it is. */
  write: (text: string) => void;
  /** The terminal's width (live only; default 80). */
  columns?: () => number;
  /** Milliseconds (default `performance.now`). */
  now?: () => number;
  /** The wall clock for line prefixes (default `new Date()`). */
  clock?: () => Date;
}

/**
 * Renders a run's events as they come (see the module doc).
 *
 * @example
 * ```ts
 * import { makeStyle } from "./style.ts";
 * const write = (text: string) => void Deno.stderr.writeSync(new TextEncoder().encode(text));
 * const progress = new Progress({ live: false, style: makeStyle(false), write });
 * progress.event({ kind: "step-start", job: "j", step: "copy" }); // "12:00:00 j  copy"
 * progress.line("a line that stays");
 * ```
 */
export class Progress {
  readonly #o: ProgressOptions;
  readonly #now: () => number;
  readonly #clock: () => Date;
  #job = "";
  /** The steps running, in the order they started (the structure and copy steps overlap). */
  readonly #steps = new Map<Step, { detail?: string; started: number }>();
  #active = new Map<string, ActiveTable>();
  #planned = 0;
  #done = { tables: 0, rows: 0, bytes: 0 };
  /** Index builds and `ANALYZE`s running on loaded tables, by what they are. */
  #works = new Map<string, number>();
  /** When the last table's rows were in: the copy's rate stops there. */
  #copied?: number;
  /** Live lines on screen now. */
  #drawn = 0;
  #lastDraw = -Infinity;
  #lastPlain = 0;
  #timer?: ReturnType<typeof setInterval>;

  constructor(options: ProgressOptions) {
    this.#o = options;
    this.#now = options.now ?? (() => performance.now());
    this.#clock = options.clock ?? (() => new Date());
  }

  /** Starts the timer that redraws live lines, or writes plain progress lines. */
  start(): void {
    const timer = setInterval(() => this.tick(), this.#o.live ? REDRAW_MS : 1000);
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  /** Stops the timer and removes the live lines. */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#active.clear();
    this.#steps.clear();
    this.#output("", false);
  }

  /** Takes one event of a run. */
  event(e: RunEvent): void {
    const now = this.#now();
    if (e.job !== this.#job) this.#reset(e.job);
    const { style } = this.#o;
    switch (e.kind) {
      case "step-start":
        this.#steps.set(e.step, { detail: e.detail, started: now });
        if (e.step === "copy") this.#lastPlain = now;
        if (this.#o.live) this.#redraw(now);
        else this.#output(`${formatEvent(e, this.#clock())}\n`, false);
        return;
      case "step-end": {
        const copied = e.step === "copy"
          ? `${plural(this.#done.tables, "table")}, ${plural(this.#done.rows, "row")}, ${
            formatBytes(this.#done.bytes)
          }${e.seconds > 0 ? `, ${formatBytes(this.#done.bytes / e.seconds)}/s` : ""}`
          : undefined;
        const detail = copied ?? this.#steps.get(e.step)?.detail;
        this.#steps.delete(e.step);
        if (this.#o.live) {
          this.line(
            `${style.dim(linePrefix(e.job, this.#clock()))}${style.green("✓")} ${e.step}${
              detail ? ` (${detail})` : ""
            } ${style.dim(`${e.seconds.toFixed(1)}s`)}`,
          );
        } else if (copied || e.seconds >= PLAIN_STEP_END_SECONDS) {
          this.line(`${formatEvent(e, this.#clock())}${copied ? ` (${copied})` : ""}`);
        }
        return;
      }
      case "planned":
        this.#planned = e.tables.length;
        return;
      case "table-start":
        this.#active.set(e.table, {
          table: e.table,
          estimatedRows: e.estimatedRows,
          estimatedBytes: e.estimatedBytes,
          progress: e.progress,
          started: now,
        });
        if (this.#o.live) this.#redraw(now);
        return;
      case "table-end":
        this.#active.delete(e.table);
        this.#done.tables++;
        this.#done.rows += e.rows;
        this.#done.bytes += e.bytes;
        if (this.#done.tables === this.#planned) this.#copied = now;
        if (this.#o.live) this.#redraw(now);
        else this.#output(`${formatEvent(e, this.#clock())}\n`, false);
        return;
      case "work-start":
        this.#works.set(workName(e.table, e.index), now);
        if (this.#o.live) this.#redraw(now);
        return;
      case "work-end":
        this.#works.delete(workName(e.table, e.index));
        if (this.#o.live) this.#redraw(now);
        return;
      case "warning":
        this.line(style.yellow(formatEvent(e, this.#clock())!));
        return;
      case "info":
        this.line(formatEvent(e, this.#clock())!);
        return;
    }
  }

  /** Writes a line (or several) that stays, above the live lines. */
  line(text: string): void {
    this.#output(`${text}\n`, true);
  }

  /** The timer's beat: redraws the live lines, or writes plain progress lines when due. */
  tick(): void {
    const now = this.#now();
    if (this.#o.live) {
      this.#redraw(now);
    } else if (
      this.#active.size + this.#works.size > 0 && now - this.#lastPlain >= PLAIN_EVERY_MS
    ) {
      this.#lastPlain = now;
      const head = linePrefix(this.#job, this.#clock());
      const lines = [
        ...[...this.#active.values()].map((t) => formatTableStatus(t.table, tableStatus(t, now))),
        ...[...this.#works].map(([what, started]) => formatWork(what, (now - started) / 1000)),
      ].map((l) => `${head}  ${l}\n`);
      this.#output(lines.join(""), false);
    }
  }

  #reset(job: string): void {
    this.#job = job;
    this.#steps.clear();
    this.#active.clear();
    this.#planned = 0;
    this.#done = { tables: 0, rows: 0, bytes: 0 };
    this.#works.clear();
    this.#copied = undefined;
  }

  /** Redraws the live lines unless they were drawn less than `REDRAW_MS` ago. */
  #redraw(now: number): void {
    if (now - this.#lastDraw >= REDRAW_MS) this.#output("", true);
  }

  /**
   * Writes `text` (lines that stay) in one piece: on a terminal the live lines are erased first
   * and drawn again after it when `draw` and the last drawing is old enough.
   */
  #output(text: string, draw: boolean): void {
    if (!this.#o.live) {
      if (text) this.#o.write(text);
      return;
    }
    const now = this.#now();
    let out = this.#drawn > 0 ? `\x1b[${this.#drawn}A\r\x1b[J` : "";
    out += text;
    this.#drawn = 0;
    if (draw && now - this.#lastDraw >= REDRAW_MS) {
      const width = Math.max(20, this.#o.columns?.() || 80) - 1;
      const lines = this.#frame(now).map((l) => fit(l, width));
      out += lines.map((l) => `${l}\n`).join("");
      this.#drawn = lines.length;
      this.#lastDraw = now;
    }
    if (out) this.#o.write(out);
  }

  /** The live lines: each step running, and under the copy step each table being copied. */
  #frame(now: number): string[] {
    const { style } = this.#o;
    const spin = SPINNER[Math.floor(now / REDRAW_MS) % SPINNER.length];
    return [...this.#steps].flatMap(([step, { detail, started }]) => {
      const seconds = (now - started) / 1000;
      const head = `  ${style.green(spin)} ${this.#job}  ${step}`;
      if (step === "copy") return this.#copyLines(head, started, now);
      return [`${head}${detail ? ` (${detail})` : ""}  ${style.dim(`${seconds.toFixed(1)}s`)}`];
    });
  }

  /** The copy step's live lines: its head, then each table being copied and each index build. */
  #copyLines(head: string, started: number, now: number): string[] {
    const { style } = this.#o;
    const seconds = (now - started) / 1000;
    const tables = [...this.#active.values()];
    const status = tables.map((t) => ({ t, s: tableStatus(t, now) }));
    const rows = this.#done.rows + status.reduce((n, x) => n + x.s.rows, 0);
    const bytes = this.#done.bytes + status.reduce((n, x) => n + x.s.bytes, 0);
    head += `  ${this.#done.tables}/${this.#planned || "?"} tables done · ${
      plural(rows, "row")
    } · ${formatBytes(bytes)}`;
    // The rate of the rows' copy: it does not fall while the last indexes build.
    const copying = ((this.#copied ?? now) - started) / 1000;
    if (copying > 0) head += ` · ${formatBytes(bytes / copying)}/s`;
    if (this.#copied !== undefined && this.#works.size) {
      head += ` · indexes and ANALYZE: ${this.#works.size} running`;
    }
    head += `  ${style.dim(`${seconds.toFixed(1)}s`)}`;
    const nameWidth = Math.min(NAME_WIDTH, Math.max(...tables.map((t) => textWidth(t.table)), 5));
    return [
      head,
      ...status.map(({ t, s }) => liveTableLine(t.table, nameWidth, s)),
      ...[...this.#works].map(([what, started]) =>
        `    ${formatWork(what, (now - started) / 1000)}`
      ),
    ];
  }
}
