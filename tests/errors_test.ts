/**
 * Errors and their translation into the one message a user reads: the place (job, step, table,
 * side), the server's text with a hint, "interrupted" after an abort, passwords redacted.
 */

import { assertEquals, assertOk, assertStringIncludes } from "./_assert.ts";
import {
  ConfigError,
  ConnectError,
  connectionHint,
  CopyFailed,
  DependentsError,
  describeError,
  JobError,
  jobError,
  SwapError,
  ToolFailed,
} from "../lib/errors.ts";

const serverError = (message: string, fields: Record<string, string> = {}) =>
  Object.assign(new Error(message), fields);

Deno.test("jobError places a failure: job, table, step, and the side the error knows", () => {
  const copy = jobError(
    { job: "a", step: "copy", table: "t" },
    new CopyFailed(
      "target",
      serverError("value too long for type character varying(3)", {
        code: "22001",
        where: 'COPY t, line 2, column c: "abcd"',
      }),
    ),
    false,
  );
  assertOk(copy instanceof JobError);
  assertEquals(
    copy.message,
    'job "a", table "t", step copy (target): value too long for type character varying(3)\n' +
      'CONTEXT: COPY t, line 2, column c: "abcd"',
  );
  assertEquals(copy.place.side, "target");
  const swap = jobError({ job: "a", step: "swap" }, new SwapError("could not lock"), false);
  assertEquals(swap.message, 'job "a", step swap (target): could not lock');
  const dependents = jobError(
    { job: "a", step: "plan" },
    new DependentsError("t", ["view other.v (depends on table t.x)"]),
    false,
  );
  assertStringIncludes(dependents.message, 'job "a", step plan (target): objects outside');
  // A side given by the place wins over the error's.
  const given = jobError(
    { job: "a", step: "plan", side: "source" },
    new ConnectError("target", "postgres://u:pw@h/db", serverError("x", { code: "ECONNREFUSED" })),
    false,
  );
  assertEquals((given as JobError).place.side, "source");
});

Deno.test("jobError: an XmatError stays as it is; an abort says interrupted", () => {
  const config = new ConfigError(["jobs: the module defines no job"]);
  assertEquals(jobError({ job: "a", step: "plan" }, config, false), config);
  const interrupted = jobError(
    { job: "a", step: "copy", table: "t" },
    serverError("canceling statement due to user request", { code: "57014" }),
    true,
  );
  assertEquals(
    interrupted.message,
    // No table or side is to blame for an interruption: the JSON report then says "interrupted".
    'job "a", step copy: interrupted; the target was left as it was',
  );
});

Deno.test("jobError adds a hint where the server gives none", () => {
  const denied = jobError(
    { job: "a", step: "plan", table: "t" },
    serverError("permission denied for table t", { code: "42501" }),
    false,
  );
  assertStringIncludes(denied.message, "\nHINT: grant the role the privilege named above");
  const rls = jobError(
    { job: "a", step: "plan" },
    serverError('query would be affected by row-level security policy for table "t"', {
      code: "42501",
    }),
    false,
  );
  assertStringIncludes(rls.message, "set `rowSecurity: true`");
  const hinted = jobError(
    { job: "a", step: "plan" },
    serverError("permission denied", { code: "42501", hint: "ask the owner" }),
    false,
  );
  assertEquals(hinted.message, 'job "a", step plan: permission denied\nHINT: ask the owner');
});

Deno.test("describeError: a closed connection in words; passwords redacted everywhere", () => {
  assertEquals(
    describeError(serverError("write CONNECTION_CLOSED db:5432", { code: "CONNECTION_CLOSED" })),
    "the connection to db:5432 closed unexpectedly: the session was terminated, or the server " +
      "stopped or restarted",
  );
  // A session terminated while its COPY streams rows in: the socket is reset.
  assertEquals(
    describeError(serverError("read ECONNRESET", { code: "ECONNRESET" })),
    "the connection closed unexpectedly: the session was terminated, or the server stopped or " +
      "restarted",
  );
  const tool = new ToolFailed("pg_dump", 1, "connection to postgres://u:s3cr3t@h/db failed");
  assertEquals(describeError(tool), "pg_dump failed: connection to postgres://u:***@h/db failed");
  const connect = new ConnectError(
    "source",
    "postgres://u:s3cr3t@h:1/db",
    serverError("connect ECONNREFUSED", { code: "ECONNREFUSED" }),
  );
  assertStringIncludes(connect.message, "cannot connect to the source postgres://u:***@h:1/db");
  assertEquals(connect.side, "source");
});

Deno.test("connectionHint says what to check for each kind of failure", () => {
  const hint = (fields: Record<string, string>, message = "x") =>
    connectionHint(serverError(message, fields));
  assertStringIncludes(hint({ code: "ECONNREFUSED" }), "is the server running");
  assertStringIncludes(hint({ code: "ENOTFOUND" }), "does not resolve");
  assertStringIncludes(hint({ code: "28P01" }), "user name and password");
  assertStringIncludes(hint({ code: "3D000" }), "database does not exist");
  assertStringIncludes(hint({ code: "CONNECT_TIMEOUT" }), "did not answer in time");
  assertStringIncludes(hint({}, "The server does not support SSL connections"), "TLS failed");
  assertEquals(hint({}), "check the URL.");
});
