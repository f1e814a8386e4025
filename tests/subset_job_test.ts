/**
 * Subsets on two real servers: each job's rows are compared with a closure computed here, in
 * TypeScript, over the fixture's rows (`expectedRows`, written from the rules, not from the
 * code under test), and after each job every foreign key of the target schema is VALID.
 */

import { assertEquals, assertOk, assertRejects, assertStringIncludes } from "./_assert.ts";
import { type FixtureKey, SUBSET, SUBSET_KEYS } from "./_fixtures.ts";
import { type Pair, withSource } from "./_servers.ts";
import { planJob, runJob } from "../lib/run.ts";
import { ConfigError } from "../lib/errors.ts";
import type { Job, TableSpec } from "../lib/mod.ts";

type Row = Record<string, unknown>;

const TABLES = [
  "country",
  "city",
  "address",
  "store",
  "staff",
  "customer",
  "rental",
  "payment",
  "account",
  "invoice",
  "transfer",
  "review",
  "tag",
];

/** What a job asks, in the terms of the rules. */
interface Rules {
  tables: string[];
  /** Seed tables and the rows their where keeps. */
  seeds: Record<string, (row: Row) => boolean>;
  rows?: Record<string, "all" | "referenced">;
  keys?: Record<string, "null" | "drop">;
}

/**
 * The rows each table keeps, by the rules of the README: seeds, owned rows down by distance
 * (self-references and same-distance keys never own), whole tables, then every referenced row
 * up to a fixpoint; keys with an option are not followed, `"null"` ones set NULL.
 */
function expectedRows(data: Record<string, Row[]>, rules: Rules): Record<string, Row[]> {
  const keys = SUBSET_KEYS.filter((k) =>
    rules.tables.includes(k.table) && rules.tables.includes(k.parent) && !rules.keys?.[k.name]
  );
  const value = (row: Row, columns: string[]) =>
    columns.some((c) => row[c] === null) ? undefined : JSON.stringify(columns.map((c) => row[c]));
  const distance = new Map(Object.keys(rules.seeds).map((t) => [t, 0]));
  for (let d = 1, level = [...distance.keys()]; level.length; d++) {
    const next = new Set<string>();
    for (const k of keys) {
      if (level.includes(k.parent) && !distance.has(k.table) && !rules.rows?.[k.table]) {
        next.add(k.table);
      }
    }
    for (const t of next) distance.set(t, d);
    level = [...next];
  }
  const kept = new Map<string, Set<number>>();
  const byDistance = [...rules.tables].sort((a, b) =>
    (distance.get(a) ?? -1) - (distance.get(b) ?? -1)
  );
  for (const t of byDistance) {
    const rows = data[t];
    const all = new Set(rows.map((_, i) => i));
    if (rules.rows?.[t] === "all") kept.set(t, all);
    else if (rules.rows?.[t] === "referenced") kept.set(t, new Set());
    else if (rules.seeds[t]) {
      kept.set(t, new Set(rows.flatMap((r, i) => rules.seeds[t](r) ? [i] : [])));
    } else if (!distance.has(t)) kept.set(t, all);
    else {
      const owning = keys.filter((k) =>
        k.table === t && distance.get(k.parent) === distance.get(t)! - 1
      );
      const own = new Set<number>();
      for (const k of owning) {
        const parentValues = new Set(
          [...kept.get(k.parent)!].map((i) => value(data[k.parent][i], k.refColumns)),
        );
        rows.forEach((r, i) => {
          const v = value(r, k.columns);
          if (v !== undefined && parentValues.has(v)) own.add(i);
        });
      }
      kept.set(t, own);
    }
  }
  for (let changed = true, rounds = 0; changed && rounds < 1000; rounds++) {
    changed = false;
    for (const k of keys) {
      const wanted = new Set(
        [...kept.get(k.table)!].map((i) => value(data[k.table][i], k.columns)),
      );
      data[k.parent].forEach((r, i) => {
        const v = value(r, k.refColumns);
        if (v !== undefined && wanted.has(v) && !kept.get(k.parent)!.has(i)) {
          kept.get(k.parent)!.add(i);
          changed = true;
        }
      });
    }
  }
  const result: Record<string, Row[]> = {};
  for (const t of rules.tables) {
    result[t] = [...kept.get(t)!].map((i) => ({ ...data[t][i] }));
  }
  for (const k of SUBSET_KEYS.filter((k) => rules.keys?.[k.name] === "null")) {
    const present = new Set(result[k.parent].map((r) => value(r, k.refColumns)));
    for (const r of result[k.table]) {
      if (!present.has(value(r, k.columns))) { for (const c of k.columns) r[c] = null; }
    }
  }
  return result;
}

async function readRows(sql: Pair["source"], schema: string, tables: string[]) {
  const data: Record<string, Row[]> = {};
  for (const t of tables) {
    data[t] = (await sql.unsafe(`SELECT to_jsonb(t) AS r FROM "${schema}"."${t}" t`)).map((x) =>
      x.r
    );
  }
  return data;
}

const sorted = (rows: Row[]) => rows.map((r) => JSON.stringify(r)).sort();

/** Runs `spec` and checks its target against `expectedRows`, and that every key is VALID. */
async function check(pair: Pair, target: string, rules: Rules, spec: Record<string, TableSpec>) {
  const report = await runJob(job(pair, target, spec), { name: target });
  const expected = expectedRows(await readRows(pair.source, "sub", TABLES), rules);
  const actual = await readRows(pair.target, target, rules.tables);
  for (const t of rules.tables) {
    assertEquals(sorted(actual[t]), sorted(expected[t]), `${target}: rows of ${t}`);
    assertEquals(report.tables.find((r) => r.table === t)?.rows, expected[t].length, t);
  }
  const keys = await pair.target`
    SELECT conname AS name, convalidated AS valid FROM pg_constraint
     WHERE contype = 'f' AND connamespace = ${target}::regnamespace AND conparentid = 0`;
  assertEquals(keys.filter((k) => !k.valid).map((k) => k.name), [], "every key VALID");
  const want = SUBSET_KEYS.filter((k: FixtureKey) =>
    rules.tables.includes(k.table) && rules.tables.includes(k.parent) &&
    rules.keys?.[k.name] !== "drop"
  );
  assertEquals(keys.map((k) => k.name).sort(), want.map((k) => k.name).sort(), "keys created");
  assertEquals(report.warnings.filter((w) => /NOT VALID|does not copy/.test(w)).length, 0);
  return report;
}

function job(pair: Pair, target: string, tables: Record<string, TableSpec>): Job {
  return {
    source: { database: pair.sourceUrl, schema: "sub" },
    target: { database: pair.targetUrl, schema: target },
    subset: true,
    tables,
  };
}

const REFERENCED = { rows: "referenced" } as const;

Deno.test("subset: closed under every foreign key, each key VALID", async (t) => {
  await withSource("subset", SUBSET, async (pair) => {
    await t.step(
      "seed, owned (diamond, composite, partitions), referenced levels, cycles",
      async () => {
        const spec = {
          "*": {},
          customer: { where: { id: [1, 2, 6, 7, 13] } },
          address: REFERENCED,
          city: REFERENCED,
          country: REFERENCED,
          staff: REFERENCED,
          store: REFERENCED,
        };
        const plan = await planJob(job(pair, "full", spec), { name: "full" });
        assertEquals(
          Object.fromEntries(plan.tables.map((t) => [t.table, `${t.role} ${t.distance ?? ""}`])),
          {
            customer: "seed 0",
            rental: "owned 1",
            payment: "owned 1",
            account: "owned 1",
            invoice: "owned 2",
            transfer: "owned 2",
            review: "owned 2",
            tag: "whole ",
            address: "referenced ",
            city: "referenced ",
            country: "referenced ",
            staff: "referenced ",
            store: "referenced ",
          },
        );
        const direction = (name: string) => {
          const k = plan.subset!.find((k) => k.name === name)!;
          return `${k.down ? "down" : ""}${k.up ? " up" : ""}`;
        };
        assertEquals(direction("rental_customer_id_fkey"), "down up");
        assertEquals(direction("payment_2025_customer_fkey"), "down up");
        assertEquals(direction("payment_rental_id_fkey"), " up"); // same distance: not owning
        assertEquals(direction("staff_boss_id_fkey"), " up");
        assertEquals(
          plan.subset!.find((k) => k.name === "payment_2024_customer_fkey")?.table,
          "payment",
        );
        assertEquals(plan.notChecked.some((c) => c.includes("orphan")), false);
        await check(pair, "full", {
          tables: TABLES,
          seeds: { customer: (r) => [1, 2, 6, 7, 13].includes(r.id as number) },
          rows: {
            address: "referenced",
            city: "referenced",
            country: "referenced",
            staff: "referenced",
            store: "referenced",
          },
        }, spec);
      },
    );

    await t.step('an empty seed, rows: "all", keys: "null" and "drop"', async () => {
      const spec: Record<string, TableSpec> = {
        "*": {},
        customer: { where: { id: [] }, keys: { customer_referred_by_fkey: "null" } },
        account: { rows: "all" },
        rental: { keys: { rental_staff_id_fkey: "drop" } },
        staff: REFERENCED,
      };
      const report = await check(pair, "options", {
        tables: TABLES,
        seeds: { customer: () => false },
        rows: { account: "all", staff: "referenced" },
        keys: { customer_referred_by_fkey: "null", rental_staff_id_fkey: "drop" },
      }, spec);
      assertStringIncludes(
        report.warnings.join("\n"),
        '"rental_staff_id_fkey" of table "rental" is not followed',
      );
      // The accounts brought their customers, and a referral to a customer not kept is NULL.
      const [c] = await pair.target`
        SELECT count(*)::int AS kept, count(referred_by)::int AS referring FROM options.customer`;
      assertOk(c.kept > 0);
    });

    await t.step(
      "now() in a subset's where is resolved once; clock_timestamp() is refused",
      async () => {
        const spec = { "*": {}, customer: { where: "created_at <= now()" } };
        const plan = await planJob(job(pair, "timed", spec), { name: "timed" });
        const copies = plan.tables.map((t) => t.copy).join("\n");
        assertEquals(copies.includes("now()"), false, copies);
        assertStringIncludes(copies, "::timestamptz");
        const started = Date.now();
        await check(pair, "timed", {
          tables: TABLES,
          seeds: { customer: (r) => Date.parse(r.created_at as string) <= started },
        }, spec);
        const error = await assertRejects(
          () =>
            planJob(
              job(pair, "timed", {
                "*": {},
                customer: { where: "created_at <= clock_timestamp()" },
              }),
            ),
          ConfigError,
        );
        assertStringIncludes(error.message, "clock_timestamp() is volatile");
        assertStringIncludes(error.message, "tables.customer.where");
      },
    );

    await t.step("a key to a table outside the job is a plan error with the fix", async () => {
      const error = await assertRejects(
        () => planJob(job(pair, "outside", { customer: { where: { id: 1 } }, rental: {} })),
        ConfigError,
      );
      assertStringIncludes(
        error.message,
        'foreign key "rental_staff_id_fkey" of table "rental" references "sub"."staff", which the job does not copy',
      );
      assertStringIncludes(error.message, 'keys: { "rental_staff_id_fkey": "drop" }');
      const bad = await assertRejects(
        () =>
          planJob(job(pair, "outside", {
            "*": {},
            rental: { keys: { nope: "drop", rental_customer_id_fkey: "null" } },
          })),
        ConfigError,
      );
      assertStringIncludes(bad.message, 'table "rental" has no foreign key "nope"');
      assertStringIncludes(bad.message, '"null" cannot set "customer_id" NULL');
    });
  });
});
