import { assertEquals, assertStringIncludes, assertThrows } from "./_assert.ts";
import { assertWellFormed } from "./_sql_shape.ts";
import {
  boundLockWaitSql,
  conditionSql,
  copyInSql,
  copyOutSql,
  literalProblem,
  pageRangeSql,
  qualify,
  quoteIdent,
  quoteLiteral,
  rowSecuritySql,
  searchPath,
  selectExpression,
  selectSql,
  setLocalSql,
  whereSql,
} from "../lib/sql.ts";

Deno.test("quoteIdent quotes always and doubles quotes", () => {
  assertEquals(quoteIdent("users"), '"users"');
  assertEquals(quoteIdent("Order Items"), '"Order Items"');
  assertEquals(quoteIdent('say "hi"'), '"say ""hi"""');
  assertEquals(qualify("My Schema", "t"), '"My Schema"."t"');
  assertThrows(() => quoteIdent("a\0b"));
});

Deno.test("quoteLiteral follows quote_literal rules", () => {
  assertEquals(quoteLiteral("plain"), "'plain'");
  assertEquals(quoteLiteral("O'Brien"), "'O''Brien'");
  assertEquals(quoteLiteral("C:\\tmp\\x"), "E'C:\\\\tmp\\\\x'");
  assertEquals(quoteLiteral("it's \\ both"), "E'it''s \\\\ both'");
  assertEquals(quoteLiteral("żółw 🐢"), "'żółw 🐢'");
  assertEquals(quoteLiteral(42), "42");
  assertEquals(quoteLiteral(-1.5), "-1.5");
  assertEquals(quoteLiteral(9007199254740993n), "9007199254740993");
  assertEquals(quoteLiteral(true), "true");
  assertEquals(quoteLiteral(new Date("2024-02-29T12:00:00Z")), "'2024-02-29T12:00:00.000Z'");
  assertThrows(() => quoteLiteral(NaN), TypeError, "NaN");
  assertThrows(() => quoteLiteral(Infinity), TypeError);
  assertThrows(() => quoteLiteral(new Date("nope")), TypeError, "invalid Date");
  assertThrows(() => quoteLiteral("a\0"), TypeError, "NUL");
});

Deno.test("literalProblem names what cannot be a literal", () => {
  assertEquals(literalProblem("x"), undefined);
  assertEquals(literalProblem(() => 1), "a function is not a SQL value");
  assertEquals(literalProblem({}), "an object is not a scalar value");
  assertEquals(literalProblem(Symbol("s")), "a symbol is not a SQL value");
});

Deno.test("conditionSql: scalars, null, lists, operators", () => {
  assertEquals(conditionSql("active", true), '"active" = true');
  assertEquals(conditionSql("name", "x"), `"name" = 'x'`);
  assertEquals(conditionSql("deleted_at", null), '"deleted_at" IS NULL');
  assertEquals(conditionSql("id", [1, 2, 3]), '"id" IN (1, 2, 3)');
  assertEquals(conditionSql("id", []), "false");
  assertEquals(conditionSql("id", [1, null]), '("id" IN (1) OR "id" IS NULL)');
  assertEquals(conditionSql("id", [null]), '"id" IS NULL');
  assertEquals(conditionSql("n", { gte: 1, lte: 9 }), '"n" >= 1 AND "n" <= 9');
  assertEquals(conditionSql("n", { gt: 1, lt: 9 }), '"n" > 1 AND "n" < 9');
  assertEquals(conditionSql("n", { ne: 3 }), '"n" <> 3');
  assertEquals(conditionSql("n", { ne: null }), '"n" IS NOT NULL');
  assertEquals(conditionSql("n", { in: [1] }), '"n" IN (1)');
  assertEquals(conditionSql("n", { notIn: [1, 2] }), '"n" NOT IN (1, 2)');
  assertEquals(conditionSql("n", { notIn: [1, null] }), '"n" NOT IN (1) AND "n" IS NOT NULL');
  assertEquals(conditionSql("n", { notIn: [] }), "true");
  assertEquals(conditionSql("s", { like: "a%'" }), `"s" LIKE 'a%'''`);
  assertEquals(conditionSql("s", { isNull: true }), '"s" IS NULL');
  assertEquals(conditionSql("s", { isNull: false }), '"s" IS NOT NULL');
  assertEquals(
    conditionSql("d", new Date("2024-01-01T00:00:00Z")),
    `"d" = '2024-01-01T00:00:00.000Z'`,
  );
});

Deno.test("whereSql ANDs keys, wraps ORs and raw strings", () => {
  assertEquals(whereSql(undefined), undefined);
  assertEquals(whereSql({}), undefined);
  assertEquals(whereSql({ a: 1, b: [2, null] }), '"a" = 1 AND ("b" IN (2) OR "b" IS NULL)');
  assertEquals(whereSql("a = 1 OR b = 2"), "(a = 1 OR b = 2)");
  // A comment at the end must not swallow the closing parenthesis.
  assertEquals(whereSql("a = 1 -- recent only"), "(a = 1 -- recent only\n)");
});

Deno.test("selectExpression replaces every {column_name}", () => {
  assertEquals(
    selectExpression("Email", "md5({column_name}) || {column_name}"),
    'md5("Email") || "Email"',
  );
  assertEquals(selectExpression("x", "now()"), "now()");
  assertEquals(selectExpression("x", "'x' -- fixed"), "'x' -- fixed\n");
});

Deno.test("copyOutSql: ONLY for plain tables, casts for select, where, binary", () => {
  const columns = [{ name: "id", type: "bigint" }, { name: "email", type: "public.citext" }];
  assertEquals(
    copyOutSql({ schema: "s", table: "Order Items", partitioned: false, columns }),
    'COPY (SELECT "id", "email" FROM ONLY "s"."Order Items") TO STDOUT',
  );
  assertEquals(
    copyOutSql({
      schema: "s",
      table: "t",
      partitioned: true,
      columns,
      select: { email: "lower({column_name})" },
      where: { id: { gt: 5 } },
    }, "binary"),
    'COPY (SELECT "id", CAST((lower("email")) AS public.citext) AS "email" FROM "s"."t" WHERE "id" > 5) TO STDOUT (FORMAT binary)',
  );
});

Deno.test("copyInSql lists columns", () => {
  assertEquals(copyInSql("sh", "t", ["a", "B c"]), 'COPY "sh"."t" ("a", "B c") FROM STDIN');
  assertEquals(
    copyInSql("sh", "t", ["a"], "binary"),
    'COPY "sh"."t" ("a") FROM STDIN (FORMAT binary)',
  );
  assertEquals(
    copyInSql("sh", "t", ["a"], "text", true),
    'COPY "sh"."t" ("a") FROM STDIN (FREEZE)',
  );
});

Deno.test("copyOutSql: a range of pages is ANDed with the filter", () => {
  const columns = [{ name: "id", type: "bigint" }];
  assertEquals(
    copyOutSql({
      schema: "s",
      table: "t",
      partitioned: false,
      columns,
      where: "id > 1 OR id < -1",
      pages: { from: 10, to: 20 },
    }),
    `COPY (SELECT "id" FROM ONLY "s"."t" WHERE (id > 1 OR id < -1) AND ctid >= '(10,0)'::tid AND ctid < '(20,0)'::tid) TO STDOUT`,
  );
  assertEquals(pageRangeSql({ from: 5 }), "ctid >= '(5,0)'::tid");
  assertThrows(() => pageRangeSql({ from: -1 }), RangeError);
});

Deno.test("selectSql is the query copyOutSql wraps", () => {
  const input = {
    schema: "s",
    table: "t",
    partitioned: false,
    columns: [{ name: "a", type: "integer" }, { name: "b", type: "text" }],
    select: { b: "upper({column_name})" },
    where: { a: { gt: 1 } },
  };
  assertEquals(
    selectSql(input),
    'SELECT "a", CAST((upper("b")) AS text) AS "b" FROM ONLY "s"."t" WHERE "a" > 1',
  );
  assertEquals(copyOutSql(input, "binary"), `COPY (${selectSql(input)}) TO STDOUT (FORMAT binary)`);
});

Deno.test("settings for the transaction: set_config, a search_path of exact names, row security", () => {
  assertEquals(
    setLocalSql({ search_path: "", jit: "off" }),
    "SELECT set_config('search_path', '', true), set_config('jit', 'off', true)",
  );
  assertEquals(searchPath(["Acme", 'we"ird']), '"Acme", "we""ird"');
  assertEquals(
    setLocalSql({ search_path: searchPath(["O'Hara"]) }),
    `SELECT set_config('search_path', '"O''Hara"', true)`,
  );
  const bounded = boundLockWaitSql(30000);
  assertWellFormed(bounded, 0);
  assertStringIncludes(
    bounded,
    "set_config('lock_timeout', least(NULLIF(setting::int, 0), 30000)::text, true)",
  );
  assertThrows(() => boundLockWaitSql(0), TypeError);
  assertThrows(() => boundLockWaitSql(1.5), TypeError);
  assertEquals(rowSecuritySql(true), "SET LOCAL row_security = on");
  assertEquals(rowSecuritySql(false), "SET LOCAL row_security = off");
});
