/**
 * Connection URLs: parsed once, then turned into postgres.js options and into what the
 * PostgreSQL client tools get (a password-free URL argument and a `PGPASSWORD` environment
 * variable, never a password on a command line). Pure functions.
 *
 * @example
 * ```ts
 * import { parseConnUrl, toolConnection } from "./conninfo.ts";
 * const info = parseConnUrl("postgres://app:pw@db:5433/app?sslmode=require");
 * toolConnection(info); // { dbname: "postgres://app@db:5433/app?sslmode=require", env: { PGPASSWORD: "pw" } }
 * ```
 * @module
 */

/** A parsed `postgres://` URL. */
export interface ConnInfo {
  /** The URL as given (it may hold a password: print `redactUrl(url)` only). */
  url: string;
  /** The user name, decoded. */
  user?: string;
  /** The password, decoded (never print it). */
  password?: string;
  /** Host names or, for a Unix socket, its directory (from `?host=/dir`). */
  hosts: string[];
  /** A port for each host (5432 where none is given). */
  ports: number[];
  /** The database name, decoded. */
  database?: string;
  /** Query parameters (`sslmode`, `application_name`, `options`, …), as given. */
  params: Record<string, string>;
}

const SCHEMES = ["postgres://", "postgresql://"];

/**
 * Parses a `postgres://user:password@host:port/database?param=value` URL (several hosts as
 * `h1:5432,h2:5433`, a socket directory as `?host=/var/run/postgresql`). Throws a `TypeError`
 * saying what is wrong.
 *
 * @example
 * ```ts
 * parseConnUrl("postgresql://u@/db?host=/tmp").hosts; // ["/tmp"]
 * ```
 */
export function parseConnUrl(url: string): ConnInfo {
  const scheme = SCHEMES.find((s) => url.toLowerCase().startsWith(s));
  if (!scheme) throw new TypeError("must start with postgres:// or postgresql://");
  const rest = url.slice(scheme.length);
  const queryAt = rest.search(/[?#]/);
  const beforeQuery = queryAt < 0 ? rest : rest.slice(0, queryAt);
  const query = queryAt < 0 ? "" : rest.slice(queryAt + 1).split("#")[0];
  const at = beforeQuery.lastIndexOf("@");
  const userinfo = at < 0 ? "" : beforeQuery.slice(0, at);
  const hostAndPath = beforeQuery.slice(at + 1);
  const slash = hostAndPath.indexOf("/");
  const hostPart = slash < 0 ? hostAndPath : hostAndPath.slice(0, slash);
  const path = slash < 0 ? "" : hostAndPath.slice(slash + 1);

  const decode = (s: string, what: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw new TypeError(`its ${what} has an invalid %-escape`);
    }
  };
  const colon = userinfo.indexOf(":");
  const user = userinfo ? decode(colon < 0 ? userinfo : userinfo.slice(0, colon), "user") : "";
  let password = colon < 0 ? undefined : decode(userinfo.slice(colon + 1), "password");

  const params: Record<string, string> = {};
  for (const pair of query.split("&").filter(Boolean)) {
    const eq = pair.indexOf("=");
    const key = decode(eq < 0 ? pair : pair.slice(0, eq), "parameter");
    params[key] = decode(eq < 0 ? "" : pair.slice(eq + 1).replaceAll("+", " "), "parameter");
  }

  // As libpq reads it, a `password` parameter wins over the user info's; it is no server setting.
  if (params.password !== undefined) {
    password = params.password;
    delete params.password;
  }

  const hosts: string[] = [];
  const ports: number[] = [];
  for (const entry of hostPart ? hostPart.split(",") : []) {
    const m = /^(\[[^\]]*\]|[^:]*)(?::(\d*))?$/.exec(entry);
    if (!m) throw new TypeError(`has an invalid host "${entry}"`);
    hosts.push(decode(m[1].replace(/^\[|\]$/g, ""), "host"));
    ports.push(m[2] ? Number(m[2]) : 5432);
  }
  if (params.host) {
    hosts.splice(0, hosts.length, ...params.host.split(","));
    delete params.host;
  }
  if (params.port) {
    ports.splice(0, ports.length, ...params.port.split(",").map(Number));
    delete params.port;
  }
  if (ports.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) {
    throw new TypeError("has an invalid port");
  }
  if (hosts.length === 0) hosts.push("localhost");
  while (ports.length < hosts.length) ports.push(ports[ports.length - 1] ?? 5432);
  return {
    url,
    user: user || undefined,
    password,
    hosts,
    ports,
    database: path ? decode(path, "database") : undefined,
    params,
  };
}

/** The options postgres.js gets for a parsed URL. */
export interface PostgresJsOptions {
  host: string[];
  port: number[];
  path?: string;
  user?: string;
  pass?: string;
  database?: string;
  ssl: boolean | "require" | "allow" | "prefer" | "verify-full";
  connection: Record<string, string>;
}

const SSL_MODES: Record<string, PostgresJsOptions["ssl"]> = {
  disable: false,
  allow: "allow",
  prefer: "prefer",
  require: "require",
  "verify-ca": "verify-full",
  "verify-full": "verify-full",
};

/** URL parameters libpq understands that are not server settings (kept out of the startup packet). */
const CLIENT_ONLY = new Set([
  "sslmode",
  "sslcert",
  "sslkey",
  "sslrootcert",
  "sslcrl",
  "sslpassword",
  "connect_timeout",
  "target_session_attrs",
  "passfile",
  "channel_binding",
  "gssencmode",
  "keepalives",
  "keepalives_idle",
  "keepalives_interval",
  "keepalives_count",
  "tcp_user_timeout",
  "krbsrvname",
  "requirepeer",
  "sslcompression",
  "sslsni",
  "service",
  "fallback_application_name",
  "load_balance_hosts",
]);

/**
 * postgres.js options for a URL: the socket path for a Unix-socket host, `sslmode` mapped to
 * postgres.js's `ssl`, and server settings (`application_name`, `options`, …) passed through to
 * the startup packet.
 *
 * @example
 * ```ts
 * toPostgresJs(parseConnUrl("postgres://u@/db?host=/run/pg&application_name=x")).path;
 * // "/run/pg/.s.PGSQL.5432"
 * ```
 */
export function toPostgresJs(info: ConnInfo): PostgresJsOptions {
  const sslmode = info.params.sslmode ?? "prefer";
  if (!(sslmode in SSL_MODES)) throw new TypeError(`has an unknown sslmode "${sslmode}"`);
  const connection: Record<string, string> = {};
  for (const [key, value] of Object.entries(info.params)) {
    if (!CLIENT_ONLY.has(key)) connection[key] = value;
  }
  const socket = info.hosts[0].startsWith("/");
  return {
    host: info.hosts,
    port: info.ports,
    path: socket ? `${info.hosts[0]}/.s.PGSQL.${info.ports[0]}` : undefined,
    user: info.user,
    pass: info.password,
    database: info.database,
    // sslmode=prefer over a Unix socket is meaningless and postgres.js would try TLS on it.
    ssl: socket ? false : SSL_MODES[sslmode],
    connection,
  };
}

/** How a client tool (pg_dump, pg_restore, psql) is pointed at a database. */
export interface ToolConnection {
  /** A URL without the password, for `--dbname`. */
  dbname: string;
  /** Extra environment: the password, when the URL has one. */
  env: Record<string, string>;
}

/** A `password` query parameter and the `?` or `&` before it (or, when it comes first, after it). */
const PASSWORD_PARAM = /([?&])password=[^&#]*(&?)/;

/**
 * The URL without its password for the tool's command line, and the password in `PGPASSWORD`,
 * where other users of the machine cannot read it.
 *
 * @example
 * ```ts
 * toolConnection(parseConnUrl("postgres://u:pw@h/db")).dbname; // "postgres://u@h/db"
 * ```
 */
export function toolConnection(info: ConnInfo): ToolConnection {
  const scheme = SCHEMES.find((s) => info.url.toLowerCase().startsWith(s))!;
  const rest = info.url.slice(scheme.length);
  const queryAt = rest.search(/[?#]/);
  const beforeQuery = queryAt < 0 ? rest : rest.slice(0, queryAt);
  const at = beforeQuery.lastIndexOf("@");
  let dbname = info.url;
  if (at >= 0) {
    const userinfo = beforeQuery.slice(0, at);
    const colon = userinfo.indexOf(":");
    const user = colon < 0 ? userinfo : userinfo.slice(0, colon);
    dbname = `${scheme}${user ? `${user}@` : ""}${rest.slice(at + 1)}`;
  }
  dbname = dbname.replace(PASSWORD_PARAM, (_, lead: string, next: string) => next ? lead : "");
  return { dbname, env: info.password === undefined ? {} : { PGPASSWORD: info.password } };
}
