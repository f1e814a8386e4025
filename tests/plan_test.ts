import { assertEquals, assertStringIncludes, assertThrows } from "./_assert.ts";
import { validateJobs } from "../lib/config.ts";
import { ConfigError } from "../lib/errors.ts";
import type { SchemaCatalog } from "../lib/catalog.ts";
import type { Index } from "../lib/indexes.ts";
import { column as col, table } from "./_fixtures.ts";
import {
  analyzedInCopy,
  copyPieces,
  copyStreams,
  indexBuilds,
  onThisHost,
  planTables,
} from "../lib/plan.ts";

const CATALOG: SchemaCatalog = {
  schema: "app",
  oid: 1,
  serverVersion: 150000,
  tables: [
    table(10, "users", [
      col("id"),
      col("tenant_id"),
      col("email", { type: "text" }),
      col("dbl", { generated: true }),
    ], { bytes: 50 }),
    table(11, "Order Items", [
      col("id"),
      col("tenant_id"),
      col("tags", { type: "app.mood[]", binarySafe: false }),
    ], { bytes: 500 }),
    table(12, "events", [col("id"), col("at", { type: "date" })], {
      partitioned: true,
      bytes: 300,
    }),
    table(13, "events_2024", [col("id"), col("at", { type: "date" })], {
      parentOid: 12,
      bytes: 300,
    }),
    table(14, "plain", [col("id")], { bytes: 0 }),
  ],
};

function job(tables: Record<string, unknown>) {
  return validateJobs({
    j: {
      source: { database: "postgres://h/a", schema: "app" },
      target: { database: "postgres://h/b", schema: "t" },
      tables,
    },
  })[0];
}

Deno.test("the wildcard takes every root table, largest first, partitions through their parent", () => {
  const plans = planTables(job({ "*": {} }), CATALOG);
  assertEquals(plans.map((p) => p.table.name), ["Order Items", "events", "users", "plain"]);
});

Deno.test("generated columns are left out of both statements", () => {
  const [users] = planTables(job({ users: {} }), CATALOG, "text");
  assertEquals(users.columns, ["id", "tenant_id", "email"]);
  assertEquals(
    users.copyOut,
    'COPY (SELECT "id", "tenant_id", "email" FROM ONLY "app"."users") TO STDOUT',
  );
  const [piece] = copyPieces([users], PIECES);
  assertEquals(piece.copyIn, 'COPY "sh"."users" ("id", "tenant_id", "email") FROM STDIN (FREEZE)');
});

Deno.test("wildcard keys apply where the column exists; named entries override", () => {
  const plans = planTables(
    job({ "*": { where: { tenant_id: 7 } }, users: { where: { tenant_id: 8 } } }),
    CATALOG,
  );
  const sql = Object.fromEntries(plans.map((p) => [p.table.name, p.copyOut]));
  assertStringIncludes(sql.users, 'WHERE "tenant_id" = 8');
  assertStringIncludes(sql["Order Items"], 'WHERE "tenant_id" = 7');
  assertEquals(sql.plain.includes("WHERE"), false);
});

Deno.test("a named partition whose parent is chosen is not copied twice", () => {
  const plans = planTables(job({ events: {}, events_2024: {} }), CATALOG);
  assertEquals(plans.map((p) => p.table.name), ["events"]);
  assertStringIncludes(plans[0].copyOut, 'FROM "app"."events"');
  const alone = planTables(job({ events_2024: {} }), CATALOG);
  assertStringIncludes(alone[0].copyOut, 'FROM ONLY "app"."events_2024"');
});

Deno.test("missing tables and columns are listed with what exists", () => {
  const error = assertThrows(
    () =>
      planTables(
        job({ Users: {}, users: { where: { nope: 1 }, select: { emial: "'x'", dbl: "1" } } }),
        CATALOG,
      ),
    ConfigError,
  ) as ConfigError;
  assertEquals(error.issues, [
    'jobs["j"].tables.Users: no table "Users" in schema "app" of the source (did you mean "users"?) (tables there: users, Order Items, events, events_2024, plain)',
    'jobs["j"].tables.users.where.nope: no column "nope" in table "users" (columns: id, tenant_id, email, dbl)',
    'jobs["j"].tables.users.select.emial: no column "emial" in table "users" (columns: id, tenant_id, email, dbl)',
    'jobs["j"].tables.users.select.dbl: column "dbl" is generated; the target computes it from the other columns',
  ]);
});

Deno.test("format auto uses binary only where every column is binary-safe", () => {
  const plans = planTables(job({ "*": {} }), CATALOG, "auto");
  const format = Object.fromEntries(plans.map((p) => [p.table.name, p.format]));
  assertEquals(format, {
    "Order Items": "text",
    events: "binary",
    users: "binary",
    plain: "binary",
  });
  assertStringIncludes(plans[1].copyOut, "(FORMAT binary)");
});

/** Every whole plain table loads frozen, even an empty one. */
const PIECES = {
  workers: 2,
  streams: 2,
  splitAbove: 1000,
  freezeAbove: -1,
  tidRangeScan: true,
  schema: "sh",
};

Deno.test("pieces: whole tables load frozen, partitioned ones not; auto is the default format", () => {
  const pieces = copyPieces(planTables(job({ "*": {} }), CATALOG), PIECES);
  assertEquals(
    pieces.map((p) => [p.plan.table.name, p.freeze, p.parts]),
    [["Order Items", true, 1], ["events", false, 1], ["users", true, 1], ["plain", true, 1]],
  );
  assertEquals(
    pieces[2].copyIn,
    'COPY "sh"."users" ("id", "tenant_id", "email") FROM STDIN (FORMAT binary, FREEZE)',
  );
  assertEquals(pieces[1].copyIn, 'COPY "sh"."events" ("id", "at") FROM STDIN (FORMAT binary)');
});

Deno.test("pieces: a whole table up to freezeAbove loads without FREEZE (in a batch of small tables)", () => {
  const plans = planTables(job({ "*": {} }), CATALOG, "text");
  const pieces = copyPieces(plans, { ...PIECES, freezeAbove: 50 });
  assertEquals(
    pieces.map((p) => [p.plan.table.name, p.plan.table.bytes, p.freeze]),
    [["Order Items", 500, true], ["events", 300, false], ["users", 50, false], ["plain", 0, false]],
  );
  assertEquals(pieces[2].copyIn, 'COPY "sh"."users" ("id", "tenant_id", "email") FROM STDIN');
});

Deno.test("pieces: a table larger than its share is split into page ranges, the first frozen", () => {
  const big = table(20, "big", [col("id")], { bytes: 9000, pages: 100 });
  const small = table(21, "small", [col("id")], { bytes: 1000, pages: 10 });
  const catalog = { ...CATALOG, tables: [big, small] };
  const plans = planTables(job({ "*": { where: { id: { gt: 0 } } } }), catalog, "text");
  const pieces = copyPieces(plans, { ...PIECES, workers: 3, streams: 3 });
  assertEquals(
    pieces.map((p) => [p.plan.table.name, p.part, p.parts, p.freeze]),
    [["big", 1, 3, true], ["big", 2, 3, false], ["big", 3, 3, false], ["small", 1, 1, true]],
  );
  assertEquals(
    pieces.map((p) => p.copyOut.replace(/.* WHERE /, "").replace(") TO STDOUT", "")),
    [
      `"id" > 0 AND ctid >= '(0,0)'::tid AND ctid < '(34,0)'::tid`,
      `"id" > 0 AND ctid >= '(34,0)'::tid AND ctid < '(68,0)'::tid`,
      `"id" > 0 AND ctid >= '(68,0)'::tid`,
      `"id" > 0`,
    ],
  );
  assertEquals(pieces[0].copyIn, 'COPY "sh"."big" ("id") FROM STDIN (FREEZE)');
  assertEquals(pieces[1].copyIn, 'COPY "sh"."big" ("id") FROM STDIN');
  // Not split: below the threshold, fewer than 3 workers or streams (the first part, frozen,
  // loads before the others: 2 parts take as long as one), no TID range scans (before 14).
  for (
    const options of [
      { splitAbove: 10_000 },
      { workers: 2 },
      { streams: 2 },
      { tidRangeScan: false },
    ]
  ) {
    assertEquals(copyPieces(plans, { ...PIECES, workers: 3, streams: 3, ...options }).length, 2);
  }
  // Not split: no larger than its share of the job.
  const even = { ...catalog, tables: [big, { ...small, bytes: 9000 }] };
  assertEquals(copyPieces(planTables(job({ "*": {} }), even), PIECES).length, 2);
});

Deno.test("copy streams: one per two cores when both servers are on this host", () => {
  assertEquals(copyStreams({ workers: 4, cores: 2, serversHere: true }), 1);
  assertEquals(copyStreams({ workers: 4, cores: 8, serversHere: true }), 4);
  assertEquals(copyStreams({ workers: 2, cores: 16, serversHere: true }), 2);
  assertEquals(copyStreams({ workers: 4, cores: 2, serversHere: false }), 4);
  assertEquals(onThisHost(["127.0.0.1", "localhost", "::1", "/var/run/postgresql"]), true);
  assertEquals(onThisHost(["127.0.0.1", "db.internal"]), false);
});

Deno.test("masks compile into the table's statement; one that does not fit fails at its path", () => {
  const text = { type: "text", category: "S", baseType: "text" };
  const catalog: SchemaCatalog = {
    ...CATALOG,
    tables: [
      table(20, "people", [
        col("id"),
        col("email", { ...text, notNull: true }),
        col("born", { type: "date", category: "D", baseType: "date" }),
      ]),
    ],
  };
  const select = {
    id: { clear: true },
    email: { mask: "email" },
    born: { mask: "date", by: "id" },
  };
  const [people] = planTables(job({ people: { select } }), catalog, "text");
  assertStringIncludes(
    people.copyOut,
    `COPY (SELECT "id", CAST((CASE WHEN ("email")::text = '' THEN '' ELSE left(encode(sha256(`,
  );
  assertStringIncludes(
    people.copyOut,
    `AS text) AS "email", CAST(((SELECT "born" + make_interval(`,
  );
  const error = assertThrows(
    () =>
      planTables(
        job({
          people: {
            select: {
              id: { mask: "email" },
              email: { mask: "null" },
              born: { mask: "date", by: "x" },
            },
          },
        }),
        catalog,
      ),
    ConfigError,
  ) as ConfigError;
  assertEquals(error.issues, [
    'jobs["j"].tables.people.select.id: mask "email" needs a text column (text, varchar, char, citext or a domain over one); "id" is integer',
    'jobs["j"].tables.people.select.email: mask "null" on "email", which is NOT NULL: use mask "constant" or "redact"',
    'jobs["j"].tables.people.select.born: mask "date" by "x": no such column (columns: id, email, born)',
  ]);
});

Deno.test("each plan keeps its SELECT beside the COPY that wraps it", () => {
  for (const plan of planTables(job({ "*": { where: { id: { gt: 0 } } } }), CATALOG)) {
    assertStringIncludes(plan.select, 'WHERE "id" > 0');
    assertStringIncludes(plan.copyOut, `COPY (${plan.select}) TO STDOUT`);
  }
});

function index(name: string, tableName: string, extra: Partial<Index> = {}): Index {
  const prefix = `CREATE INDEX ${name} ON app.${tableName} USING `;
  return {
    oid: name.length,
    name,
    table: tableName,
    unique: false,
    definition: `${prefix}btree (id)`,
    prefix,
    apart: true,
    ...extra,
  };
}

Deno.test("index builds: indexes apart only, with the entries they replace", () => {
  const indexes = [
    index("users_pkey", "users", {
      oid: 50,
      unique: true,
      prefix: "CREATE UNIQUE INDEX users_pkey ON app.users USING ",
      definition: "CREATE UNIQUE INDEX users_pkey ON app.users USING btree (id)",
      constraint: { oid: 51, name: "users_pkey", type: "p", deferrable: false, deferred: false },
    }),
    index("users_email", "users", { apart: false }),
    index("odd", "users", { definition: "CREATE INDEX odd ON other USING btree (id)" }),
  ];
  const builds = indexBuilds(indexes, "sh");
  assertEquals(builds.map((b) => [b.index, b.entries]), [["users_pkey", ["1259:50", "2606:51"]]]);
  assertEquals(
    builds[0].create,
    'CREATE UNIQUE INDEX "users_pkey" ON "sh"."users" USING btree (id)',
  );
});

Deno.test("analyzedInCopy: plain tables whose every index is built apart, without extended statistics", () => {
  const plans = planTables(job({ "*": {} }), CATALOG);
  const indexes = [index("u_id", "users"), index("p_id", "plain"), index("oi", "Order Items")];
  const builds = indexBuilds(indexes.slice(0, 2), "sh");
  assertEquals([...analyzedInCopy(plans, [], indexes, builds)].sort(), ["plain", "users"]);
  assertEquals([...analyzedInCopy(plans, ["users"], indexes, builds)], ["plain"]);
});
