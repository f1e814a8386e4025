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
import { type ConnInfo, parseConnUrl, toPostgresJs } from "./conninfo.ts";
import { tapSocket } from "./copy_relay.ts";
import { ConnectError, ConnectionLost, hasSqlState, type Side } from "./errors.ts";
import { rememberSecret } from "./redact.ts";
import { setLocalSql } from "./sql.ts";

export { ConnectError, connectionHint, type Side } from "./errors.ts";

/** A postgres.js client (a pool). */
export type Sql = postgres.Sql;
/** One reserved connection of a pool. */
export type Conn = postgres.ReservedSql;

/** How many connections a client may open, and the application name it reports. */
export interface ClientOptions {
  max?: number;
  applicationName?: string;
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
 * timeout, and after a failure asks again, here for the next host, as it does itself. Each socket
 * is tapped, so COPYs on it can be relayed socket to socket (see copy_relay.ts).
 */
function noDelaySockets(): (request: SocketRequest) => Socket {
  let next = 0;
  return ({ host, port, path }) => {
    if (path) return tapSocket(connectSocket(path));
    const i = next++ % host.length;
    // postgres.js reads `host` as the TLS server name.
    const socket = Object.assign(connectSocket(port[i], host[i]), { host: host[i] });
    return tapSocket(socket.setNoDelay(true));
  };
}

/**
 * Which of a pool's connections postgres.js has seen close, so that a reserved connection whose
 * session ended is never sent another query. postgres.js keeps a reserved connection's handle
 * working after its socket closed: the next query is queued for a socket that is gone and throws
 * from inside a timer (`Cannot read properties of null (reading 'write')`), where nobody can catch
 * it and the process dies; or, once the pool reconnected that connection for another caller, it
 * goes to that caller's session. A handle learns its connection's id from a first query
 * (postgres.js's `debug` hook names it) and counts the closes it was reserved across.
 */
class Liveness {
  #closes = new Map<number, number>();
  #probes = new Map<string, number>();
  #next = 0;
  readonly #side: Side;
  readonly #address: string;

  constructor(side: Side, address: string) {
    this.#side = side;
    this.#address = address;
  }

  /** postgres.js's `debug` option: which connection a query is built for. */
  readonly debug = (id: number, query: string) => {
    if (query.startsWith(PROBE)) this.#probes.set(query, id);
  };

  /** postgres.js's `onclose` option. */
  readonly onclose = (id: number) => {
    this.#closes.set(id, (this.#closes.get(id) ?? 0) + 1);
  };

  /** Wraps a pool's `reserve`: its connections throw `CONNECTION_CLOSED` once their socket closed. */
  async reserve(reserve: () => Promise<Conn>): Promise<Conn> {
    const conn = await reserve();
    const probe = `${PROBE}${this.#next++}`;
    await conn.unsafe(probe);
    const id = this.#probes.get(probe)!;
    this.#probes.delete(probe);
    const closes = this.#closes.get(id) ?? 0;
    const alive = () => (this.#closes.get(id) ?? 0) === closes;
    const check = () => {
      if (!alive()) throw new ConnectionLost(this.#side, this.#address);
    };
    return new Proxy(conn, {
      apply: (target, self, args) => (check(), Reflect.apply(target, self, args)),
      get: (target, key) => {
        const value = Reflect.get(target, key);
        if (typeof value !== "function") return value;
        // Released when dead, postgres.js would hand the closed connection to the pool as open.
        if (key === "release") return () => alive() && target.release();
        return (...args: unknown[]) => (check(), Reflect.apply(value, target, args));
      },
    });
  }
}

/** The first query on every reserved connection: it tells which connection it is. */
const PROBE = "SELECT 1 AS pgxmat_reserved_";

/**
 * Opens a client for one side (a URL, or the job config's parsed one) and checks it with a first
 * query, so that a wrong password or an unreachable server fails here with a clear message
 * rather than in the middle of a step.
 * Its `reserve()` gives connections that fail with `CONNECTION_CLOSED` once their session ended,
 * instead of crashing the process (see `Liveness`).
 *
 * @example
 * ```ts
 * const source = await openClient("source", "postgres://app@localhost/app", { max: 4 });
 * await source.end();
 * ```
 */
export async function openClient(
  side: Side,
  connection: ConnInfo | string,
  options: ClientOptions = {},
): Promise<Sql> {
  const info = typeof connection === "string" ? parseConnUrl(connection) : connection;
  // What postgres.js and the client tools log in with: the URL's password, else PGPASSWORD's.
  const password = info.password ?? Deno.env.get("PGPASSWORD");
  if (password) rememberSecret(password);
  const base = toPostgresJs(info);
  const settings: Record<string, string> = {
    application_name: options.applicationName ?? "pg-xmat",
    // As pg_dump does: a job's sessions run long statements and wait idle in a transaction (the
    // exported snapshot while the tables copy); a database's or role's timeouts would end them.
    statement_timeout: "0",
    idle_in_transaction_session_timeout: "0",
    ...base.connection,
  };
  if (side === "source") settings.default_transaction_read_only = "on";
  // As pg_restore does: XML content that is no document loads whatever the database's setting.
  if (side === "target") settings.xmloption = "content";
  const liveness = new Liveness(side, `${info.hosts[0]}:${info.ports[0]}`);
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
    connection: settings,
    socket: noDelaySockets(),
    debug: liveness.debug,
    onclose: liveness.onclose,
  } as postgres.Options<Record<string, postgres.PostgresType>>);
  const reserve = sql.reserve.bind(sql);
  Object.defineProperty(sql, "reserve", { value: () => liveness.reserve(reserve) });
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
    throw new ConnectError(side, info.url, error);
  }
  return sql;
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

/**
 * Runs `fn` in a transaction on a reserved connection; rolls back when it throws (unless the
 * connection is lost, when nothing may be sent on it).
 *
 * @example
 * ```ts
 * declare const conn: Conn;
 * const count = await inTransaction(conn, async (tx) => (await tx`SELECT 1 AS n`)[0].n);
 * ```
 */
export async function inTransaction<T>(conn: Conn, fn: (tx: Conn) => Promise<T>): Promise<T> {
  await conn.unsafe("BEGIN");
  try {
    const result = await fn(conn);
    await conn.unsafe("COMMIT");
    return result;
  } catch (error) {
    if (!connectionLost(error)) await conn.unsafe("ROLLBACK").catch(() => {});
    throw error;
  }
}

/** How long a transaction waits for its locks, and how often it is tried. */
export interface LockWait {
  /** How long one attempt waits for its locks (default 5000 ms). */
  lockTimeoutMs?: number;
  /** Attempts before the lock timeout's error is thrown (default 6). */
  attempts?: number;
  signal?: AbortSignal;
  /** Called after each attempt that timed out and is tried again (to say what it waits for). */
  onTimeout?: (attempt: number) => Promise<void>;
}

/**
 * `inTransaction` under `SET LOCAL lock_timeout`, tried again (after a growing pause) while
 * its locks are not granted in time: a long reader makes the caller wait a bounded time instead
 * of queueing every other session behind its lock request. The last attempt's error is thrown.
 *
 * @example
 * ```ts
 * declare const conn: Conn;
 * await inLockedTransaction(conn, { lockTimeoutMs: 200, attempts: 3 }, (tx) => tx`DROP TABLE t`);
 * ```
 */
export async function inLockedTransaction<T>(
  conn: Conn,
  wait: LockWait,
  fn: (tx: Conn) => Promise<T>,
): Promise<T> {
  const lockTimeoutMs = Math.max(1, Math.round(wait.lockTimeoutMs ?? 5000));
  const attempts = wait.attempts ?? 6;
  for (let attempt = 1;; attempt++) {
    wait.signal?.throwIfAborted();
    try {
      return await inTransaction(conn, async (tx) => {
        await tx.unsafe(setLocalSql({ lock_timeout: String(lockTimeoutMs) }));
        return await fn(tx);
      });
    } catch (error) {
      if (!hasSqlState(error, "55P03") || attempt >= attempts || wait.signal?.aborted) throw error;
      await wait.onTimeout?.(attempt);
      await new Promise((r) => setTimeout(r, Math.min(250 * 2 ** attempt, 4000)));
    }
  }
}
