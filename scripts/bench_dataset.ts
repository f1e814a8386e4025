/**
 * The benchmark's dataset: a shop-like schema of a chosen size on the source server. `orders` is
 * the large table (half the size, an enum, numerics, text, a foreign key to `customers`, three
 * indexes); `customers` and `events_N` (jsonb) share the other half. Row counts come from the
 * width of a sample of each table's rows, so `--size` is close to the heap size on disk.
 *
 * @example
 * ```ts
 * import { datasetTables, createDataset } from "./bench_dataset.ts";
 * import type postgres from "postgres";
 * declare const sql: postgres.Sql;
 * const tables = datasetTables(4); // orders, customers, events_1, events_2
 * await createDataset(sql, { bytes: 1e9, tables: 4 });
 * ```
 * @module
 */

import type postgres from "postgres";

/** The schema the dataset lives in, on the source (and on every tool's target). */
export const SCHEMA = "bench";

/** One table of the dataset. */
export interface DatasetTable {
  name: string;
  /** The share of the dataset's bytes it holds. */
  share: number;
  /** Column definitions of `CREATE TABLE`. */
  columns: string;
  /** The select list that makes row `g` of `generate_series`, given the customers' row count. */
  row(customers: number): string;
  /** Indexes and constraints added after the data. */
  after: string[];
}

const ORDERS_COLUMNS = `id bigint NOT NULL, customer_id bigint NOT NULL,
  placed_at timestamptz NOT NULL, status ${SCHEMA}.order_status NOT NULL,
  amount numeric(12,2) NOT NULL, quantity integer NOT NULL, note text`;

function orders(share: number, withCustomers: boolean): DatasetTable {
  return {
    name: "orders",
    share,
    columns: ORDERS_COLUMNS,
    row: (customers) =>
      `g, 1 + (g * 7919) % ${customers}, timestamptz '2021-01-01' + g * interval '7 seconds',
       (enum_range(NULL::${SCHEMA}.order_status))[1 + g % 4], (g % 100000) / 100.0, 1 + g % 9,
       md5(g::text) || ' ' || left(md5((g + 1)::text), (g % 24)::int)`,
    after: [
      `ALTER TABLE ${SCHEMA}.orders ADD PRIMARY KEY (id)`,
      `CREATE INDEX orders_customer_id ON ${SCHEMA}.orders (customer_id)`,
      `CREATE INDEX orders_placed_at ON ${SCHEMA}.orders (placed_at)`,
      ...(withCustomers
        ? [
          `ALTER TABLE ${SCHEMA}.orders ADD FOREIGN KEY (customer_id) REFERENCES ${SCHEMA}.customers`,
        ]
        : []),
    ],
  };
}

function customers(share: number): DatasetTable {
  return {
    name: "customers",
    share,
    columns: `id bigint NOT NULL, email text NOT NULL, name text NOT NULL, country text NOT NULL,
      created_at timestamptz NOT NULL`,
    row: () =>
      `g, 'user' || g || '@example.com', initcap(md5(g::text)),
       (ARRAY['DE', 'FR', 'US', 'GB', 'JP'])[1 + g % 5], timestamptz '2020-01-01' + g * interval '1 second'`,
    after: [`ALTER TABLE ${SCHEMA}.customers ADD PRIMARY KEY (id)`],
  };
}

function events(n: number, share: number): DatasetTable {
  const name = `events_${n}`;
  return {
    name,
    share,
    columns: `id bigint NOT NULL, at timestamptz NOT NULL, kind text NOT NULL, payload jsonb`,
    row: () =>
      `g, timestamptz '2022-01-01' + g * interval '3 seconds', (ARRAY['view', 'click', 'buy'])[1 + g % 3],
       jsonb_build_object('order', g, 'ip', '10.0.' || g % 256 || '.' || g % 200,
                          'tags', jsonb_build_array('a', g % 7), 'ok', g % 2 = 0)`,
    after: [`ALTER TABLE ${SCHEMA}.${name} ADD PRIMARY KEY (id)`],
  };
}

/**
 * The tables of a dataset of `count` tables: `orders` alone, or `orders` (half the bytes),
 * `customers` and `events_1…` sharing the other half.
 *
 * @example
 * ```ts
 * datasetTables(3).map((t) => t.name); // ["orders", "customers", "events_1"]
 * ```
 */
export function datasetTables(count: number): DatasetTable[] {
  if (count < 1) throw new RangeError("a dataset has at least one table");
  if (count === 1) return [orders(1, false)];
  const rest = 0.5 / (count - 1);
  return [
    orders(0.5, true),
    customers(rest),
    ...Array.from({ length: count - 2 }, (_, i) => events(i + 1, rest)),
  ];
}

/** What `createDataset` builds. */
export interface DatasetOptions {
  /** Heap bytes in all (about). */
  bytes: number;
  tables: number;
  /** Called with a line of progress. */
  log?: (line: string) => void;
}

/** A built dataset's tables with their row counts and sizes. */
export interface Dataset {
  tables: { name: string; rows: number; bytes: number }[];
  indexBytes: number;
}

const SAMPLE_ROWS = 20_000;
const CHUNK_ROWS = 1_000_000;

/** Runs statements on `connections` connections of `sql` at once, in order of the list. */
async function inParallel(sql: postgres.Sql, connections: number, statements: string[]) {
  const queue = [...statements];
  await Promise.all(Array.from({ length: connections }, async () => {
    for (let s = queue.shift(); s !== undefined; s = queue.shift()) await sql.unsafe(s);
  }));
}

/**
 * Creates the dataset in schema `bench` of the database `sql` is connected to.
 *
 * @example
 * ```ts
 * import type postgres from "postgres";
 * declare const sql: postgres.Sql;
 * const dataset = await createDataset(sql, { bytes: 2 ** 30, tables: 4 });
 * dataset.tables[0].name; // "orders"
 * ```
 */
export async function createDataset(sql: postgres.Sql, options: DatasetOptions): Promise<Dataset> {
  const log = options.log ?? (() => {});
  const tables = datasetTables(options.tables);
  await sql.unsafe(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await sql.unsafe(`CREATE SCHEMA ${SCHEMA}`);
  await sql.unsafe(
    `CREATE TYPE ${SCHEMA}.order_status AS ENUM ('new', 'paid', 'shipped', 'cancelled')`,
  );
  // Rows per table from the width of a sample (tuple headers, alignment and page fill included).
  const rows = new Map<string, number>();
  for (const t of tables) {
    await sql.unsafe(`CREATE TABLE ${SCHEMA}.${t.name} (${t.columns})`);
    await sql.unsafe(
      `INSERT INTO ${SCHEMA}.${t.name} SELECT ${
        t.row(1000)
      } FROM generate_series(1::int8, ${SAMPLE_ROWS}) g`,
    );
    const [{ bytes }] = await sql.unsafe(
      `SELECT pg_table_size('${SCHEMA}.${t.name}')::float8 AS bytes`,
    );
    rows.set(t.name, Math.max(1, Math.round(options.bytes * t.share / (bytes / SAMPLE_ROWS))));
    await sql.unsafe(`TRUNCATE ${SCHEMA}.${t.name}`);
  }
  const customerRows = rows.get("customers") ?? 1000;
  const fills: string[] = [];
  for (const t of tables) {
    const n = rows.get(t.name)!;
    for (let from = 1; from <= n; from += CHUNK_ROWS) {
      const to = Math.min(n, from + CHUNK_ROWS - 1);
      fills.push(
        `INSERT INTO ${SCHEMA}.${t.name} SELECT ${
          t.row(customerRows)
        } FROM generate_series(${from}::int8, ${to}) g`,
      );
    }
  }
  log(`filling ${tables.length} tables (${[...rows.values()].reduce((a, b) => a + b)} rows)…`);
  await inParallel(sql, 2, fills);
  log("indexes, keys, VACUUM ANALYZE…");
  const after = tables.flatMap((t) => t.after);
  await inParallel(sql, 2, after.filter((s) => !s.includes("FOREIGN KEY")));
  for (const s of after.filter((s) => s.includes("FOREIGN KEY"))) await sql.unsafe(s);
  await inParallel(sql, 2, tables.map((t) => `VACUUM (ANALYZE) ${SCHEMA}.${t.name}`));
  const sizes = await sql.unsafe(`
    SELECT c.relname AS name, c.reltuples::int8 AS rows, pg_table_size(c.oid)::int8 AS bytes,
           pg_indexes_size(c.oid)::int8 AS index_bytes
      FROM pg_class c WHERE c.relnamespace = '${SCHEMA}'::regnamespace AND c.relkind = 'r'
     ORDER BY pg_table_size(c.oid) DESC`);
  return {
    tables: sizes.map((s) => ({ name: s.name, rows: Number(s.rows), bytes: Number(s.bytes) })),
    indexBytes: sizes.reduce((n, s) => n + Number(s.index_bytes), 0),
  };
}

/**
 * The many-tables dataset: `count` small tables in schema `bench`, each with a primary key, an
 * index and a foreign key to the one before, and `rows` rows. What per-table costs are measured
 * on.
 *
 * @example
 * ```ts
 * import type postgres from "postgres";
 * declare const sql: postgres.Sql;
 * const dataset = await createSmallTables(sql, { count: 1000, rows: 100 });
 * dataset.tables.length; // 1000
 * ```
 */
export async function createSmallTables(
  sql: postgres.Sql,
  options: { count: number; rows: number; log?: (line: string) => void },
): Promise<Dataset> {
  await sql.unsafe(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  await sql.unsafe(`CREATE SCHEMA ${SCHEMA}`);
  options.log?.(`creating ${options.count} tables of ${options.rows} rows…`);
  const statements = Array.from(
    { length: options.count },
    (_, i) =>
      `CREATE TABLE ${SCHEMA}.t${i} (id int PRIMARY KEY, v text, prev int${
        i ? ` REFERENCES ${SCHEMA}.t${i - 1}` : ""
      });
     CREATE INDEX ON ${SCHEMA}.t${i} (v);
     INSERT INTO ${SCHEMA}.t${i}
       SELECT g, 'v' || g, ${i ? "g" : "NULL"} FROM generate_series(1, ${options.rows}) g`,
  );
  // A transaction per table: one for all would need a lock per table at once.
  for (const statement of statements) await sql.unsafe(statement).simple();
  await sql.unsafe(`ANALYZE`);
  return {
    tables: Array.from({ length: options.count }, (_, i) => ({
      name: `t${i}`,
      rows: options.rows,
      bytes: 8192,
    })),
    indexBytes: 0,
  };
}
