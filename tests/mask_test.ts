import { assertEquals, assertNotIncludes, assertOk, assertStringIncludes } from "./_assert.ts";
import {
  isClear,
  isMask,
  type MaskColumn,
  maskColumnProblem,
  maskProblems,
  MASKS,
  maskSql,
} from "../lib/mask.ts";
import { FIRST_NAMES, LAST_NAMES } from "../lib/_mask_names.ts";
import { copyOutSql } from "../lib/sql.ts";
import type { Mask } from "../lib/types.ts";

function column(name: string, extra: Partial<MaskColumn> = {}): MaskColumn {
  return { name, type: "text", category: "S", baseType: "text", notNull: false, ...extra };
}

Deno.test("maskProblems: an unknown mask lists the masks; options are checked one by one", () => {
  assertEquals(maskProblems({ mask: "emial" }), [{
    key: "mask",
    message: `unknown mask "emial"; masks: ${MASKS.join(", ")}`,
  }]);
  assertEquals(maskProblems({ mask: "email", kepDomain: true }), [{
    key: "kepDomain",
    message: 'mask "email" has no option "kepDomain" (options: keepDomain, domain)',
  }]);
  assertEquals(
    maskProblems({ mask: "name", length: 3 })[0].message,
    'mask "name" has no option "length" (it takes none)',
  );
  const keys = (value: Record<string, unknown>) => maskProblems(value).map((p) => p.key);
  assertEquals(keys({ mask: "email", domain: "bad domain" }), ["domain"]);
  assertEquals(keys({ mask: "email", domain: "example.net", keepDomain: true }), ["domain"]);
  assertEquals(keys({ mask: "email", keepDomain: "yes" }), ["keepDomain"]);
  assertEquals(keys({ mask: "hash", length: 8 }), ["length"]);
  assertEquals(keys({ mask: "hash", length: 65 }), ["length"]);
  assertEquals(keys({ mask: "constant" }), ["value"]);
  assertEquals(keys({ mask: "constant", value: NaN }), ["value"]);
  assertEquals(keys({ mask: "date", days: 0 }), ["days"]);
  assertEquals(keys({ mask: "date", days: 1.5, by: "" }), ["days", "by"]);
  assertEquals(keys({ mask: "number", noise: 0 }), ["noise"]);
  assertEquals(keys({ mask: "number", noise: 2 }), ["noise"]);
  for (
    const ok of [
      { mask: "email", domain: "mail.example.net" },
      { mask: "email", keepDomain: true },
      { mask: "hash", length: 64 },
      { mask: "constant", value: 0 },
      { mask: "date", days: 365, by: "id" },
      { mask: "number", noise: 1 },
      ...MASKS.filter((m) => m !== "constant").map((mask) => ({ mask })),
    ]
  ) assertEquals(maskProblems(ok), [], JSON.stringify(ok));
});

Deno.test("isMask and isClear tell the select entries apart", () => {
  assertOk(isMask({ mask: "email" }) && !isMask("x") && !isMask({ clear: true }));
  assertOk(isClear({ clear: true }) && !isClear({ clear: false }) && !isClear("clear"));
});

Deno.test("maskColumnProblem: the column's type, NOT NULL and `by` are checked", () => {
  const int = column("n", { type: "integer", category: "N", baseType: "integer" });
  const columns = ["email", "n", "at"];
  assertEquals(
    maskColumnProblem({ mask: "email" }, int, columns),
    'mask "email" needs a text column (text, varchar, char, citext or a domain over one); "n" is integer',
  );
  assertEquals(
    maskColumnProblem({ mask: "date" }, column("email"), columns),
    'mask "date" needs a date or timestamp column; "email" is text',
  );
  const time = column("t", {
    type: "time without time zone",
    category: "D",
    baseType: "time without time zone",
  });
  assertOk(maskColumnProblem({ mask: "date" }, time, columns));
  const stamp = column("at", {
    type: "timestamp with time zone",
    category: "D",
    baseType: "timestamp with time zone",
  });
  assertEquals(maskColumnProblem({ mask: "date" }, stamp, columns), undefined);
  assertStringIncludes(
    maskColumnProblem({ mask: "date", by: "idd" }, stamp, columns)!,
    'mask "date" by "idd": no such column (columns: email, n, at)',
  );
  assertStringIncludes(
    maskColumnProblem({ mask: "null" }, column("e", { notNull: true }), [])!,
    "NOT NULL",
  );
  assertEquals(maskColumnProblem({ mask: "null" }, int, []), undefined);
  assertEquals(maskColumnProblem({ mask: "number" }, int, []), undefined);
  const money = column("m", { type: "money", category: "N", baseType: "money" });
  assertOk(maskColumnProblem({ mask: "number" }, money, []));
  assertOk(maskColumnProblem({ mask: "ip" }, int, []));
  const inet = column("ip", { type: "inet", category: "I", baseType: "inet" });
  assertEquals(maskColumnProblem({ mask: "ip" }, inet, []), undefined);
  // A domain over text is text; citext is in the string category.
  const domain = column("e", { type: "app.email", category: "S", baseType: "public.citext" });
  assertEquals(maskColumnProblem({ mask: "email" }, domain, []), undefined);
  assertEquals(maskColumnProblem({ mask: "constant", value: 1 }, int, []), undefined);
});

Deno.test("maskSql: keyed by the session setting, never by a literal key; options appear", () => {
  const masks: Mask[] = [
    { mask: "email" },
    { mask: "name" },
    { mask: "first_name" },
    { mask: "last_name" },
    { mask: "phone" },
    { mask: "digits" },
    { mask: "hash", length: 40 },
  ];
  for (const mask of masks) {
    const sql = maskSql(mask, column('Weird "col"'));
    assertStringIncludes(sql, "current_setting('pg_xmat.mask_key')");
    assertStringIncludes(sql, `"Weird ""col"""`);
    assertStringIncludes(sql, 'CASE WHEN ("Weird ""col""")::text = \'\' THEN \'\'', "keeps empty");
  }
  assertStringIncludes(maskSql({ mask: "hash", length: 40 }, column("h")), "'hex'), 40)");
  assertStringIncludes(
    maskSql({ mask: "email", domain: "test.example" }, column("e")),
    "'@' || 'test.example'",
  );
  assertEquals(maskSql({ mask: "null" }, column("e")), "NULL");
  assertEquals(
    maskSql({ mask: "constant", value: "O'Brien" }, column("e")),
    `CASE WHEN "e" IS NULL THEN NULL ELSE 'O''Brien' END`,
  );
  assertEquals(
    maskSql({ mask: "redact" }, column("e")),
    `regexp_replace(("e")::text, '[^[:space:][:punct:]]', 'x', 'g')`,
  );
  const stamp = column("at", {
    type: "timestamp with time zone",
    category: "D",
    baseType: "timestamp with time zone",
  });
  assertStringIncludes(maskSql({ mask: "date" }, stamp), `("at" AT TIME ZONE 'UTC')::text`);
  assertStringIncludes(maskSql({ mask: "date", days: 7, by: "id" }, stamp), `("id")::text`);
  assertStringIncludes(maskSql({ mask: "date", days: 7 }, stamp), "% 14 - 7");
  // citext compares lower-cased: so are its values before they are hashed.
  const citext = column("e", { type: "app.email", baseType: "public.citext" });
  assertStringIncludes(
    maskSql({ mask: "email" }, citext),
    `convert_to('email:' || lower(("e")::text)`,
  );
  assertNotIncludes(maskSql({ mask: "email" }, column("e")), "lower(");
  const cidr = column("n", { type: "cidr", category: "I", baseType: "cidr" });
  assertOk(maskSql({ mask: "ip" }, cidr).startsWith("cidr(set_masklen("));
});

Deno.test("the name lists are plain ASCII words, without duplicates, safe in an array literal", () => {
  for (const list of [FIRST_NAMES, LAST_NAMES]) {
    assertOk(list.length >= 100, `${list.length} names`);
    assertEquals(new Set(list).size, list.length);
    for (const name of list) assertOk(/^[A-Z][a-z]+$/.test(name), name);
  }
});

Deno.test("copyOutSql uses a compiled mask as it is: no {column_name} substitution in it", () => {
  const mask = maskSql({ mask: "constant", value: "{column_name}" }, column("note"));
  const sql = copyOutSql({
    schema: "s",
    table: "t",
    partitioned: false,
    columns: [{ name: "id", type: "integer" }, { name: "note", type: "text" }],
    select: { id: "{column_name} + 1" },
    masks: { note: mask },
  });
  assertEquals(
    sql,
    `COPY (SELECT CAST(("id" + 1) AS integer) AS "id", CAST((CASE WHEN "note" IS NULL THEN NULL ELSE '{column_name}' END) AS text) AS "note" FROM ONLY "s"."t") TO STDOUT`,
  );
  assertNotIncludes(sql, `'"note"'`);
});
