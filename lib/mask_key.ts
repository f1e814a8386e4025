/**
 * The masks' secret: the salt a run uses (the job's `salt`, else `PGXMAT_SALT`, else a random
 * one for the run) and the key derived from it that the source session receives. The salt never
 * leaves this process; the key is sent as a bind parameter of `set_config`, never inside a
 * statement's text. Pure (the environment and the random source are arguments).
 *
 * @example
 * ```ts
 * import { maskKey, runSalt } from "./mask_key.ts";
 * const salt = runSalt(Deno.env.get("PGXMAT_SALT"));
 * maskKey(salt.value).length; // 256 hex digits: the key xored with HMAC's two pads
 * ```
 * @module
 */

import { createHash } from "node:crypto";

/**
 * The environment variable that gives the salt of a whole run (jobs without their own).
 *
 * @example
 * ```ts
 * runSalt(Deno.env.get(SALT_ENV)).origin; // "environment" when PGXMAT_SALT is set
 * ```
 */
export const SALT_ENV = "PGXMAT_SALT";

/** A salt and where it came from (never printed: only `origin` is). */
export interface RunSalt {
  /** The salt itself. */
  value: string;
  /** Where it came from: the job's `salt`, `PGXMAT_SALT`, or drawn for this run. */
  origin: "job" | "environment" | "random";
}

/**
 * What the plan and the report say when the masks use a random salt.
 *
 * @example
 * ```ts
 * RANDOM_SALT_WARNING.includes("PGXMAT_SALT"); // true
 * ```
 */
export const RANDOM_SALT_WARNING =
  `no salt given (the job's \`salt\` or ${SALT_ENV}): the masks use a random salt for this ` +
  "run, so masked values are consistent within it but differ from other runs'";

/**
 * The run's salt: `env` (the value of `PGXMAT_SALT`) when set, else a random one.
 *
 * @example
 * ```ts
 * runSalt("s3cret").origin; // "environment"
 * runSalt(undefined).origin; // "random"
 * ```
 */
export function runSalt(env: string | undefined): RunSalt {
  if (env) return { value: env, origin: "environment" };
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return { value: toHex(bytes), origin: "random" };
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The setting the masks read (`pg_xmat.mask_key`), derived from a salt: the 32-byte key
 * SHA-256("pg-xmat mask key\0" + salt), padded to SHA-256's 64-byte block and xored with HMAC's
 * inner pad (0x36) then its outer pad (0x5c), in hex. So the SQL computes a standard
 * HMAC-SHA-256 with two `sha256` calls, and the salt itself is never sent anywhere.
 *
 * @example
 * ```ts
 * maskKey("s3cret") === maskKey("s3cret"); // true
 * maskKey("s3cret") === maskKey("other"); // false
 * ```
 */
export function maskKey(salt: string): string {
  const key = createHash("sha256").update(`pg-xmat mask key\0${salt}`, "utf8").digest();
  const pad = (byte: number) => {
    const out = new Uint8Array(64).fill(byte);
    key.forEach((b, i) => (out[i] = b ^ byte));
    return toHex(out);
  };
  return pad(0x36) + pad(0x5c);
}
