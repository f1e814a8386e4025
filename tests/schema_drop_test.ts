import { assertEquals, assertRejects } from "./_assert.ts";
import { exec, withPair } from "./_servers.ts";
import { dropBatchSql, dropSchemaInBatches } from "../lib/schema_drop.ts";

Deno.test("dropBatchSql: a statement per kind, qualified, IF EXISTS … CASCADE", () => {
  assertEquals(
    dropBatchSql("Old", [
      { name: "v", kind: "v", locks: 2 },
      { name: "Order Items", kind: "r", locks: 4 },
      { name: "p", kind: "p", locks: 2 },
      { name: "s", kind: "S", locks: 1 },
    ]),
    [
      'DROP VIEW IF EXISTS "Old"."v" CASCADE',
      'DROP TABLE IF EXISTS "Old"."Order Items", "Old"."p" CASCADE',
      'DROP SEQUENCE IF EXISTS "Old"."s" CASCADE',
    ],
  );
});

Deno.test("dropSchemaInBatches: partitions, views, sequences, types and keys from outside, a few locks at a time", async () => {
  await withPair("schema-drop", async ({ target }) => {
    await exec(
      target,
      `CREATE SCHEMA "Old"; CREATE SCHEMA keep;
       CREATE TYPE "Old".mood AS ENUM ('a', 'b');
       CREATE SEQUENCE "Old".loose;
       CREATE TABLE "Old".p (id int, at date) PARTITION BY RANGE (at);
       CREATE TABLE "Old".p1 PARTITION OF "Old".p FOR VALUES FROM ('2020-01-01') TO ('2021-01-01')
         PARTITION BY LIST (id);
       CREATE TABLE "Old".p1a PARTITION OF "Old".p1 FOR VALUES IN (1);
       CREATE TABLE "Old".p2 PARTITION OF "Old".p FOR VALUES FROM ('2021-01-01') TO ('2022-01-01');
       CREATE TABLE "Old"."Parent" (id serial PRIMARY KEY, m "Old".mood);
       CREATE TABLE "Old".child (id int PRIMARY KEY, parent int REFERENCES "Old"."Parent");
       CREATE VIEW "Old".v AS SELECT * FROM "Old".child;
       CREATE MATERIALIZED VIEW "Old".mv AS SELECT * FROM "Old".v;
       CREATE FUNCTION "Old".f() RETURNS int LANGUAGE sql AS 'SELECT 1';
       CREATE TABLE keep.t (id int REFERENCES "Old"."Parent");`,
    );
    const conn = await target.reserve();
    try {
      // The smallest budget: each relation in a transaction of its own.
      await dropSchemaInBatches(conn, "Old", { budget: 1 });
      const [left] = await conn`SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = 'Old'`;
      assertEquals(left.n, 0);
      // What depended on it from outside went with it (the key), not the table that had it.
      const [keys] = await conn`
        SELECT count(*)::int AS n FROM pg_constraint WHERE conrelid = 'keep.t'::regclass`;
      assertEquals(keys.n, 0);
    } finally {
      conn.release();
    }
  });
});

Deno.test("dropSchemaInBatches: a batch whose locks a reader holds is retried, then fails", async () => {
  await withPair("schema-drop-reader", async ({ target }) => {
    await exec(target, `CREATE SCHEMA old; CREATE TABLE old.t (id int);`);
    const reader = await target.reserve();
    const conn = await target.reserve();
    try {
      await reader.unsafe("BEGIN");
      await reader.unsafe("SELECT * FROM old.t");
      await assertRejects(
        () => dropSchemaInBatches(conn, "old", { budget: 100, lockTimeoutMs: 50, attempts: 2 }),
        Error,
        "lock timeout",
      );
      await reader.unsafe("ROLLBACK");
      await dropSchemaInBatches(conn, "old", { budget: 100 });
      const [left] = await conn`SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = 'old'`;
      assertEquals(left.n, 0);
    } finally {
      reader.release();
      conn.release();
    }
  });
});
