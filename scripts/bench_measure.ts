/**
 * How the benchmark measures one command: wall time, the peak resident set size of its largest
 * process (`/usr/bin/time -v` when present, else `VmHWM` polled from `/proc`), its CPU time, and
 * the CPU time each PostgreSQL server spent meanwhile (the postmaster's own, its reaped
 * children's, and its live backends'), so a run shows which side the time went to.
 *
 * @example
 * ```ts
 * import { measure } from "./bench_measure.ts";
 * declare const dataDir: string;
 * const m = await measure(["psql", "-c", "SELECT 1"], { servers: [], timeoutMs: 60_000 });
 * m.seconds;
 * ```
 * @module
 */

const GNU_TIME = "/usr/bin/time";
const CLOCK_TICKS = 100; // USER_HZ on Linux

/** What one command cost. */
export interface Measured {
  seconds: number;
  /** Peak RSS of the command's largest process, in bytes. */
  peakRss: number;
  /** User + system CPU seconds of the command and its children, when known. */
  toolCpu?: number;
  /** CPU seconds each server spent while the command ran, in the order of `servers`. */
  serverCpu: number[];
  /**
   * The machine's 1-minute load average as the command ended (`NaN` where unknown): other work
   * that shared the cores while it ran.
   */
  load: number;
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of `measure`. */
export interface MeasureOptions {
  env?: Record<string, string>;
  /** Data directories of the servers whose CPU time is recorded. */
  servers: string[];
  /** The command is killed after this long. */
  timeoutMs: number;
}

let hasGnuTime: boolean | undefined;

async function gnuTime(): Promise<boolean> {
  if (hasGnuTime === undefined) {
    hasGnuTime = await Deno.stat(GNU_TIME).then((s) => s.isFile, () => false);
  }
  return hasGnuTime;
}

/** utime, stime, cutime, cstime of a process, in seconds; 0 for a process that is gone. */
async function processCpu(pid: number, withChildren: boolean): Promise<number> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]) +
      (withChildren ? Number(fields[13]) + Number(fields[14]) : 0);
    return ticks / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

async function childrenOf(pid: number): Promise<number[]> {
  try {
    const text = await Deno.readTextFile(`/proc/${pid}/task/${pid}/children`);
    return text.split(" ").filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

async function postmaster(dataDir: string): Promise<number> {
  return Number((await Deno.readTextFile(`${dataDir}/postmaster.pid`)).split("\n")[0]);
}

/**
 * CPU seconds a server has used so far: the postmaster, the backends it reaped, the live ones.
 *
 * @example
 * ```ts
 * import type { Cluster } from "./clusters.ts";
 * declare const cluster: Cluster;
 * const before = await serverCpu(cluster.dataDir);
 * ```
 */
export async function serverCpu(dataDir: string): Promise<number> {
  const pid = await postmaster(dataDir);
  let total = await processCpu(pid, true);
  for (const child of await childrenOf(pid)) total += await processCpu(child, false);
  return total;
}

/**
 * Waits (up to 5 s) until the backends a command left have exited and been reaped: a backend
 * ends after its client, and its CPU time joins the postmaster's only then.
 */
async function settle(dataDir: string, before: ReadonlySet<number>): Promise<void> {
  const pid = await postmaster(dataDir);
  for (let i = 0; i < 100; i++) {
    if ((await childrenOf(pid)).every((c) => before.has(c))) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function treeHwm(pid: number): Promise<number> {
  let peak = 0;
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    peak = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
  for (const child of await childrenOf(pid)) peak = Math.max(peak, await treeHwm(child));
  return peak;
}

/**
 * `Maximum resident set size (kbytes): 1234` and the CPU lines of `time -v`.
 *
 * @example
 * ```ts
 * parseGnuTime("User time (seconds): 1.5\nSystem time (seconds): 0.5\nMaximum resident set size (kbytes): 2048");
 * // { peakRss: 2097152, cpu: 2 }
 * ```
 */
export function parseGnuTime(report: string): { peakRss: number; cpu: number } {
  const number = (label: string) =>
    Number(new RegExp(`${label}[^:]*:\\s*([\\d.]+)`).exec(report)?.[1] ?? NaN);
  return {
    peakRss: number("Maximum resident set size") * 1024,
    cpu: number("User time") + number("System time"),
  };
}

/**
 * Runs a command to its end (or its timeout) and measures it.
 *
 * @example
 * ```ts
 * declare const dataDir: string;
 * const m = await measure(["psql", "-c", "SELECT 1"], { servers: [dataDir], timeoutMs: 60_000 });
 * m.peakRss;
 * ```
 */
export async function measure(command: string[], options: MeasureOptions): Promise<Measured> {
  const timed = await gnuTime();
  const report = timed ? await Deno.makeTempFile({ prefix: "pgxmat-bench-time-" }) : "";
  const argv = timed ? [GNU_TIME, "-v", "-o", report, ...command] : command;
  const backends = await Promise.all(
    options.servers.map(async (d) => new Set(await childrenOf(await postmaster(d)))),
  );
  const before = await Promise.all(options.servers.map(serverCpu));
  const started = performance.now();
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs);
  let polledPeak = 0;
  const poller = timed ? undefined : setInterval(async () => {
    polledPeak = Math.max(polledPeak, await treeHwm(child.pid));
  }, 50);
  const out = await child.output();
  const seconds = (performance.now() - started) / 1000;
  clearTimeout(timer);
  if (poller !== undefined) clearInterval(poller);
  await Promise.all(options.servers.map((d, i) => settle(d, backends[i])));
  const after = await Promise.all(options.servers.map(serverCpu));
  const load = Number(
    (await Deno.readTextFile("/proc/loadavg").catch(() => "")).split(" ")[0] || NaN,
  );
  let peakRss = polledPeak;
  let toolCpu: number | undefined;
  if (timed) {
    const parsed = parseGnuTime(await Deno.readTextFile(report).catch(() => ""));
    await Deno.remove(report).catch(() => {});
    peakRss = parsed.peakRss;
    toolCpu = parsed.cpu;
  }
  return {
    seconds,
    peakRss,
    toolCpu,
    serverCpu: after.map((a, i) => a - before[i]),
    load,
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}
