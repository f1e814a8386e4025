/**
 * postgres.js clients for the two sides of a job. Source clients are read-only at the session
 * level (`default_transaction_read_only`), so no statement pg-xmat sends can write there. A
 * connection failure becomes one message that names the side and the redacted URL.
 *
 * @example
 * ```ts
 * import { openClient } from "./connect.ts";
 * const source = await openClient("source", "postgres://app@localhost/app", { max: 2 });
 * await source.end();
 * ```
 * @module
 */

import { connect as connectSocket, type Socket } from "node:net";
import postgres from "postgres";
import { parseConnUrl, toPostgresJs } from "./conninfo.ts";
import { describeError } from "./errors.ts";
import { redact, redactUrl, rememberSecret } from "./redact.ts";

/** A postgres.js client (a pool). */
export type Sql = postgres.Sql;
/** One reserved connection of a pool. */
export type Conn = postgres.ReservedSql;

/** Which side of a job a connection belongs to. */
export type Side = "source" | "target";

/** How many connections a client may open, and the application name it reports. */
export interface ClientOptions {
  max?: number;
  applicationName?: string;
}

/**
 * Explains a connection failure in terms a user can act on.
 *
 * @example
 * ```ts
 * connectionHint(Object.assign(new Error("x"), { code: "ECONNREFUSED" })); // "is the server running …"
 * ```
 */
export function connectionHint(error: unknown): string {
  const code = (error as { code?: string })?.code ?? "";
  const message = String((error as Error)?.message ?? "");
  if (code === "ECONNREFUSED" || /refused/i.test(message)) {
    return "is the server running and accepting TCP connections at that host and port?";
  }
  if (code === "ENOTFOUND" || code === "EAI_AGAIN" || /lookup|getaddrinfo|dns/i.test(message)) {
    return "the host name does not resolve; check the URL's host.";
  }
  if (code === "28P01" || code === "28000") {
    return "check the user name and password in the URL (or the PGPASSWORD your job file reads).";
  }
  if (code === "3D000") return "the database does not exist on that server; check the URL's path.";
  if (code === "CONNECT_TIMEOUT" || /timeout/i.test(message)) {
    return "the server did not answer in time; check the host, port and any firewall.";
  }
  if (/ssl|tls|encrypt/i.test(message)) {
    return "TLS failed: the server does not accept it or its certificate is not trusted; check the " +
      "server's ssl setting and the URL's sslmode (disable, prefer, require, verify-full).";
  }
  return "check the URL.";
}

/** What postgres.js passes its `socket` option (not in its types). */
interface SocketRequest {
  host: string[];
  port: number[];
  path?: string;
}

/**
 * postgres.js's `socket` option: opens each connection's socket with Nagle's algorithm off, as
 * libpq does. postgres.js leaves it on, and a COPY's last rows and its CopyDone then go out as two
 * small writes, the second held until the server's delayed ACK: 40 ms added to every table. The
 * socket is returned still connecting: postgres.js queues its first writes, applies its connect
 * timeout, and after a failure asks again, here for the next host, as it does itself.
 */
function noDelaySockets(): (request: SocketRequest) => Socket {
  let next = 0;
  return ({ host, port, path }) => {
    if (path) return connectSocket(path);
    const i = next++ % host.length;
    // postgres.js reads `host` as the TLS server name.
    const socket = Object.assign(connectSocket(port[i], host[i]), { host: host[i] });
    return socket.setNoDelay(true);
  };
}

/**
 * Opens a client for one side and checks it with a first query, so that a wrong password or an
 * unreachable server fails here with a clear message rather than in the middle of a step.
 */
export async function openClient(
  side: Side,
  url: string,
  options: ClientOptions = {},
): Promise<Sql> {
  const info = parseConnUrl(url);
  if (info.password) rememberSecret(info.password);
  const base = toPostgresJs(info);
  const connection: Record<string, string> = {
    application_name: options.applicationName ?? "pg-xmat",
    // As pg_dump does: a job's sessions run long statements and wait idle in a transaction (the
    // exported snapshot while the tables copy); a database's or role's timeouts would end them.
    statement_timeout: "0",
    idle_in_transaction_session_timeout: "0",
    ...base.connection,
  };
  if (side === "source") connection.default_transaction_read_only = "on";
  // As pg_restore does: XML content that is no document loads whatever the database's setting.
  if (side === "target") connection.xmloption = "content";
  // postgres.js takes one host per port (its types say a single host; it splits on commas).
  const sql = postgres({
    ...base,
    host: base.host.join(","),
    port: base.port as unknown as number,
    max: options.max ?? 1,
    connect_timeout: 15,
    idle_timeout: 0,
    max_lifetime: null,
    // fetch_types: false would save a query per connection, but in postgres.js 3.4.9 it
    // leaves a second `reserve()` waiting forever.
    prepare: false,
    onnotice: () => {},
    connection,
    socket: noDelaySockets(),
  } as postgres.Options<Record<string, postgres.PostgresType>>);
  try {
    await sql`SELECT 1`;
    // Every connection is opened now. postgres.js fetches type OIDs on each new connection
    // without awaiting it: a pool destroyed during that fetch (clean-up after a failure)
    // would leave a rejection nobody can handle.
    const all = await Promise.all(Array.from({ length: options.max ?? 1 }, () => sql.reserve()));
    // A database's `idle_session_timeout` would end the sessions that wait their turn (the
    // target lock's, the spares). Older servers refuse it as a startup parameter, hence here.
    await Promise.all(
      all.map((conn) =>
        conn`SELECT set_config(name, '0', false) FROM pg_settings WHERE name = 'idle_session_timeout'`
      ),
    );
    for (const conn of all) conn.release();
  } catch (error) {
    await sql.end({ timeout: 0 }).catch(() => {});
    throw new ConnectError(side, url, error);
  }
  return sql;
}

/** A connection to one side could not be opened or was lost. */
export class ConnectError extends Error {
  readonly side: Side;
  constructor(side: Side, url: string, cause: unknown) {
    const what = redact(describeError(cause));
    super(`cannot connect to the ${side} ${redactUrl(url)}: ${what}\n${connectionHint(cause)}`, {
      cause,
    });
    this.name = "ConnectError";
    this.side = side;
  }
}

/**
 * True when an error means the connection itself is gone (closed, reset, terminated by the
 * server): such a connection must not be sent another query. postgres.js does not mark it as
 * dead, and a query on it throws from inside a timer, where nobody can catch it.
 *
 * @example
 * ```ts
 * connectionLost(Object.assign(new Error("x"), { code: "CONNECTION_CLOSED" })); // true
 * connectionLost(Object.assign(new Error("x"), { code: "23505" })); // false
 * ```
 */
export function connectionLost(error: unknown): boolean {
  const e = error as { code?: string; severity?: string; errno?: string } | undefined;
  const code = e?.code ?? "";
  return /^CONNECTION_|^CONNECT_TIMEOUT$|^E(CONNRESET|PIPE|CONNREFUSED)$/.test(code) ||
    code.startsWith("08") || code.startsWith("57P") || e?.severity === "FATAL" ||
    e?.severity === "PANIC";
}
