/** A run's options resolved for one job (`lib/run_options.ts`): defaults, overrides. Pure. */

import { assertEquals } from "./_assert.ts";
import { validateJobs } from "../lib/config.ts";
import { defaultParallelism, runSettings } from "../lib/run_options.ts";
import { SPLIT_ABOVE } from "../lib/plan.ts";

function config(host: string, cascade = false) {
  return validateJobs({
    j: {
      source: { database: `postgres://${host}/a`, schema: "s" },
      target: { database: "postgres://127.0.0.1/b", schema: "t" },
      tables: { "*": {} },
      cascade,
    },
  })[0];
}

Deno.test("runSettings: the defaults", () => {
  assertEquals(runSettings(config("localhost"), {}, 8), {
    parallel: defaultParallelism(),
    cascade: false,
    splitAbove: SPLIT_ABOVE,
    streams: Math.min(defaultParallelism(), 4),
    lockWait: { lockTimeoutMs: undefined, attempts: undefined },
  });
});

Deno.test("runSettings: the run's options, the job's cascade, streams per where the servers are", () => {
  const options = {
    jobs: 6,
    cascade: true,
    splitAbove: 1024,
    lockTimeoutMs: 100,
    lockAttempts: 2,
  };
  assertEquals(runSettings(config("localhost"), options, 4), {
    parallel: 6,
    cascade: true,
    splitAbove: 1024,
    streams: 2,
    lockWait: { lockTimeoutMs: 100, attempts: 2 },
  });
  // A server elsewhere: its cores are not known here, the workers are taken at their word.
  assertEquals(runSettings(config("db.example.com"), { jobs: 6 }, 4).streams, 6);
  assertEquals(runSettings(config("localhost", true), { jobs: 6, streams: 3 }, 4), {
    parallel: 6,
    cascade: true,
    splitAbove: SPLIT_ABOVE,
    streams: 3,
    lockWait: { lockTimeoutMs: undefined, attempts: undefined },
  });
  assertEquals(runSettings(config("localhost"), { jobs: 0 }, 4).parallel, 1);
});
