/**
 * Secrets out of every message: passwords in connection URLs never reach a log line, an error
 * or a report.
 *
 * @example
 * ```ts
 * import { redactUrl } from "./redact.ts";
 * redactUrl("postgres://app:s3cret@db.example/app"); // "postgres://app:***@db.example/app"
 * ```
 * @module
 */

import type { Endpoint } from "./types.ts";

const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/?#@]*:)([^\s@]*)(@)/gi;
const URL_PASSWORD_PARAM = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s?#]*\?(?:[^\s#]*&)?password=)([^\s&#]*)/gi;
const KEYWORD_PASSWORD = /(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)/gi;
const secrets = new Set<string>();

/**
 * Remembers a secret (a password) so that `redact` removes it wherever it appears, even outside
 * a URL (a server may echo it back, a tool may print it).
 *
 * @example
 * ```ts
 * rememberSecret("s3cret");
 * redact("login failed for s3cret"); // "login failed for ***"
 * ```
 */
export function rememberSecret(secret: string): void {
  if (secret.length >= 3) {
    secrets.add(secret);
    secrets.add(encodeURIComponent(secret));
  }
}

/**
 * Replaces the password of a `scheme://user:password@host` URL, and of its `password`
 * parameter, with `***`.
 *
 * @example
 * ```ts
 * redactUrl("postgres://u:p%40ss@h:5432/db?sslmode=require"); // "postgres://u:***@h:5432/db?sslmode=require"
 * redactUrl("postgres://u@h/db?password=pw&sslmode=require"); // "postgres://u@h/db?password=***&sslmode=require"
 * ```
 */
export function redactUrl(url: string): string {
  return url.replace(URL_PASSWORD, "$1***$3").replace(URL_PASSWORD_PARAM, "$1***");
}

/**
 * Redacts every URL password, every `password=` keyword and every remembered secret in a text.
 *
 * @example
 * ```ts
 * redact("connect postgres://u:pw@h/db failed"); // "connect postgres://u:***@h/db failed"
 * ```
 */
export function redact(text: string): string {
  let out = redactUrl(text).replace(KEYWORD_PASSWORD, "$1***");
  for (const secret of secrets) out = out.split(secret).join("***");
  return out;
}

/**
 * A job's endpoint as it may be shown: its URL's password redacted.
 *
 * @example
 * ```ts
 * redactEndpoint({ url: "postgres://u:pw@h/db", schema: "s" });
 * // { database: "postgres://u:***@h/db", schema: "s" }
 * ```
 */
export function redactEndpoint(endpoint: { url: string; schema: string }): Endpoint {
  return { database: redactUrl(endpoint.url), schema: endpoint.schema };
}
