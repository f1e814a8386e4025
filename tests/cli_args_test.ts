import { assertEquals, assertThrows } from "./_assert.ts";
import { parseCliArgs } from "../cli/args.ts";
import { formatBytes, formatCount, formatEvent } from "../cli/log.ts";
import { UsageError } from "../lib/errors.ts";
import { parseSummary } from "../scripts/test.ts";

Deno.test("parseCliArgs: pattern and options", () => {
  const args = parseCliArgs([
    "export:*",
    "-c",
    "x.ts",
    "-j",
    "3",
    "-v",
    "--cascade",
    "--format",
    "auto",
  ]);
  assertEquals(args, {
    command: "run",
    pattern: "export:*",
    config: "x.ts",
    verbose: true,
    help: false,
    version: false,
    jobs: 3,
    cascade: true,
    format: "auto",
    dryRun: false,
    list: false,
    json: false,
    quiet: false,
  });
  assertEquals(parseCliArgs([]).config, "pg_xmat_jobs.ts");
  assertEquals(parseCliArgs([]).format, undefined);
  const modes = parseCliArgs(["--dry-run", "--json", "-q"]);
  assertEquals([modes.dryRun, modes.json, modes.quiet, modes.list], [true, true, true, false]);
  assertEquals(parseCliArgs(["--list", "a:*"]).list, true);
  assertEquals(parseCliArgs(["init", "-c", "jobs/n.ts"]).command, "init");
  assertEquals(parseCliArgs(["[i]nit"]).pattern, "[i]nit");
});

Deno.test("parseCliArgs refuses what it cannot take", () => {
  assertThrows(() => parseCliArgs(["--nope"]), UsageError, "--nope");
  assertThrows(() => parseCliArgs(["a", "b"]), UsageError, "one job pattern");
  assertThrows(() => parseCliArgs(["-j", "0"]), UsageError, "--jobs");
  assertThrows(() => parseCliArgs(["--format", "csv"]), UsageError, "--format");
  assertThrows(() => parseCliArgs(["--list", "--dry-run"]), UsageError, "do not go together");
  assertThrows(() => parseCliArgs(["init", "x"]), UsageError, '"[i]nit"');
  assertThrows(() => parseCliArgs(["init", "--json"]), UsageError, "drop --json");
});

Deno.test("log formatting", () => {
  assertEquals(formatCount(1234567), "1,234,567");
  assertEquals(formatBytes(999), "999 B");
  assertEquals(formatBytes(1_500_000), "1.5 MB");
  assertEquals(formatBytes(25_000_000_000), "25 GB");
  assertEquals(
    formatEvent({ kind: "step-start", job: "j", step: "copy", detail: "2 tables" }, new Date(0)),
    "00:00:00 j  copy (2 tables)",
  );
  assertEquals(
    formatEvent(
      { kind: "table-end", job: "j", table: "t", rows: 1000, bytes: 2048, seconds: 1.25 },
      new Date(0),
    ),
    "00:00:00 j    t: 1,000 rows, 2.0 kB in 1.3s",
  );
});

Deno.test("the test command's summary line", () => {
  assertEquals(parseSummary("x\nok | 12 passed (3 steps) | 0 failed (2s)\n"), {
    passed: 12,
    failed: 0,
  });
  assertEquals(parseSummary("FAILED | 10 passed | 2 failed (1s)"), { passed: 10, failed: 2 });
  assertEquals(parseSummary("nothing"), undefined);
});
