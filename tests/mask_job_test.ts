/**
 * Masks on two real servers: every mask on values, NULLs, empty strings and unicode, the same
 * value masked alike in two tables, UNIQUE indexes on masked columns, runs repeated with the
 * same and another salt, the SQL's HMAC against JavaScript's, the salt absent from every output
 * and from the source's `pg_stat_activity`, and the personal-data guard.
 */

import { createHmac } from "node:crypto";
import { createHash } from "node:crypto";
import {
  assertEquals,
  assertNotIncludes,
  assertOk,
  assertRejects,
  assertStringIncludes,
} from "./_assert.ts";
import { exec, inDir, type Pair, runCli, tableText, withSource } from "./_servers.ts";
import { planJob, runJob } from "../lib/run.ts";
import { ConfigError } from "../lib/errors.ts";
import { maskKey } from "../lib/mask_key.ts";
import { FIRST_NAMES, LAST_NAMES } from "../lib/_mask_names.ts";
import type { Job } from "../lib/types.ts";

const PEOPLE = String.raw`
CREATE SCHEMA app;
CREATE TABLE app.people (
  id int PRIMARY KEY,
  email text UNIQUE,
  work_email varchar(200),
  first_name text,
  last_name text,
  full_name text,
  phone text,
  card char(19),
  bio text,
  ref text UNIQUE,
  password text,
  ip inet,
  net cidr,
  ip_text text,
  born date,
  created_at timestamptz,
  updated_at timestamptz,
  score numeric(10,2),
  visits integer,
  rating float8,
  city text,
  note text NOT NULL DEFAULT ''
);
CREATE TABLE app.signups (
  id int PRIMARY KEY,
  email text NOT NULL,
  person_id int REFERENCES app.people
);
INSERT INTO app.people VALUES
  (1, 'alice@example.org', 'Alice@Work.example', 'Alicia', 'Jones', 'Alicia Jones',
   '+33 6 12 34 56 78', '4111 1111 1111 1111', 'Likes cats. Call 555-0100!', 'REF-1', 'hunter2',
   '192.168.1.10/24', '10.0.0.0/8', '10.1.2.3', '1990-05-17', '2024-01-01 10:00+00',
   '2024-01-02 11:30+00', 12.34, 100, 3.5, 'Paris', 'kept'),
  (2, 'ALICE@example.org', '', '', '', '', '', '', '', '', '', 'fe80::1', '2001:db8::/32', '::1',
   '2000-02-29', '2023-06-30 23:59:59.5+00', '2023-07-01 00:00+00', 0, -5, 0, '', ''),
  (3, 'zoë@例え.jp', 'zoë@例え.jp', 'Zoë', 'Ørsted', 'Zoë Ørsted', '(555) 010-9999', NULL,
   'Ünïcödé — text, tabs	and
newlines', 'REF-3', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'z'),
  (4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
   NULL, NULL, NULL, NULL, NULL, '');
INSERT INTO app.people (id, email, first_name, phone, ref, created_at, updated_at, score, visits)
SELECT i, 'user' || i || '@example.org', 'Alicia', '06 ' || lpad(i::text, 8, '0'), 'R' || i,
       timestamptz '2024-03-01' + i * interval '1 hour', timestamptz '2024-03-02' + i * interval '1 hour',
       i / 7.0, i
  FROM generate_series(10, 1009) i;
INSERT INTO app.signups VALUES
  (1, 'alice@example.org', 1), (2, 'zoë@例え.jp', 3), (3, 'user10@example.org', 10),
  (4, '', NULL), (5, 'nobody@example.net', NULL);
`;

/** Every mask, each on a column it fits. */
const PEOPLE_MASKS = {
  email: { mask: "email" },
  work_email: { mask: "email", keepDomain: true },
  first_name: { mask: "first_name" },
  last_name: { mask: "last_name" },
  full_name: { mask: "name" },
  phone: { mask: "phone" },
  card: { mask: "digits" },
  bio: { mask: "redact" },
  ref: { mask: "hash" },
  password: { mask: "null" },
  ip: { mask: "ip" },
  net: { mask: "ip" },
  ip_text: { mask: "ip" },
  born: { mask: "date", days: 15 },
  created_at: { mask: "date", by: "id" },
  updated_at: { mask: "date", by: "id" },
  score: { mask: "number" },
  visits: { mask: "number", noise: 0.5 },
  rating: { mask: "number" },
  city: { mask: "constant", value: "Springfield" },
  note: { clear: true },
} as const;

function maskJob(pair: Pair, target: string, salt?: string): Job {
  return {
    source: { database: pair.sourceUrl, schema: "app" },
    target: { database: pair.targetUrl, schema: target },
    tables: {
      people: { select: PEOPLE_MASKS },
      signups: { select: { email: { mask: "email" } } },
    },
    ...(salt === undefined ? {} : { salt }),
  };
}

type Row = Record<string, unknown>;

/** A table's rows by id; people's columns in forms easy to compare. */
async function rows(sql: Pair["source"], schema: string, table: string): Promise<Map<number, Row>> {
  const people = `*, ip::text AS ip, net::text AS net, born::text AS born,
    extract(epoch FROM created_at)::float8 AS created_at,
    extract(epoch FROM updated_at)::float8 AS updated_at,
    score::float8 AS score, rating::float8 AS rating`;
  const result = await sql.unsafe(
    `SELECT ${table === "people" ? people : "*"} FROM "${schema}"."${table}"`,
  );
  return new Map(result.map((r) => [Number(r.id), r as Row]));
}

/** Columns masked so that no source value may be found on the target (in any row). */
const NEVER_KEPT = ["email", "work_email", "phone", "card", "bio", "ref", "ip", "ip_text", "born"];

Deno.test("every mask: values, NULL, empty, unicode; consistent across tables; unique kept; nothing kept", async () => {
  await withSource("masks_all", PEOPLE, async (pair) => {
    const report = await runJob(maskJob(pair, "anon", "salt-one"), { name: "anon" });
    assertOk(!report.warnings.some((w) => /salt/.test(w)), "a salt was given");
    const src = await rows(pair.source, "app", "people");
    const dst = await rows(pair.target, "anon", "people");
    assertEquals(dst.size, src.size);
    const hex = (n: number) => new RegExp(`^[0-9a-f]{${n}}$`);

    for (const [id, s] of src) {
      const d = dst.get(id)!;
      const at = `row ${id}`;
      // NULL stays NULL, an empty string stays empty (the constant excepted).
      for (const [column, entry] of Object.entries(PEOPLE_MASKS)) {
        if (column === "password" || "clear" in entry || entry.mask === "constant") continue;
        if (s[column] === null) assertEquals(d[column], null, `${at} ${column}: NULL`);
        if (s[column] === "") assertEquals(d[column], "", `${at} ${column}: empty`);
      }
      assertEquals(d.password, null, `${at} password`);
      assertEquals(d.note, s.note, `${at} note is clear`);
      assertEquals(d.city, s.city === null ? null : "Springfield", `${at} city`);
      if (s.email) {
        assertOk(/^[0-9a-f]{24}@example\.com$/.test(String(d.email)), `${at} ${d.email}`);
      }
      if (s.ref) assertOk(hex(32).test(String(d.ref)), `${at} ref ${d.ref}`);
      if (s.first_name) {
        assertOk(FIRST_NAMES.includes(String(d.first_name)), `${at} ${d.first_name}`);
        assertOk(d.first_name !== s.first_name, `${at} first_name changed`);
      }
      if (s.last_name) assertOk(LAST_NAMES.includes(String(d.last_name)), `${at} ${d.last_name}`);
      if (s.full_name) {
        const [first, last] = String(d.full_name).split(" ");
        assertOk(FIRST_NAMES.includes(first) && LAST_NAMES.includes(last), `${at} ${d.full_name}`);
      }
      for (const column of ["phone", "card"]) {
        const a = String(s[column] ?? ""), b = String(d[column] ?? "");
        assertEquals(b.replace(/[0-9]/g, "9"), a.replace(/[0-9]/g, "9"), `${at} ${column} format`);
      }
      if (s.bio !== null) {
        // Everything but spaces and ASCII punctuation (the source's C locale) becomes x.
        const redacted = String(s.bio).replace(/[^\s!-/:-@[-`{-~]/gu, "x");
        assertEquals(d.bio, redacted, `${at} bio`);
      }
      if (s.born !== null) {
        const days = (Date.parse(String(d.born)) - Date.parse(String(s.born))) / 86_400_000;
        assertOk(days !== 0 && Math.abs(days) <= 15, `${at} born moved ${days} days`);
      }
      if (s.created_at !== null) {
        const moved = Number(d.created_at) - Number(s.created_at);
        assertEquals(Number(d.updated_at) - Number(s.updated_at), moved, `${at}: moved together`);
        assertOk(moved !== 0 && Math.abs(moved) <= 30 * 86_400, `${at} moved ${moved} s`);
      }
      for (const [column, noise] of [["score", 0.1], ["visits", 0.5], ["rating", 0.1]] as const) {
        if (s[column] === null) continue;
        const a = Number(s[column]), b = Number(d[column]);
        assertOk(Math.abs(b - a) <= Math.abs(a) * noise + 0.5, `${at} ${column} ${a} → ${b}`);
      }
    }
    // Unicode, the domain kept, addresses of the same family and prefix length.
    assertOk(/^[0-9a-f]{24}@Work\.example$/.test(String(dst.get(1)!.work_email)));
    assertOk(/^[0-9a-f]{24}@例え\.jp$/.test(String(dst.get(3)!.work_email)));
    assertOk(/^(\d+\.){3}\d+\/24$/.test(String(dst.get(1)!.ip)), String(dst.get(1)!.ip));
    assertOk(/^2001:db8:[0-9a-f:]+\/128$/.test(String(dst.get(2)!.ip)), String(dst.get(2)!.ip));
    assertOk(/^(\d+\.)0\.0\.0\/8$/.test(String(dst.get(1)!.net)), String(dst.get(1)!.net));
    assertOk(/^(\d+\.){3}\d+$/.test(String(dst.get(1)!.ip_text)), String(dst.get(1)!.ip_text));
    assertOk(
      /^2001:db8:[0-9a-f:]+$/.test(String(dst.get(2)!.ip_text)),
      String(dst.get(2)!.ip_text),
    );
    // The same value, the same mask: one output, in the column and in another table.
    const alicias = new Set(
      [...dst.values()].filter((r) => Number(r.id) >= 10).map((r) => r.first_name),
    );
    assertEquals(alicias.size, 1);
    const signups = await rows(pair.target, "anon", "signups");
    assertEquals(signups.get(1)!.email, dst.get(1)!.email);
    assertEquals(signups.get(2)!.email, dst.get(3)!.email);
    assertEquals(signups.get(3)!.email, dst.get(10)!.email);
    assertEquals(signups.get(4)!.email, "");
    // UNIQUE on masked columns: the indexes were built, and still hold distinct values.
    const [u] = await pair.target.unsafe(
      `SELECT count(DISTINCT email)::int AS emails, count(email)::int AS all_emails,
              count(DISTINCT ref)::int AS refs, count(ref)::int AS all_refs,
              (SELECT count(*)::int FROM pg_indexes WHERE schemaname = 'anon' AND indexdef LIKE 'CREATE UNIQUE%') AS uniques
         FROM anon.people`,
    );
    assertEquals(u.emails, u.all_emails);
    assertEquals(u.refs, u.all_refs);
    assertEquals(u.uniques, 4);
    // No source value of a masked column is anywhere in that column of the target.
    for (const column of NEVER_KEPT) {
      const before = new Set(
        [...src.values()].map((r) => r[column]).filter((v) => String(v ?? "").trim()),
      );
      const kept = [...dst.values()].filter((r) => before.has(r[column]));
      assertEquals(kept.map((r) => r[column]), [], `${column} kept source values`);
    }
  });
});

Deno.test("masks: the same salt gives the same target, another salt other values; the SQL is HMAC-SHA-256", async () => {
  await withSource("masks_salt", PEOPLE, async (pair) => {
    await runJob(maskJob(pair, "one", "salt-one"), { name: "one" });
    await runJob(maskJob(pair, "two", "salt-one"), { name: "two" });
    await runJob(maskJob(pair, "three", "salt-three"), { name: "three" });
    for (const table of ["people", "signups"]) {
      assertEquals(
        await tableText(pair.target, "two", table),
        await tableText(pair.target, "one", table),
        `${table}: same salt`,
      );
    }
    const [diff] = await pair.target.unsafe(
      `SELECT count(*)::int AS same FROM one.people a JOIN three.people b USING (id)
        WHERE (a.email = b.email OR a.ref = b.ref OR a.phone = b.phone) AND a.email <> ''
          AND a.ref <> '' AND a.phone <> ''`,
    );
    const [{ n }] = await pair.target.unsafe(
      `SELECT count(*)::int AS n FROM one.people WHERE email <> '' OR ref <> '' OR phone <> ''`,
    );
    assertOk(n > 1000);
    assertEquals(diff.same, 0, "another salt: other values");
    // The hash mask is hex of HMAC-SHA-256("hash:" + value) under SHA-256 of the salt.
    const key = createHash("sha256").update("pg-xmat mask key\0salt-one").digest();
    const expected = createHmac("sha256", key).update("hash:REF-1").digest("hex").slice(0, 32);
    const [{ ref }] = await pair.target.unsafe(`SELECT ref FROM one.people WHERE id = 1`);
    assertEquals(ref, expected);
  });
});

Deno.test("masks: with no salt a random one, said in the report; runs differ", async () => {
  await withSource("masks_random", PEOPLE, async (pair) => {
    const job = maskJob(pair, "r1");
    const first = await runJob(job, { name: "r1" });
    await runJob(maskJob(pair, "r2"), { name: "r2" });
    assertOk(first.warnings.some((w) => w.includes("random salt")), first.warnings.join("\n"));
    const [{ same }] = await pair.target.unsafe(
      `SELECT count(*)::int AS same FROM r1.people a JOIN r2.people b USING (id)
        WHERE a.email = b.email`,
    );
    assertEquals(same, 0);
  });
});

/** A jobs file whose salt comes from the environment, as a user writes it. */
function jobsFile(pair: Pair, extra = ""): string {
  return `export const JOBS = {
  "anon": {
    source: { database: ${JSON.stringify(pair.sourceUrl)}, schema: "app" },
    target: { database: ${JSON.stringify(pair.targetUrl)}, schema: "anon" },
    salt: Deno.env.get("MY_MASK_SALT"),
    tables: {
      people: { select: ${JSON.stringify(PEOPLE_MASKS)} },
      signups: { select: { email: { mask: "email" } } },
      slow: { select: { v: "(SELECT {column_name} FROM pg_sleep(0.4))" } },
    },${extra}
  },
};
`;
}

Deno.test("masks: the salt and its key are in no output and never in the source's pg_stat_activity", async () => {
  const salt = "pepper-7f3c9a1e-secret";
  const key = maskKey(salt);
  const secrets = [salt, key, key.slice(0, 64), key.slice(128, 192)];
  await withSource("masks_secret", PEOPLE, async (pair) => {
    // A table whose copy takes a while, so the poll sees the copy statements.
    await exec(pair.source, `CREATE TABLE app.slow (v int); INSERT INTO app.slow VALUES (1), (2);`);
    await inDir({ "pg_xmat_jobs.ts": jobsFile(pair) }, async (dir) => {
      const env = { MY_MASK_SALT: salt };
      const seen = new Set<string>();
      let running = true;
      const poll = (async () => {
        for (let i = 0; running && i < 3000; i++) {
          const activity = await pair.source.unsafe(
            `SELECT query FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
          );
          for (const a of activity) seen.add(String(a.query));
          await new Promise((r) => setTimeout(r, 10));
        }
      })();
      const outputs = [];
      try {
        outputs.push(await runCli(["anon", "--verbose", "--jobs", "1"], { cwd: dir, env }));
      } finally {
        running = false;
        await poll;
      }
      assertEquals(outputs[0].code, 0, outputs[0].stderr);
      assertOk(
        [...seen].some((q) => q.startsWith("COPY") && q.includes("pg_xmat.mask_key")),
        `the poll saw the masked copy: ${[...seen].join("\n")}`,
      );
      outputs.push(await runCli(["anon", "--json"], { cwd: dir, env }));
      outputs.push(await runCli(["anon", "--dry-run", "--verbose"], { cwd: dir, env }));
      outputs.push(await runCli(["anon", "--dry-run", "--json"], { cwd: dir, env }));
      outputs.push(await runCli(["--list", "--json"], { cwd: dir, env }));
      // A run that fails in a mask (not an address) with --verbose prints the error's stack.
      await exec(pair.source, `UPDATE app.people SET ip_text = 'not an address' WHERE id = 4`);
      const failed = await runCli(["anon", "--verbose"], { cwd: dir, env });
      assertOk(failed.code !== 0, "the run fails");
      outputs.push(failed);
      for (const [i, o] of outputs.entries()) {
        for (const secret of secrets) {
          assertNotIncludes(o.stdout + o.stderr, secret, `output ${i} holds the salt or key`);
        }
      }
      for (const query of seen) {
        for (const secret of secrets) assertNotIncludes(query, secret, "pg_stat_activity");
      }
    });
  });
});

Deno.test("personal-data guard: an unmasked email is listed, and fails the plan when pii is fail", async () => {
  await withSource("masks_guard", PEOPLE, async (pair) => {
    const job: Job = {
      source: { database: pair.sourceUrl, schema: "app" },
      target: { database: pair.targetUrl, schema: "anon" },
      tables: { signups: {} },
    };
    const listed = 'table "signups": copied in clear, and looks like personal data: email (email)';
    await inDir(
      { "pg_xmat_jobs.ts": `export const JOBS = ${JSON.stringify({ anon: job })};` },
      async (dir) => {
        const dryRun = await runCli(["anon", "--dry-run"], { cwd: dir });
        assertEquals(dryRun.code, 0, dryRun.stderr);
        assertStringIncludes(dryRun.stdout, listed);
      },
    );
    assertStringIncludes((await runJob(job, { name: "anon" })).warnings.join("\n"), listed);

    const error = await assertRejects(
      () => planJob({ ...job, pii: "fail" }, { name: "anon" }),
      ConfigError,
    );
    assertEquals((error as ConfigError).issues, [
      'jobs["anon"].tables.signups.select.email: copied in clear, and looks like personal data ' +
      '(email); mask it ({ mask: … }) or mark it { clear: true } (pii: "fail")',
    ]);
    const clear = await planJob(
      { ...job, pii: "fail", tables: { signups: { select: { email: { clear: true } } } } },
      { name: "anon" },
    );
    assertEquals(clear.warnings.filter((w) => w.includes("personal data")), []);
  });
});
