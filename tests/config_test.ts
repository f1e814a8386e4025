import { assertEquals, assertOk, assertStringIncludes, assertThrows } from "./_assert.ts";
import { matchingJobs, mergeSpecs, pathKey, selectJobs, validateJobs } from "../lib/config.ts";
import { ConfigError, UsageError } from "../lib/errors.ts";

const URL_A = "postgres://u:secret@localhost:5432/a";
const URL_B = "postgres://u@localhost:5433/b";
const endpoints = {
  source: { database: URL_A, schema: "public" },
  target: { database: URL_B, schema: "staging" },
};

function issues(value: unknown): string[] {
  const error = assertThrows(() => validateJobs(value), ConfigError) as ConfigError;
  return error.issues;
}

Deno.test("a valid jobs map is normalised in file order", () => {
  const jobs = validateJobs({
    "export:users": {
      ...endpoints,
      tables: { users: { where: { active: true } }, "*": { select: { email: "'x'" } } },
    },
    "mat:b": { ...endpoints, tables: { b: {} }, cascade: true, rowSecurity: true, orphans: "fail" },
  });
  assertEquals(jobs.map((j) => j.name), ["export:users", "mat:b"]);
  assertEquals([...jobs[0].tables.keys()], ["users"]);
  assertEquals(jobs[0].wildcard, { where: undefined, select: { email: "'x'" } });
  assertEquals(jobs[0].source, { url: URL_A, schema: "public" });
  assertEquals([jobs[1].cascade, jobs[1].rowSecurity, jobs[1].orphans], [true, true, "fail"]);
  assertEquals(jobs[0].orphans, "not-valid");
});

Deno.test("unknown operator names its path and what is allowed", () => {
  const [issue] = issues({
    "export:users": {
      ...endpoints,
      tables: { users: { where: { created_at: { gte3: "2024-01-01" } } } },
    },
  });
  assertEquals(
    issue,
    'jobs["export:users"].tables.users.where.created_at: unknown operator "gte3" (allowed: gte, lte, gt, lt, ne, in, notIn, like, isNull)',
  );
});

Deno.test("every fault is listed at once, with precise paths", () => {
  const found = issues({
    a: {
      source: { database: undefined, schema: "" },
      target: { database: "mysql://x", schema: "t" },
      tables: {},
    },
    b: {
      ...endpoints,
      tables: {
        "Order Items": { where: { n: NaN, f: () => 1, l: [1, Infinity] }, select: { x: 3 } },
      },
      extra: 1,
    },
    c: {
      ...endpoints,
      tables: { t: { whre: {} } },
      cascade: "yes",
      orphans: "drop",
      objects: "everything",
    },
    d: "not a job",
  });
  const expected = [
    'jobs["a"].source.database: required: a postgres:// URL (is its environment variable set?)',
    'jobs["a"].source.schema: required: a schema name, got ""',
    'jobs["a"].target.database: not a valid URL: it must start with postgres:// or postgresql://',
    'jobs["a"].tables: must name at least one table (or "*")',
    'jobs["b"].extra: unknown key (allowed: source, target, tables, cascade, rowSecurity, orphans, salt, pii, objects, subset)',
    'jobs["b"].tables["Order Items"].where.n: NaN is not a finite number',
    'jobs["b"].tables["Order Items"].where.f: a function is not a SQL value',
    'jobs["b"].tables["Order Items"].where.l[1]: Infinity is not a finite number',
    'jobs["b"].tables["Order Items"].select.x: must be a SQL expression string, a mask { mask: "email" } (masks: email, name, first_name, last_name, phone, digits, redact, hash, null, constant, date, number, ip) or { clear: true }, got number 3',
    'jobs["c"].tables.t.whre: unknown key (allowed: where, select, rows, keys)',
    'jobs["c"].cascade: must be true or false, got "yes"',
    'jobs["c"].orphans: must be "not-valid" or "fail", got "drop"',
    'jobs["c"].objects: must be "tables", "dependent", "all", got "everything"',
    'jobs["d"]: must be an object { source, target, tables }, got "not a job"',
  ];
  for (const e of expected) {
    assertOk(found.some((f) => f.startsWith(e)), `missing: ${e}\nin:\n${found.join("\n")}`);
  }
});

Deno.test("operator values are type-checked", () => {
  const found = issues({
    a: {
      ...endpoints,
      tables: {
        t: {
          where: {
            a: { in: 5 },
            b: { like: 1 },
            c: { isNull: "yes" },
            d: {},
            e: { ne: null, gt: null },
          },
        },
      },
    },
  });
  assertStringIncludes(found.join("\n"), "where.a.in: must be an array, got number 5");
  assertStringIncludes(found.join("\n"), "where.b.like: must be a string pattern");
  assertStringIncludes(found.join("\n"), "where.c.isNull: must be true or false");
  assertStringIncludes(found.join("\n"), "where.d: an empty operator object");
  assertStringIncludes(found.join("\n"), "where.e.gt: null is not a scalar value");
});

Deno.test("not an object, or no job at all", () => {
  assertEquals(issues([]), ['jobs: must be an object { "job name": job }, got an array']);
  assertEquals(issues({}), ["jobs: the module defines no job"]);
  assertStringIncludes(
    issues({ a: { ...endpoints, tables: { t: { where: "  " } } } })[0],
    "empty SQL string",
  );
});

Deno.test("pathKey dots identifiers and brackets the rest", () => {
  assertEquals(pathKey("users"), ".users");
  assertEquals(pathKey("Order Items"), '["Order Items"]');
  assertEquals(pathKey("9lives"), '["9lives"]');
});

Deno.test("mergeSpecs: wildcard keys apply only where the column exists, named keys win", () => {
  const wildcard = {
    where: { tenant_id: 7, deleted: false },
    select: { email: "'x'", phone: "null" },
  };
  assertEquals(mergeSpecs(wildcard, undefined, ["id", "tenant_id", "email"]), {
    where: { tenant_id: 7 },
    select: { email: "'x'" },
  });
  assertEquals(
    mergeSpecs(wildcard, { where: { tenant_id: 8 }, select: { email: "'y'" } }, [
      "tenant_id",
      "email",
    ]),
    {
      where: { tenant_id: 8 },
      select: { email: "'y'" },
    },
  );
  assertEquals(mergeSpecs(wildcard, undefined, ["id"]), { where: undefined, select: undefined });
  assertEquals(mergeSpecs({ where: "id > 1" }, undefined, ["id"]).where, "id > 1");
  assertEquals(mergeSpecs({ where: "id > 1" }, { where: { id: 2 } }, ["id"]).where, { id: 2 });
  assertEquals(mergeSpecs({ where: { id: 1 } }, { where: "true" }, ["id"]).where, "true");
});

Deno.test("a system schema is never a target: it would be dropped and replaced", () => {
  for (const schema of ["information_schema", "pg_catalog", "pg_temp"]) {
    assertEquals(
      issues({ a: { ...endpoints, target: { ...endpoints.target, schema }, tables: { t: {} } } }),
      [`jobs["a"].target.schema: "${schema}" is a system schema: choose one of your own`],
    );
  }
  // Reading from one is fine.
  const source = { ...endpoints.source, schema: "pg_catalog" };
  const [job] = validateJobs({ a: { ...endpoints, source, tables: { t: {} } } });
  assertEquals(job.source.schema, "pg_catalog");
});

Deno.test("select masks: path-precise faults, the masks listed; clear must be exactly { clear: true }", () => {
  const found = issues({
    x: {
      ...endpoints,
      tables: {
        users: {
          select: {
            email: { mask: "emial" },
            phone: { mask: "phone", keep: 2 },
            note: { clear: "yes" },
            bio: { redact: true },
          },
        },
      },
    },
  });
  assertEquals(found.length, 4);
  assertStringIncludes(
    found[0],
    'jobs["x"].tables.users.select.email.mask: unknown mask "emial"; masks: email, name, first_name',
  );
  assertStringIncludes(
    found[1],
    'jobs["x"].tables.users.select.phone.keep: mask "phone" has no option',
  );
  assertStringIncludes(
    found[2],
    'jobs["x"].tables.users.select.note: must be exactly { clear: true }',
  );
  assertStringIncludes(
    found[3],
    'jobs["x"].tables.users.select.bio: must be a SQL expression string, a mask',
  );
  const [job] = validateJobs({
    x: {
      ...endpoints,
      salt: "s",
      pii: "fail",
      tables: { users: { select: { email: { mask: "email" }, note: { clear: true } } } },
    },
  });
  assertEquals([job.salt, job.pii], ["s", "fail"]);
  assertEquals(validateJobs({ x: { ...endpoints, tables: { t: {} } } })[0].pii, "warn");
});

Deno.test("salt: an unset environment variable is named as such, and the value is never echoed", () => {
  assertStringIncludes(
    issues({ x: { ...endpoints, salt: undefined, tables: { t: {} } } })[0],
    'jobs["x"].salt: undefined: is its environment variable set?',
  );
  const [wrong] = issues({ x: { ...endpoints, salt: 123456789, tables: { t: {} } } });
  assertEquals(wrong, 'jobs["x"].salt: must be a non-empty string, got number');
  assertStringIncludes(
    issues({ x: { ...endpoints, pii: "strict", tables: { t: {} } } })[0],
    'must be "warn" or "fail"',
  );
});

Deno.test("each URL is parsed once, into the job's connections", () => {
  const [job] = validateJobs({ a: { ...endpoints, tables: { users: {} } } });
  assertEquals(job.connections.source.hosts, ["localhost"]);
  assertEquals(job.connections.source.password, "secret");
  assertEquals(job.connections.target.ports, [5433]);
  assertEquals(job.connections.target.database, "b");
});

Deno.test("job selection: a pattern's jobs in file order, every job without one, none refused", () => {
  const jobs = validateJobs({
    "export:users": { ...endpoints, tables: { users: {} } },
    "mat:users": { ...endpoints, tables: { users: {} } },
    "export:orders": { ...endpoints, tables: { orders: {} } },
  });
  const names = (list: { name: string }[]) => list.map((j) => j.name);
  assertEquals(names(matchingJobs(jobs, "export:*")), ["export:users", "export:orders"]);
  assertEquals(names(matchingJobs(jobs)), ["export:users", "mat:users", "export:orders"]);
  assertEquals(names(selectJobs(jobs, "*:users")), ["export:users", "mat:users"]);
  const error = assertThrows(() => selectJobs(jobs, "nothing:*", "jobs.ts"), UsageError);
  assertEquals(
    error.message,
    'no job matches "nothing:*"; the jobs in jobs.ts are:\n  export:users\n  mat:users\n  export:orders',
  );
});

Deno.test("a missing schema is said to be missing", () => {
  const found = issues({ a: { ...endpoints, source: { database: URL_A }, tables: { "*": {} } } });
  // It said "got undefined undefined".
  assertEquals(found.some((i) => i.includes("undefined")), false, found.join("\n"));
  assertStringIncludes(found.join("\n"), 'jobs["a"].source.schema: required: a schema name');
  const where = issues({
    a: { ...endpoints, tables: { t: { where: { id: { in: undefined } } } } },
  });
  assertStringIncludes(where.join("\n"), "must be an array, got nothing (it is missing)");
});
