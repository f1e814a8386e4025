/**
 * The test command (`deno task test`): starts two throwaway PostgreSQL servers (source and
 * target), runs `deno test` against them, stops them, and ends with the line CI reads:
 * `N passed, M failed`. Arguments are passed to `deno test` (e.g. a test file to run alone).
 *
 * @example
 * ```sh
 * deno task test
 * deno task test tests/sql_test.ts
 * ```
 * @module
 */

import { describeServers, SERVERS_ENV, startCluster } from "./clusters.ts";

/**
 * The counts of `deno test`'s summary line (`ok | 12 passed (3 steps) | 0 failed (2s)`).
 *
 * @example
 * ```ts
 * parseSummary("FAILED | 10 passed | 2 failed (1s)"); // { passed: 10, failed: 2 }
 * ```
 */
export function parseSummary(output: string): { passed: number; failed: number } | undefined {
  const matches = [...output.matchAll(/^(?:ok|FAILED) \| (\d+) passed[^|]*\| (\d+) failed/gm)];
  const last = matches.at(-1);
  return last ? { passed: Number(last[1]), failed: Number(last[2]) } : undefined;
}

async function main(args: string[]): Promise<number> {
  console.log("starting two throwaway PostgreSQL servers (source, target)…");
  const [source, target] = await Promise.all([startCluster("source"), startCluster("target")]);
  let output = "";
  let code = 1;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", "--no-prompt", "--parallel", ...(args.length ? args : ["tests/"])],
    env: { [SERVERS_ENV]: JSON.stringify(describeServers(source, target)), NO_COLOR: "1" },
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  // Interrupted or timed out (a hung test under `timeout`): the servers are stopped all the same,
  // where the default handlers would end the process and leave them running.
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => {
      try {
        child.kill(signal);
      } catch {
        // It ended already.
      }
      Promise.all([source.stop(), target.stop()]).finally(() => Deno.exit(130));
    });
  }
  try {
    const decoder = new TextDecoder();
    for await (const chunk of child.stdout) {
      const text = decoder.decode(chunk, { stream: true });
      output += text;
      await Deno.stdout.write(chunk);
    }
    code = (await child.status).code;
  } finally {
    await Promise.all([source.stop(), target.stop()]);
  }
  const summary = parseSummary(output) ?? { passed: 0, failed: 1 };
  if (code !== 0 && summary.failed === 0) summary.failed = 1; // deno test failed outside any test
  console.log(`${summary.passed} passed, ${summary.failed} failed`);
  return code;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
