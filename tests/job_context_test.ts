/**
 * The context every step of a job shares: step events around each step, a failure named at its
 * step, warnings kept for the report, an observer that throws never failing the job.
 */

import { assertEquals, assertOk, assertRejects } from "./_assert.ts";
import { validateJobs } from "../lib/config.ts";
import { JobError } from "../lib/errors.ts";
import type { RunEvent } from "../lib/events.ts";
import { JobContext } from "../lib/job_context.ts";

const [config] = validateJobs({
  "export:users": {
    source: { database: "postgres://u:pw@src/app", schema: "public" },
    target: { database: "postgres://u@dst/dev", schema: "staging" },
    tables: { users: {} },
  },
});

Deno.test("a step is told before and after, with the job's name; its result is returned", async () => {
  const events: RunEvent[] = [];
  const ctx = new JobContext(config, { onEvent: (e) => events.push(e) });
  assertEquals(await ctx.step("plan", () => Promise.resolve(42), "2 tables"), 42);
  assertEquals(events.map((e) => [e.kind, e.job]), [
    ["step-start", "export:users"],
    ["step-end", "export:users"],
  ]);
  assertEquals(events[0], {
    kind: "step-start",
    step: "plan",
    detail: "2 tables",
    job: "export:users",
  });
});

Deno.test("a step's failure is a JobError naming the job and the step", async () => {
  const ctx = new JobContext(config);
  const error = await assertRejects(
    () => ctx.step("structure", () => Promise.reject(new Error("pg_restore failed: boom"))),
    JobError,
  );
  assertEquals(error.message, 'job "export:users", step structure: pg_restore failed: boom');
});

Deno.test("an aborted job starts no step, and a failure after the abort says interrupted", async () => {
  const controller = new AbortController();
  const ctx = new JobContext(config, { signal: controller.signal });
  controller.abort();
  let ran = false;
  await assertRejects(() => ctx.step("copy", () => Promise.resolve(void (ran = true))));
  assertEquals(ran, false);
  const failure = ctx.fail({ step: "copy", table: "t" }, new Error("canceled"));
  assertOk(failure.message.endsWith("interrupted; the target was left as it was"));
});

Deno.test("warnings are kept in order and told; an observer that throws is ignored", () => {
  const seen: string[] = [];
  const ctx = new JobContext(config, {
    onEvent: (e) => {
      if (e.kind === "warning") seen.push(e.message);
      throw new Error("observer fault");
    },
  });
  ctx.warn("one");
  ctx.warn("two");
  assertEquals(ctx.warnings, ["one", "two"]);
  assertEquals(seen, ["one", "two"]);
});
