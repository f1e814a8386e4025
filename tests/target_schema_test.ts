/**
 * What the swap gives the target schema: the old schema's owner and privileges exactly (the
 * `public` schema PostgreSQL 15 gives `pg_database_owner`, a schema an application role owns), or,
 * for a new schema, what `CREATE SCHEMA` by the job's role gives; and who owns the new tables.
 * Borrowing the source schema's name on the target while building: refused in the plan when the
 * role may not rename the target's schema of that name, and one run at a time per name.
 */

import { assertEquals, assertOk, assertRejects, assertStringIncludes } from "./_assert.ts";
import { dumpDatabase, exec, type Pair, withSource } from "./_servers.ts";
import { runJob } from "../lib/run.ts";
import { JobError } from "../lib/errors.ts";
import { lockName } from "../lib/target.ts";
import type { Job } from "../lib/mod.ts";

function job(pair: Pair, source: string, target: string): Job {
  return {
    source: { database: pair.sourceUrl, schema: source },
    target: { database: pair.targetUrl, schema: target },
    tables: { "*": {} },
  };
}

/** The schema's owner and ACL as the catalog has them, and its tables' owners. */
async function ownership(pair: Pair, schema: string) {
  const [row] = await pair.target`
    SELECT nspowner::regrole::text AS owner, nspacl::text AS acl,
           (SELECT json_agg(c.relname || ':' || c.relowner::regrole::text ORDER BY c.relname)
              FROM pg_class c WHERE c.relnamespace = n.oid AND c.relkind = 'r') AS tables
      FROM pg_namespace n WHERE nspname = ${schema}`;
  return { ...row };
}

/** Runs `fn` with a fresh role of the target server, dropped afterwards. */
async function withRole(pair: Pair, name: string, fn: (role: string) => Promise<void>) {
  const role = `${name}_${pair.name}`.slice(0, 60);
  await exec(pair.target, `CREATE ROLE "${role}"`);
  try {
    await fn(role);
  } finally {
    await exec(
      pair.target,
      `ALTER DATABASE "${pair.name}" OWNER TO postgres; DROP OWNED BY "${role}" CASCADE; DROP ROLE "${role}"`,
    );
  }
}

Deno.test("public, owned by pg_database_owner, keeps its owner and ACL; the database owner can still use it", async () => {
  await withSource(
    "sw-public",
    `CREATE TABLE public.t (id int PRIMARY KEY); INSERT INTO public.t VALUES (1);`,
    async (pair) => {
      await withRole(pair, "dbo", async (dbo) => {
        await exec(pair.target, `ALTER DATABASE "${pair.name}" OWNER TO "${dbo}"`);
        const before = await ownership(pair, "public");
        assertEquals([before.owner, before.acl], [
          "pg_database_owner",
          "{pg_database_owner=UC/pg_database_owner,=U/pg_database_owner}",
        ]);
        // The swap gave public to the role running the job, with its ACL rewritten: the
        // database owner then lost CREATE on it.
        await runJob(job(pair, "public", "public"), { name: "public" });
        assertEquals(await ownership(pair, "public"), { ...before, tables: ["t:postgres"] });
        await exec(
          pair.target,
          `SET ROLE "${dbo}"; CREATE TABLE public.mine (id int); RESET ROLE`,
        );
      });
    },
  );
});

Deno.test("a target schema owned by an application role keeps owner and ACL; tables belong to the job's role", async () => {
  await withSource(
    "sw-owned",
    `CREATE SCHEMA src; CREATE TABLE src.t (id int PRIMARY KEY); INSERT INTO src.t VALUES (1);`,
    async (pair) => {
      await withRole(pair, "app", async (app) => {
        await exec(
          pair.target,
          `CREATE SCHEMA staging AUTHORIZATION "${app}";
           GRANT USAGE ON SCHEMA staging TO PUBLIC;
           REVOKE CREATE ON SCHEMA staging FROM "${app}";`,
        );
        const before = await ownership(pair, "staging");
        assertEquals(before.owner, app);
        await runJob(job(pair, "src", "staging"), { name: "owned" });
        assertEquals(await ownership(pair, "staging"), { ...before, tables: ["t:postgres"] });
      });
    },
  );
});

Deno.test("a new target schema is what CREATE SCHEMA by the job's role gives", async () => {
  await withSource(
    "sw-new",
    `CREATE SCHEMA src; CREATE TABLE src.t (id int PRIMARY KEY);`,
    async (pair) => {
      await runJob(job(pair, "src", "fresh"), { name: "new" });
      await exec(pair.target, `CREATE SCHEMA by_hand`);
      assertEquals(await ownership(pair, "fresh"), {
        ...await ownership(pair, "by_hand"),
        tables: ["t:postgres"],
      });
      assertEquals((await ownership(pair, "fresh")).acl, null);
    },
  );
});

Deno.test("a target schema of the source schema's name the role may not rename: refused in the plan, nothing written", async () => {
  await withSource(
    "sw-borrow-owner",
    `CREATE SCHEMA src; CREATE TABLE src.t (id int PRIMARY KEY);`,
    async (pair) => {
      await withRole(pair, "writer", async (writer) => {
        await exec(
          pair.target,
          `ALTER ROLE "${writer}" LOGIN PASSWORD 'writer-pw';
           ALTER DATABASE "${pair.name}" OWNER TO "${writer}";
           CREATE SCHEMA src; CREATE TABLE src.kept (id int);`,
        );
        const before = await dumpDatabase(pair.targetUrl);
        const targetUrl = pair.targetUrl.replace(/\/\/[^@]*@/, `//${writer}:writer-pw@`);
        // It failed half-way with `must be owner of schema src`, and no word on why a schema
        // the job does not name was touched.
        const error = await assertRejects(
          () =>
            runJob({
              ...job(pair, "src", "staging"),
              target: { database: targetUrl, schema: "staging" },
            }, {
              name: "borrow",
            }),
          JobError,
        ) as JobError;
        assertStringIncludes(error.message, "step plan (target)");
        assertStringIncludes(error.message, 'a schema "src", owned by role "postgres"');
        assertStringIncludes(error.message, `GRANT "postgres" TO "${writer}"`);
        assertEquals(await dumpDatabase(pair.targetUrl), before);
      });
    },
  );
});

Deno.test("runs borrowing the same source schema name on one target database take turns", async () => {
  await withSource(
    "sw-borrow-turns",
    `CREATE SCHEMA src; CREATE TYPE src.mood AS ENUM ('a', 'b');
     CREATE TABLE src.t (id int PRIMARY KEY, m src.mood); INSERT INTO src.t VALUES (1, 'a');`,
    async (pair) => {
      // Another run holding the name: the job waits, says so, and goes on once it is free.
      const holder = await pair.target.reserve();
      const messages: string[] = [];
      let done = false;
      let running: Promise<unknown> | undefined;
      try {
        await lockName(holder, "src");
        running = runJob(job(pair, "src", "a"), {
          name: "turns",
          onEvent: (e) => e.kind === "info" && messages.push(e.message),
        }).then(() => done = true);
        for (let i = 0; i < 100 && !messages.some((m) => m.includes("waiting")); i++) {
          await new Promise((r) => setTimeout(r, 100));
        }
        const [{ pid }] = await holder`SELECT pg_backend_pid() AS pid`;
        assertOk(!done, "the job did not wait for the name");
        assertStringIncludes(messages.join("\n"), `waiting for another pg-xmat run (pid ${pid}`);
        assertStringIncludes(messages.join("\n"), 'uses schema name "src"');
      } finally {
        await holder`SELECT pg_advisory_unlock_all()`;
        holder.release();
        await running;
      }
      // Two runs from one source schema into two target schemas at once: both succeed (they
      // clashed with "tuple concurrently updated" before).
      await Promise.all(
        ["b", "c"].map((target) => runJob(job(pair, "src", target), { name: target })),
      );
      for (const target of ["a", "b", "c"]) {
        const [row] = await pair.target.unsafe(`SELECT m::text FROM "${target}".t`);
        assertEquals(row.m, "a");
      }
    },
  );
});
