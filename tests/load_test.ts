/** Loading a jobs file: TypeScript or JavaScript modules, and JSON documents. */

import { assertEquals, assertRejects, assertStringIncludes } from "./_assert.ts";
import { inDir } from "./_servers.ts";
import { loadJobsModule } from "../lib/load.ts";
import { ConfigError } from "../lib/errors.ts";

const JOB = {
  nightly: {
    source: { database: "postgres://a@h/db", schema: "s" },
    target: { database: "postgres://b@h/db", schema: "t" },
    tables: { "*": {} },
  },
};

Deno.test("a .json jobs file is the jobs map; a module's JOBS export is", async () => {
  await inDir({
    "jobs.json": JSON.stringify(JOB),
    "jobs.ts": `export const JOBS = ${JSON.stringify(JOB)};`,
  }, async (dir) => {
    // Deno's import wanted `with { type: "json" }`, and said so as if the file were broken.
    assertEquals(await loadJobsModule("jobs.json", dir), JOB);
    assertEquals(await loadJobsModule("jobs.ts", dir), JOB);
  });
});

Deno.test("a .json jobs file that is not JSON says where", async () => {
  await inDir({ "jobs.json": `{ "nightly": { "source": } }` }, async (dir) => {
    const error = await assertRejects(() => loadJobsModule("jobs.json", dir), ConfigError);
    assertStringIncludes(error.message, `cannot load jobs file ${dir}/jobs.json`);
    assertStringIncludes(error.message, "not valid JSON");
  });
});
