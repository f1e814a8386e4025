import { assertEquals } from "./_assert.ts";
import { redact, redactEndpoint, redactUrl, rememberSecret } from "../lib/redact.ts";

Deno.test("redactUrl hides the password only", () => {
  assertEquals(
    redactUrl("postgres://app:s3cret@db:5432/app?sslmode=require"),
    "postgres://app:***@db:5432/app?sslmode=require",
  );
  assertEquals(redactUrl("postgres://app@db/app"), "postgres://app@db/app");
  assertEquals(
    redactUrl("a postgresql://u:p%40w@h/d and postgres://v:q@h/e"),
    "a postgresql://u:***@h/d and postgres://v:***@h/e",
  );
  assertEquals(
    redactUrl("see postgres://u@h/db?sslmode=disable&password=pw#x and ?password=q"),
    "see postgres://u@h/db?sslmode=disable&password=***#x and ?password=q",
  );
});

Deno.test("redact removes keyword passwords and remembered secrets", () => {
  assertEquals(redact("host=h password=hunter2 user=u"), "host=h password=*** user=u");
  rememberSecret("Tr0ub4dor&3");
  assertEquals(redact("error near Tr0ub4dor&3 and Tr0ub4dor%263"), "error near *** and ***");
});

Deno.test("redactEndpoint: a job's endpoint as it may be shown", () => {
  assertEquals(redactEndpoint({ url: "postgres://u:pw@h:5432/db", schema: "Acme" }), {
    database: "postgres://u:***@h:5432/db",
    schema: "Acme",
  });
});
