/**
 * `deno task compile`: targets, output names, the `deno compile` command line, and what that
 * command line embeds in a binary. Without a real `denort` (see smoke_test.ts for the binary
 * that runs), the last one compiles with the `deno` executable standing in as the runtime: the
 * result is no working pg-xmat, but it carries the same metadata a real build embeds (the
 * entry point, the permissions), read back here.
 */

import { join } from "node:path";
import { assertEquals, assertStringIncludes, assertThrows } from "./_assert.ts";
import {
  compileArgs,
  denortConflict,
  outputPath,
  parseTargets,
  PERMISSION_FLAGS,
  ROOT,
  TARGETS,
} from "../scripts/compile.ts";
import denoJson from "../deno.json" with { type: "json" };

Deno.test("parseTargets: this machine, some targets, all; anything else is refused", () => {
  assertEquals(parseTargets([]), [undefined]);
  assertEquals(parseTargets(["--target", "aarch64-apple-darwin"]), ["aarch64-apple-darwin"]);
  assertEquals(
    parseTargets(["--target=x86_64-apple-darwin", "--target", "x86_64-apple-darwin"]),
    ["x86_64-apple-darwin"],
  );
  assertEquals(parseTargets(["--target", "all"]), [...TARGETS]);
  assertEquals(TARGETS.length, 5);
  const unknown = assertThrows(() => parseTargets(["--target", "linux"]), Error, "unknown target");
  assertStringIncludes(unknown.message, "x86_64-pc-windows-msvc");
  assertThrows(() => parseTargets(["--frobnicate"]), Error, "usage: deno task compile");
});

Deno.test("outputPath and compileArgs: one binary per target under dist/", () => {
  assertEquals(outputPath(), join("dist", "pg-xmat"));
  assertEquals(
    TARGETS.map(outputPath),
    [
      "dist/pg-xmat-x86_64-unknown-linux-gnu",
      "dist/pg-xmat-aarch64-unknown-linux-gnu",
      "dist/pg-xmat-x86_64-apple-darwin",
      "dist/pg-xmat-aarch64-apple-darwin",
      "dist/pg-xmat-x86_64-pc-windows-msvc.exe",
    ].map((p) => join(...p.split("/"))),
  );
  assertEquals(compileArgs({ target: "aarch64-unknown-linux-gnu", output: "o" }), [
    "compile",
    "--allow-net",
    "--allow-read",
    "--allow-write",
    "--allow-run",
    "--allow-env",
    "--no-prompt",
    "--target",
    "aarch64-unknown-linux-gnu",
    "--output",
    "o",
    "main.ts",
  ]);
  assertEquals(compileArgs({ output: "o" }).slice(1, -3), [...PERMISSION_FLAGS]);
});

Deno.test("denortConflict: DENORT_BIN builds this machine's target only", () => {
  const host = "x86_64-unknown-linux-gnu";
  assertEquals(denortConflict([undefined], "/opt/denort", host), undefined);
  assertEquals(denortConflict([host], "/opt/denort", host), undefined);
  assertEquals(denortConflict([...TARGETS], undefined, host), undefined);
  assertEquals(
    denortConflict([...TARGETS], "/opt/denort", host),
    "DENORT_BIN (/opt/denort) is a runtime for x86_64-unknown-linux-gnu only: it cannot build " +
      "aarch64-unknown-linux-gnu, x86_64-apple-darwin, aarch64-apple-darwin, " +
      "x86_64-pc-windows-msvc. Unset it to let deno compile fetch each target's runtime.",
  );
});

Deno.test("deno compile embeds main.ts and exactly the binary's permissions", async () => {
  const dir = await Deno.makeTempDir({ prefix: "pgxmat-compile-" });
  try {
    const output = join(dir, "pg-xmat");
    const out = await new Deno.Command(Deno.execPath(), {
      args: compileArgs({ output }),
      cwd: ROOT,
      env: { DENORT_BIN: Deno.execPath(), NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(180_000),
    }).output();
    assertEquals(out.success, true, new TextDecoder().decode(out.stderr));
    const bytes = await Deno.readFile(output);
    const text = new TextDecoder("latin1").decode(bytes);
    assertStringIncludes(text, '"entrypoint_key":"main.ts"');
    const permissions = JSON.parse(/"permissions":(\{[^}]*\})/.exec(text)![1]);
    // [] is "all", null is "none": net, read, write, run and env unscoped; sys and ffi denied.
    for (const name of ["net", "read", "write", "run", "env"]) {
      assertEquals(permissions[`allow_${name}`], [], name);
    }
    assertEquals(permissions.allow_sys, null);
    assertEquals(permissions.allow_ffi, null);
    assertEquals(permissions.prompt, false);
    // deno.json, with the version --version prints, is part of the module graph.
    assertStringIncludes(text, `"version": "${denoJson.version}"`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
