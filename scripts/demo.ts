/**
 * The demo (`deno task demo`): starts two throwaway PostgreSQL servers, loads the sample shop
 * schema (`jobs/sample.sql`) into the source, lists the jobs of `jobs/example.ts`, shows one's
 * plan (`--dry-run`), runs them all with the CLI (progress, then a report), and shows what
 * landed on the target. `--keep` leaves the servers running to explore.
 *
 * @example
 * ```sh
 * deno task demo
 * deno task demo --keep
 * ```
 * @module
 */

import postgres from "postgres";
import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import { startCluster } from "./clusters.ts";
import { main as cli } from "../main.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

async function show(url: string): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const tables = await sql`
      SELECT n.nspname AS schema, c.relname AS table, c.reltuples::int8 AS rows
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE (n.nspname LIKE 'shop\\_%' OR n.nspname LIKE 'tenant\\_%') AND c.relkind IN ('r', 'p')
       ORDER BY 1, 2`;
    console.log("On the target:");
    for (const t of tables) {
      const [{ n }] = await sql.unsafe(`SELECT count(*)::int AS n FROM "${t.schema}"."${t.table}"`);
      console.log(`  ${`${t.schema}.${t.table}`.padEnd(32)} ${String(n).padStart(6)} rows`);
    }
    console.log("\nAnonymised customers (shop_anon.customers):");
    const rows =
      await sql`SELECT id, email, full_name, phone FROM shop_anon.customers ORDER BY id LIMIT 3`;
    for (const r of rows) {
      console.log(`  ${r.id}  ${r.email}  ${r.full_name}  ${r.phone ?? "NULL"}`);
    }
    const [recent] = await sql`SELECT max(placed_at)::date AS newest FROM shop_recent.orders`;
    console.log(
      `\nTime-shifted orders (shop_recent.orders): newest order placed ${
        recent.newest.toISOString().slice(0, 10)
      }`,
    );
  } finally {
    await sql.end();
  }
}

async function demo(args: string[]): Promise<number> {
  const keep = args.includes("--keep");
  console.log("Starting two throwaway PostgreSQL servers (source and target)…");
  const [source, target] = await Promise.all([startCluster("source"), startCluster("target")]);
  try {
    const sql = postgres(source.url(), { max: 1, onnotice: () => {} });
    await sql.unsafe(await Deno.readTextFile(`${ROOT}jobs/sample.sql`)).simple();
    await sql.end();
    console.log(
      `Loaded jobs/sample.sql into the source (${source.url().replace(/:[^:@/]+@/, ":***@")}).\n`,
    );
    Deno.env.set("SOURCE_DB_URL", source.url());
    Deno.env.set("TARGET_DB_URL", target.url());
    const config = relative(Deno.cwd(), `${ROOT}jobs/example.ts`);
    for (const args of [["--list"], ["demo:subset", "--dry-run"], ["demo:*"]]) {
      console.log(
        `$ pg-xmat ${args.map((a) => a.includes("*") ? `"${a}"` : a).join(" ")} -c jobs/example.ts`,
      );
      const code = await cli([...args, "-c", config]);
      if (code !== 0) return code;
      console.log();
    }
    await show(target.url());
    if (keep) {
      console.log(
        `\nThe servers keep running:\n  source ${source.url()}\n  target ${target.url()}\nPress Ctrl-C to stop them.`,
      );
      await new Promise<void>((resolve) => Deno.addSignalListener("SIGINT", () => resolve()));
    }
    return 0;
  } finally {
    await Promise.all([source.stop(), target.stop()]);
  }
}

if (import.meta.main) Deno.exit(await demo(Deno.args));
