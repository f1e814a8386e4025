/**
 * The target side around the shadow schema, read and cleaned before anything is built: one run
 * per target schema at a time (an advisory lock), whether the source is the very same database,
 * the schemas and extensions the target has, objects elsewhere that depend on the target schema,
 * default privileges the run could not give again, and the shadow schemas killed runs left.
 *
 * @example
 * ```ts
 * import { lockTarget, readTargetState } from "./target.ts";
 * import type { Conn } from "./connect.ts";
 * declare const conn: Conn;
 * if (await lockTarget(conn, "staging")) (await readTargetState(conn)).schemas.has("staging");
 * ```
 * @module
 */

import { type Conn, connectionLost } from "./connect.ts";
import { readLockBudget } from "./lock_budget.ts";
import { type DropOptions, dropSchemaInBatches } from "./schema_drop.ts";
import { OLD_PREFIX, parseMarker, SHADOW_PREFIX } from "./shadow.ts";
import { quoteIdent } from "./sql.ts";
import {
  DEFAULT_PRIVILEGES_SQL,
  DEPENDENTS_SQL,
  EXTENSIONS_SQL,
  LEFTOVERS_SQL,
  LOCK_HOLDERS_SQL,
  LOCK_NAME_SQL,
  LOCK_TARGET_SQL,
  NAME_HOLDER_SQL,
  SAME_DATABASE_SQL,
  SCHEMA_OWNER_SQL,
  SCHEMAS_SQL,
  TARGET_IDENTITY_SQL,
  UNLOCK_NAME_SQL,
} from "./target_sql.ts";

const LOCK_NAMESPACE = "pg-xmat";
const NAME_NAMESPACE = "pg-xmat borrowed name";

/**
 * Takes the session-level advisory lock of a target schema on a dedicated connection, so two
 * runs never build the same target at once. Returns false when another run holds it.
 *
 * @example
 * ```ts
 * import type { Conn } from "./connect.ts";
 * declare const lock: Conn;
 * if (!await lockTarget(lock, "staging")) throw new Error("another run builds staging");
 * ```
 */
export async function lockTarget(conn: Conn, target: string): Promise<boolean> {
  const [row] = await conn.unsafe(LOCK_TARGET_SQL, [LOCK_NAMESPACE, target]);
  return row.locked;
}

/** Another run holds the name: who, as `pg_stat_activity` shows it. */
export interface NameHolder {
  pid: number;
  applicationName: string;
  /** Seconds the holder has held it: since its session went idle after taking it. */
  seconds: number;
}

/**
 * Takes the session-level advisory lock of a schema name that building borrows on the target
 * database (the rename dance gives the shadow the source schema's name for a moment), waiting
 * while another run holds it: two runs renaming schemas to one name at once clash. `onWait` is
 * called once, with the holder, when the lock is not free. Give it back with `unlockName`.
 *
 * @example
 * ```ts
 * import type { Conn } from "./connect.ts";
 * declare const conn: Conn;
 * declare function build(): Promise<void>;
 * await lockName(conn, "public", (h) => console.log(`waiting for pid ${h.pid}`));
 * try { await build(); } finally { await unlockName(conn, "public"); }
 * ```
 */
export async function lockName(
  conn: Conn,
  name: string,
  onWait: (holder: NameHolder) => void = () => {},
  signal?: AbortSignal,
): Promise<void> {
  for (let waited = false;; await new Promise((r) => setTimeout(r, 250))) {
    signal?.throwIfAborted();
    const [row] = await conn.unsafe(LOCK_NAME_SQL, [NAME_NAMESPACE, name]);
    if (row.locked) return;
    if (waited) continue;
    waited = true;
    const [holder] = await conn.unsafe(NAME_HOLDER_SQL, [NAME_NAMESPACE, name]);
    onWait({
      pid: holder?.pid ?? 0,
      applicationName: holder?.application_name ?? "",
      seconds: Number(holder?.seconds ?? 0),
    });
  }
}

/**
 * Gives back a name `lockName` took.
 *
 * @example
 * ```ts
 * import type { Conn } from "./connect.ts";
 * declare const lock: Conn;
 * await lockName(lock, "public");
 * await unlockName(lock, "public");
 * ```
 */
export async function unlockName(conn: Conn, name: string): Promise<void> {
  await conn.unsafe(UNLOCK_NAME_SQL, [NAME_NAMESPACE, name]);
}

/**
 * Runs `fn` holding the lock on the schema name `name` (`lockName`), saying through `onWait`
 * whom it waits for. After a failure the connection may be dead: the name is not given back on
 * it, closing the connection gives it back.
 *
 * @example
 * ```ts
 * import type { Conn } from "./connect.ts";
 * declare const lock: Conn;
 * declare function build(): Promise<void>;
 * await withName(lock, "public", build, { onWait: console.log });
 * ```
 */
export async function withName<T>(
  conn: Conn,
  name: string,
  fn: () => Promise<T>,
  options: { onWait?: (message: string) => void; signal?: AbortSignal } = {},
): Promise<T> {
  const onWait = (holder: NameHolder) => options.onWait?.(waitingForName(name, holder));
  await lockName(conn, name, onWait, options.signal);
  const result = await fn();
  await unlockName(conn, name);
  return result;
}

/**
 * The message that says another run holds a schema name `lockName` waits for.
 *
 * @example
 * ```ts
 * waitingForName("src", { pid: 42, applicationName: "pg-xmat", seconds: 3.2 });
 * // 'waiting for another pg-xmat run (pid 42, application_name "pg-xmat", 3.2s so far) …'
 * ```
 */
export function waitingForName(name: string, holder: NameHolder): string {
  return `waiting for another pg-xmat run (pid ${holder.pid}, application_name ` +
    `"${holder.applicationName}", ${holder.seconds.toFixed(1)}s so far) that uses schema name ` +
    `"${name}" on the target database while it builds`;
}

/**
 * Why the current role cannot borrow `name` on the target: building renames the target's schema
 * of the source schema's name aside for a moment (pg_dump's DDL names the source schema), which
 * only its owner may do. `undefined` when there is no such schema or the role may rename it.
 *
 * @example
 * ```ts
 * import type { Conn } from "./connect.ts";
 * declare const lock: Conn;
 * const why = await unborrowable(lock, "public");
 * if (why) throw new Error(why);
 * ```
 */
export async function unborrowable(conn: Conn, name: string): Promise<string | undefined> {
  const [row] = await conn.unsafe(SCHEMA_OWNER_SQL, [name]);
  if (!row || row.may_rename) return undefined;
  const { owner, role } = row;
  return `the target database has a schema "${name}", owned by role "${owner}": pg-xmat renames ` +
    `it aside for a moment while it builds, because the source schema's DDL (as pg_dump writes ` +
    `it) names "${name}", and role "${role}" may not rename it. Run the job as a role that owns ` +
    `it or is a member of "${owner}" (GRANT ${quoteIdent(owner)} TO ${quoteIdent(role)}), or ` +
    `rename that schema on the target`;
}

/**
 * True when `source` is the very database `target` is connected to: the target's session holds
 * the target lock, and the source sees that lock in its own database. Works without privileges
 * and whatever the URLs look like (another host name, a socket, a pooler). A hot standby of the
 * target sees no lock of the primary: a source in recovery is the target's database when its
 * server has the target's system identifier and its database the target database's OID (a
 * server merely restored from a backup of the target is not in recovery, and not taken for it).
 *
 * @example
 * ```ts
 * import type { Conn } from "./connect.ts";
 * declare const source: Conn, lock: Conn;
 * await sameDatabase(source, lock, "staging"); // true when the source is the target database
 * ```
 */
export async function sameDatabase(
  source: Conn,
  target: Conn,
  targetSchema: string,
): Promise<boolean> {
  const [t] = await target.unsafe(TARGET_IDENTITY_SQL);
  const [row] = await source.unsafe(SAME_DATABASE_SQL, [t.pid, LOCK_NAMESPACE, targetSchema]);
  return row.same || (row.standby && row.system === t.system && row.database === t.database);
}

/** The target's schemas and extensions, as the rename dance and the swap need them. */
export interface TargetState {
  schemas: Set<string>;
  /** Extension name → its schema. */
  extensions: Map<string, string>;
  /** The locks one of the run's transactions may take (see `lockBudget`). */
  lockBudget: number;
}

/**
 * Reads which schemas and extensions the target has, and the size of its lock table.
 *
 * @example
 * ```ts
 * import type { Conn } from "./connect.ts";
 * declare const lock: Conn;
 * const state = await readTargetState(lock);
 * state.extensions.get("citext"); // "public"
 * ```
 */
export async function readTargetState(conn: Conn): Promise<TargetState> {
  const schemas = await conn.unsafe(SCHEMAS_SQL);
  const extensions = await conn.unsafe(EXTENSIONS_SQL);
  return {
    schemas: new Set(schemas.map((r) => r.nspname)),
    extensions: new Map(extensions.map((r) => [r.extname, r.nspname])),
    lockBudget: await readLockBudget(conn),
  };
}

/**
 * Objects outside `schema` that depend on objects in it (views, foreign keys, column types,
 * defaults): dropping the schema would drop them too. Each is described as PostgreSQL does
 * (`view other.active_users`), with what it depends on. The shadow schema that replaces it is
 * not a dependent: what it uses of the old schema (extension types) moves with the swap.
 *
 * @example
 * ```ts
 * import type { Conn } from "./connect.ts";
 * declare const lock: Conn;
 * await findDependents(lock, "staging"); // ["view other.v (depends on table staging.users)"]
 * ```
 */
export async function findDependents(conn: Conn, schema: string, shadow = ""): Promise<string[]> {
  const rows = await conn.unsafe(DEPENDENTS_SQL, [schema, shadow]);
  return rows.map((r) => `${r.dependent} (depends on ${r.on_object})`);
}

/** Default privileges in a schema that the current role cannot give again. */
export interface ForeignDefaultPrivileges {
  /** The current role. */
  role: string;
  /** The roles that gave them, of which `role` is not a member. */
  owners: string[];
}

/**
 * The default privileges in `schema` (`ALTER DEFAULT PRIVILEGES FOR ROLE r IN SCHEMA schema`)
 * that the current role could not give again on the new schema, not being a member of `r`.
 *
 * @example
 * ```ts
 * import type { Conn } from "./connect.ts";
 * declare const lock: Conn;
 * const { role, owners } = await foreignDefaultPrivileges(lock, "staging");
 * ```
 */
export async function foreignDefaultPrivileges(
  conn: Conn,
  schema: string,
): Promise<ForeignDefaultPrivileges> {
  const rows = await conn.unsafe(DEFAULT_PRIVILEGES_SQL, [schema]);
  return { role: rows[0].role, owners: rows[0].owners };
}

/** What `dropLeftovers` did. */
export interface Leftovers {
  dropped: string[];
  /** Leftovers that could not be dropped now (a reader holds them), with the reason. */
  kept: { schema: string; reason: unknown }[];
}

/**
 * Drops the shadow schemas and old target schemas that killed or failed runs left for this
 * target (recognised by their name and marker), each in batches. Call it while holding the
 * target lock: no live run can own them then. A leftover a reader still holds is kept for a
 * later run rather than failing this one.
 *
 * @example
 * ```ts
 * import type { Conn } from "./connect.ts";
 * declare const lock: Conn;
 * const { dropped, kept } = await dropLeftovers(lock, "staging", { budget: 1600 });
 * ```
 */
export async function dropLeftovers(
  conn: Conn,
  target: string,
  options: DropOptions,
): Promise<Leftovers> {
  const rows = await conn.unsafe(LEFTOVERS_SQL, [SHADOW_PREFIX, OLD_PREFIX]);
  const result: Leftovers = { dropped: [], kept: [] };
  for (const r of rows) {
    if (parseMarker(r.comment)?.target !== target) continue;
    try {
      await dropSchemaInBatches(conn, r.nspname, options);
      result.dropped.push(r.nspname);
    } catch (error) {
      if (connectionLost(error) || options.signal?.aborted) throw error;
      result.kept.push({ schema: r.nspname, reason: error });
    }
  }
  return result;
}

/**
 * The other sessions holding locks on the schema `schema` or its relations, as a person would
 * look them up: `pid 4242 (application_name "psql", in its transaction for 12.3s) holds
 * AccessShareLock on "users"`.
 *
 * @example
 * ```ts
 * import type { Conn } from "./connect.ts";
 * declare const lock: Conn;
 * await lockHolders(lock, "staging");
 * // ['pid 4242 (application_name "psql", in its transaction for 12.3s) holds AccessShareLock on "users"']
 * ```
 */
export async function lockHolders(conn: Conn, schema: string): Promise<string[]> {
  const rows = await conn.unsafe(LOCK_HOLDERS_SQL, [schema]);
  return rows.map((r) =>
    `pid ${r.pid} (application_name "${r.app}", in its transaction for ${
      Number(r.seconds).toFixed(1)
    }s) holds ${r.locks}`
  );
}
