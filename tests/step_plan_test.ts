/**
 * The plan step (`lib/steps/plan.ts`) on real servers, with the `ACME` fixture: what `planSource`
 * reads of the source in the snapshot (tables, queries, keys, sequences, index builds) and tells
 * (the `planned` event); a missing schema and a bad `where` refused before anything is written;
 * `checkTarget` refusing dependents outside the target schema unless `cascade`.
 */

import { assertEquals, assertOk, assertRejects, assertStringIncludes } from "./_assert.ts";
import { ACME } from "./_fixtures.ts";
import { exec, holdLocked, within, withSource } from "./_servers.ts";
import { pairJob, withSteps } from "./_steps.ts";
import { DependentsError, JobError } from "../lib/errors.ts";
import { checkTarget } from "../lib/steps/plan.ts";
import type { TableSpec } from "../lib/types.ts";

Deno.test("planSource: the job's tables, their queries, keys, sequences and index builds, told", async () => {
  await withSource("step-plan", ACME, async (pair) => {
    const job = pairJob(pair, "acme", "staging", {
      tables: { users: { where: { active: true } }, "Order Items": {}, events: {} },
    });
    await withSteps(job, async (steps) => {
      const { plan } = await steps.plan();
      const byName = new Map(plan.tables.map((p) => [p.table.name, p]));
      assertEquals([...byName.keys()].sort(), ["Order Items", "events", "users"]);
      const users = byName.get("users")!;
      assertStringIncludes(users.select, 'FROM ONLY "acme"."users" WHERE "active" = true');
      assertEquals(users.copyOut.startsWith(`COPY (${users.select}) TO STDOUT`), true);
      assertEquals(byName.get("events")!.table.partitioned, true);
      assertEquals(
        plan.structure.foreignKeys.map((f) => [f.name, f.table, f.refTable, f.inJob]),
        [["Order Items_user_id_fkey", "Order Items", "users", true]],
      );
      assertEquals(
        plan.sequences.map((s) => [s.name, s.lastValue, s.isCalled]).sort(),
        [["Order Items_id_seq", "50", true], ["legacy_seq", "114", true], [
          "users_id_seq",
          "5",
          true,
        ]],
      );
      const builds = plan.indexBuilds.map((b) => b.index).sort();
      assertOk(builds.includes("users_pkey") && builds.includes("users_name_lower"), `${builds}`);
      for (const b of plan.indexBuilds) assertStringIncludes(b.create, steps.names.shadow);
      const planned = steps.events.find((e) => e.kind === "planned");
      assertEquals(
        planned?.kind === "planned" ? planned.tables.map((t) => t.table).sort() : [],
        ["Order Items", "events", "users"],
      );
    });
  });
});

Deno.test("planSource: a schema the source lacks, and a where it cannot run, refused by name", async () => {
  await withSource("step-plan-refused", ACME, async (pair) => {
    await withSteps(pairJob(pair, "nope", "staging", { tables: { "*": {} } }), async (steps) => {
      await assertRejects(
        () => steps.plan(),
        JobError,
        'schema "nope" does not exist on the source',
      );
    });
    const bad = pairJob(pair, "acme", "staging", {
      tables: { users: { where: "no_such_column" } },
    });
    await withSteps(bad, async (steps) => {
      const error = await assertRejects(() => steps.plan(), JobError) as JobError;
      assertEquals([error.place.step, error.place.table], ["plan", "users"]);
      assertStringIncludes(error.message, 'column "no_such_column" does not exist');
    });
  });
});

Deno.test("checkTarget: dependents outside the target schema refused, unless cascade", async () => {
  await withSource("step-plan-target", ACME, async (pair) => {
    await exec(
      pair.target,
      `CREATE SCHEMA staging; CREATE TABLE staging.users (id int);
       CREATE SCHEMA other; CREATE VIEW other.v AS SELECT id FROM staging.users;`,
    );
    const job = pairJob(pair, "acme", "staging", { tables: { audit: {} } });
    await withSteps(job, async (steps) => {
      await assertRejects(() => steps.plan(), DependentsError, "view other.v");
    });
    await withSteps({ ...job, cascade: true }, async (steps) => {
      const { plan, targetState } = await steps.plan();
      assertEquals(targetState.schemas.has("staging"), true);
      const { lock } = await steps.clients();
      // The same check, without cascade, on what the plan read.
      await assertRejects(() => checkTarget(steps.ctx, lock, plan, false), DependentsError);
    });
  });
});

Deno.test("planSource: tables the job does not copy, locked by another session, never make it wait", async () => {
  await withSource("step-plan-others-locked", ACME, async (pair) => {
    // A plain table and a partition of a partitioned table, neither copied.
    const job = pairJob(pair, "acme", "staging", { tables: { users: {}, "Order Items": {} } });
    await withSteps(job, async (steps) => {
      // Let go before the steps are released: their snapshot's end waits for a plan that waits.
      const release = await holdLocked(pair.source, "acme.audit, acme.events_2024");
      try {
        const { plan } = await within(15_000, "the plan", steps.plan());
        const byName = new Map(plan.catalog.tables.map((t) => [t.name, t]));
        // The copied tables are sized; the others are never opened.
        assertOk(byName.get("users")!.bytes >= 8192 && byName.get("users")!.pages >= 1);
        assertEquals([byName.get("audit")!.bytes, byName.get("events")!.bytes], [0, 0]);
        assertEquals(byName.get("events")!.partitioned, true);
      } finally {
        await release();
      }
    });
  });
});

Deno.test("planSource: a table the job reads, locked by another session, fails the step by name after lock_timeout", async () => {
  await withSource("step-plan-copied-locked", ACME, async (pair) => {
    // A database's shorter lock_timeout is kept (the default bound is 30 s).
    await pair.source.unsafe(`ALTER DATABASE "${pair.name}" SET lock_timeout = '1s'`);
    // A copied table's partition (its size waits), then a table only a `where` reads (its EXPLAIN).
    const cases: { locked: string; tables: Record<string, TableSpec>; named: string }[] = [
      { locked: "acme.events_2025", tables: { users: {}, events: {} }, named: "events" },
      {
        locked: "acme.audit",
        tables: { users: { where: "EXISTS (SELECT FROM acme.audit)" } },
        named: "audit",
      },
    ];
    for (const { locked, tables, named } of cases) {
      await withSteps(pairJob(pair, "acme", "staging", { tables }), async (steps) => {
        const release = await holdLocked(pair.source, locked);
        try {
          const error = await assertRejects(
            () => within(15_000, "the plan", steps.plan()),
            JobError,
          ) as JobError;
          assertEquals([error.place.step, error.place.table], ["plan", named]);
          assertStringIncludes(
            error.message,
            `another session holds a lock on table "${named}" (pid `,
          );
          assertStringIncludes(error.message, "holds an ACCESS EXCLUSIVE lock on it");
          // Held since before the plan began: at least the second the plan waited.
          const held = Number(/in its transaction for ([\d.]+)s\)/.exec(error.message)?.[1]);
          assertOk(held >= 1, error.message);
          assertStringIncludes(error.message, "the job waited 1s for it");
          assertStringIncludes(
            error.message,
            "or leave the table (or the query that reads it) out",
          );
        } finally {
          await release();
        }
      });
    }
  });
});
