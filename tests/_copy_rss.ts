/**
 * Run by copy_test.ts as a process of its own, so that no other test's memory is counted:
 * copies one table with `copyTable` and prints, as JSON, the rows copied and how much the
 * process's resident set grew during the copy (its peak, sampled every 20 ms, over its size
 * once both connections were open).
 *
 * deno run -A tests/_copy_rss.ts SOURCE_URL TARGET_URL COPY_OUT COPY_IN
 *
 * @module
 */

import { openClient } from "../lib/connect.ts";
import { copyTable } from "../lib/copy.ts";

const [sourceUrl, targetUrl, copyOut, copyIn] = Deno.args;
const source = await openClient("source", sourceUrl);
const target = await openClient("target", targetUrl);
const [s, t] = [await source.reserve(), await target.reserve()];
const baseline = Deno.memoryUsage().rss;
let peak = baseline;
const sampler = setInterval(() => peak = Math.max(peak, Deno.memoryUsage().rss), 20);
try {
  const { rows } = await copyTable(s, t, { copyOut, copyIn }, { cancelSource: async () => {} });
  peak = Math.max(peak, Deno.memoryUsage().rss);
  console.log(JSON.stringify({ rows, growth: peak - baseline }));
} finally {
  clearInterval(sampler);
  s.release();
  t.release();
  await Promise.all([source.end(), target.end()]);
}
