import { createHash } from "node:crypto";
import { assertEquals, assertNotIncludes, assertOk } from "./_assert.ts";
import { maskKey, RANDOM_SALT_WARNING, runSalt, SALT_ENV } from "../lib/mask_key.ts";

Deno.test("maskKey: deterministic, salt-specific, HMAC's two pads of SHA-256 of the salt", () => {
  const key = maskKey("s3cret");
  assertEquals(key, maskKey("s3cret"));
  assertOk(key !== maskKey("s3cret "));
  assertOk(/^[0-9a-f]{256}$/.test(key));
  const digest = createHash("sha256").update("pg-xmat mask key\0s3cret").digest();
  const inner = Buffer.from(key.slice(0, 128), "hex");
  const outer = Buffer.from(key.slice(128), "hex");
  for (let i = 0; i < 64; i++) {
    assertEquals(inner[i] ^ 0x36, i < 32 ? digest[i] : 0);
    assertEquals(outer[i] ^ 0x5c, i < 32 ? digest[i] : 0);
  }
  assertNotIncludes(key, Buffer.from("s3cret").toString("hex"));
});

Deno.test("runSalt: the environment's when set, else a fresh random one", () => {
  assertEquals(runSalt("abc"), { value: "abc", origin: "environment" });
  const a = runSalt(undefined), b = runSalt("");
  assertEquals([a.origin, b.origin], ["random", "random"]);
  assertOk(a.value !== b.value && a.value.length === 64);
  assertOk(RANDOM_SALT_WARNING.includes(SALT_ENV));
});
