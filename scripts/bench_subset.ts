/**
 * The benchmark's subset case (`deno task bench --subset`): a seed of 1% of `customers` with two
 * owned children (`orders`, `payments`, their keys indexed), copied with `subset: true`, against
 * the same job copying the three tables whole; at two source sizes (the second `--subset-scale`
 * times the first), and at the larger size also with the smaller size's seed, so that the time a
 * subset takes can be read against the rows it keeps and against the source's size apart.
 *
 * @example
 * ```sh
 * deno task bench --subset                       # 100,000 and 400,000 customers
 * deno task bench --subset --subset-rows 1000000 --subset-scale 4
 * ```
 * @module
 */

import postgres from "postgres";
import type { Cluster } from "./clusters.ts";
import { measure } from "./bench_measure.ts";
import type { DriverInput, DriverOutput } from "./bench_xmat.ts";
import type { Job, TableSpec } from "../lib/types.ts";

const DATABASE = "subset";
const SCHEMA = "shop";

/** What the subset case is asked. */
export interface SubsetBenchSettings {
  /** Customers at the first size. */
  rows: number;
  /** The second size, as a multiple of the first. */
  scale: number;
  /** Tables copied at once. */
  jobs: number;
  /** Best of this many runs of each job. */
  rounds: number;
}

/** One measured job. */
interface SubsetRun {
  label: string;
  customers: number;
  seed: number;
  seconds: number;
  peakRss: number;
  /** CPU seconds of the source server while the job ran. */
  sourceCpu: number;
  /** The plan and copy steps' seconds: where a subset's work is. */
  plan: number;
  copy: number;
  rows: number;
}

/** Adds customers `from`..`to` (inclusive) with 3 orders and 2 payments each. */
async function grow(sql: postgres.Sql, from: number, to: number): Promise<void> {
  await sql.unsafe(`
    INSERT INTO ${SCHEMA}.customers
    SELECT g, 'Customer ' || g, 'c' || g || '@example.com', timestamptz '2020-01-01' + g * interval '1 minute',
           md5(g::text) || md5((g * 7)::text)
      FROM generate_series(${from}, ${to}) g`);
  await sql.unsafe(`
    INSERT INTO ${SCHEMA}.orders
    SELECT g, 1 + (g - 1) / 3, (g % 10000) / 100.0, md5(g::text)
      FROM generate_series(3 * ${from} - 2, 3 * ${to}) g`);
  await sql.unsafe(`
    INSERT INTO ${SCHEMA}.payments
    SELECT g, 1 + (g - 1) / 2, (g % 5000) / 100.0, timestamptz '2020-01-01' + g * interval '1 minute'
      FROM generate_series(2 * ${from} - 1, 2 * ${to}) g`);
  await sql.unsafe(`VACUUM ANALYZE`);
}

async function createSchema(sql: postgres.Sql): Promise<void> {
  await sql.unsafe(`
    CREATE SCHEMA ${SCHEMA};
    CREATE TABLE ${SCHEMA}.customers (id bigint PRIMARY KEY, name text NOT NULL, email text NOT NULL,
      created_at timestamptz NOT NULL, pad text);
    CREATE TABLE ${SCHEMA}.orders (id bigint PRIMARY KEY,
      customer_id bigint NOT NULL REFERENCES ${SCHEMA}.customers, amount numeric(12, 2), note text);
    CREATE INDEX orders_customer_id ON ${SCHEMA}.orders (customer_id);
    CREATE TABLE ${SCHEMA}.payments (id bigint PRIMARY KEY,
      customer_id bigint NOT NULL REFERENCES ${SCHEMA}.customers, amount numeric(12, 2),
      paid_at timestamptz NOT NULL);
    CREATE INDEX payments_customer_id ON ${SCHEMA}.payments (customer_id);`).simple();
}

/** Runs the subset case and prints its table. */
export async function benchSubset(
  source: Cluster,
  target: Cluster,
  s: SubsetBenchSettings,
  log: (line: string) => void,
): Promise<void> {
  const admin = postgres(source.url(), { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${DATABASE}`).finally(() => admin.end());
  const targetAdmin = postgres(target.url(), { max: 1, onnotice: () => {} });
  const sql = postgres(source.url(DATABASE), { max: 1, onnotice: () => {} });
  const runs: SubsetRun[] = [];
  const small = s.rows;
  const large = s.rows * s.scale;
  const job = (seed: number | undefined): Job => ({
    source: { database: source.url(DATABASE), schema: SCHEMA },
    target: { database: target.url(DATABASE), schema: SCHEMA },
    ...(seed === undefined ? {} : { subset: true }),
    tables: {
      customers: seed === undefined ? {} : { where: { id: { lte: seed } } },
      orders: {},
      payments: {},
    } satisfies Record<string, TableSpec>,
  });
  const run = async (label: string, customers: number, seed?: number) => {
    let best: SubsetRun | undefined;
    for (let round = 0; round < s.rounds; round++) {
      await targetAdmin.unsafe(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
      await targetAdmin.unsafe(`CREATE DATABASE ${DATABASE}`);
      const input: DriverInput = { job: job(seed), options: { jobs: s.jobs } };
      const m = await measure([
        Deno.execPath(),
        "run",
        "-A",
        "--quiet",
        new URL("./bench_xmat.ts", import.meta.url).pathname,
        JSON.stringify(input),
      ], { servers: [source.dataDir], timeoutMs: 30 * 60_000 });
      if (m.code !== 0) throw new Error(`pg-xmat failed:\n${m.stderr}`);
      const out: DriverOutput = JSON.parse(m.stdout.trim().split("\n").at(-1)!);
      const result = {
        label,
        customers,
        seed: seed ?? customers,
        seconds: m.seconds,
        peakRss: m.peakRss,
        sourceCpu: m.serverCpu[0],
        plan: out.steps.plan ?? 0,
        copy: out.steps.copy ?? 0,
        rows: out.tables.reduce((n, t) => n + t.rows, 0),
      };
      log(
        `  ${label}: ${result.rows.toLocaleString("en")} rows in ${m.seconds.toFixed(1)} s ` +
          `(copy ${result.copy.toFixed(1)} s)`,
      );
      if (!best || result.seconds < best.seconds) best = result;
    }
    runs.push(best!);
  };
  try {
    await createSchema(sql);
    log(`subset case: ${small.toLocaleString("en")} customers, 3 orders and 2 payments each…`);
    await grow(sql, 1, small);
    await run("whole tables", small);
    await run("subset, seed 1%", small, small / 100);
    log(`growing the source to ${large.toLocaleString("en")} customers…`);
    await grow(sql, small + 1, large);
    await run("whole tables", large);
    await run("subset, seed 1%", large, large / 100);
    await run(`subset, seed ${(small / 100).toLocaleString("en")}`, large, small / 100);
  } finally {
    await sql.end();
    await targetAdmin.end();
  }
  console.log(
    `\nSubset case (pg-xmat --jobs ${s.jobs}, best of ${s.rounds}): customers seeded by id, ` +
      `orders and payments owned\n`,
  );
  console.log(
    "| source customers | job | seed | rows copied | job s | plan s | copy s | source CPU s | pg-xmat peak RSS |",
  );
  console.log("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const r of runs) {
    console.log(
      `| ${r.customers.toLocaleString("en")} | ${r.label} | ${r.seed.toLocaleString("en")} | ${
        r.rows.toLocaleString("en")
      } | ${r.seconds.toFixed(1)} | ${r.plan.toFixed(1)} | ${r.copy.toFixed(1)} | ${
        r.sourceCpu.toFixed(1)
      } | ${(r.peakRss / 2 ** 20).toFixed(0)} MiB |`,
    );
  }
}
