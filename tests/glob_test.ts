import { assertEquals } from "./_assert.ts";
import { globToRegExp, matchJobs } from "../lib/glob.ts";

const NAMES = ["export:users", "export:orders", "mat:users", "mat:uses", "a.b", "x[1]"];

Deno.test("* matches any run, : included", () => {
  assertEquals(matchJobs("export:*", NAMES), ["export:users", "export:orders"]);
  assertEquals(matchJobs("*:users", NAMES), ["export:users", "mat:users"]);
  assertEquals(matchJobs("*", NAMES), NAMES);
});

Deno.test("? is one character, sets and negated sets", () => {
  assertEquals(matchJobs("mat:use?s", NAMES), ["mat:users"]);
  assertEquals(matchJobs("mat:use[rs]s", NAMES), ["mat:users"]);
  assertEquals(matchJobs("mat:use[!r]", NAMES), ["mat:uses"]);
});

Deno.test("everything else is literal, regex characters included", () => {
  assertEquals(matchJobs("a.b", NAMES), ["a.b"]);
  assertEquals(matchJobs("a?b", NAMES), ["a.b"]);
  assertEquals(matchJobs("x[1]", ["x1", "x[1]"]), ["x1"]);
  assertEquals(matchJobs("export:user", NAMES), []);
  assertEquals(globToRegExp("(a)+").test("(a)+"), true);
});
