import { assertEquals, assertStringIncludes } from "./_assert.ts";
import {
  clearPersonalColumns,
  nameWords,
  personalDataIssues,
  personalDataKind,
  personalDataWarnings,
} from "../lib/pii.ts";

Deno.test("nameWords splits camelCase, digits and separators", () => {
  assertEquals(nameWords("billingAddress2"), "billing_address_2");
  assertEquals(nameWords("E-Mail"), "e_mail");
  assertEquals(nameWords("  Date of Birth "), "date_of_birth");
});

Deno.test("personalDataKind: whole words of the name, whole names, and types", () => {
  const kind = (name: string, type = "text") => personalDataKind({ name, type });
  assertEquals(kind("email"), "email");
  assertEquals(kind("customerEmail"), "email");
  assertEquals(kind("emailed_at", "timestamp with time zone"), undefined);
  assertEquals(kind("mobile_phone"), "phone");
  assertEquals(kind("name"), "name");
  assertEquals(kind("product_name"), undefined);
  assertEquals(kind("LastName"), "name");
  assertEquals(kind("billing_address_line_1"), "address");
  assertEquals(kind("date_of_birth", "date"), "birth date");
  assertEquals(kind("dob", "date"), "birth date");
  assertEquals(kind("ssn"), "national id");
  assertEquals(kind("last_seen_from", "inet"), "network address");
  assertEquals(kind("client_ip"), "network address");
  assertEquals(kind("card_number"), "card or account");
  assertEquals(kind("password_hash"), "secret");
  assertEquals(kind("reset_token"), "secret");
  assertEquals(kind("latitude", "double precision"), "location");
  assertEquals(kind("description"), undefined);
  assertEquals(kind("ship_to"), undefined);
});

Deno.test("clearPersonalColumns: a SQL expression, a mask or { clear: true } take a column out", () => {
  const columns = ["id", "email", "phone", "full_name", "ip"].map((name) => ({
    name,
    type: "text",
  }));
  const found = clearPersonalColumns([
    { table: "users", columns, select: { email: { mask: "email" }, full_name: "'x'" } },
    { table: "Sign Ups", columns, select: { email: { clear: true }, phone: { clear: true } } },
  ]);
  assertEquals(found, [
    { table: "users", column: "phone", kind: "phone" },
    { table: "users", column: "ip", kind: "network address" },
    { table: "Sign Ups", column: "full_name", kind: "name" },
    { table: "Sign Ups", column: "ip", kind: "network address" },
  ]);
  const warnings = personalDataWarnings(found);
  assertEquals(warnings.length, 2);
  assertStringIncludes(
    warnings[0],
    'table "users": copied in clear, and looks like personal data: phone (phone), ip (network address); ',
  );
  assertStringIncludes(
    personalDataIssues("anon:all", found)[2],
    'jobs["anon:all"].tables["Sign Ups"].select.full_name: copied in clear, and looks like personal data (name)',
  );
});
