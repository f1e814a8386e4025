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

const LOCK_NAMESPACE = "pg-xmat";
const NAME_NAMESPACE = "pg-xmat borrowed name";

/**
 * Takes the session-level advisory lock of a target schema on a dedicated connection, so two
 * runs never build the same target at once. Returns false when another run holds it.
 */
export async function lockTarget(conn: Conn, target: string): Promise<boolean> {
  const [row] = await conn`
    SELECT pg_try_advisory_lock(hashtext(${LOCK_NAMESPACE}), hashtext(${target})) AS locked`;
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
    const [row] = await conn`
      SELECT pg_try_advisory_lock(hashtext(${NAME_NAMESPACE}), hashtext(${name})) AS locked`;
    if (row.locked) return;
    if (waited) continue;
    waited = true;
    const [holder] = await conn`
      SELECT l.pid, a.application_name,
             extract(epoch FROM now() - a.state_change)::float8 AS seconds
        FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
       WHERE l.locktype = 'advisory' AND l.granted
         AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
         AND l.classid = hashtext(${NAME_NAMESPACE})::oid AND l.objid = hashtext(${name})::oid`;
    onWait({
      pid: holder?.pid ?? 0,
      applicationName: holder?.application_name ?? "",
      seconds: Number(holder?.seconds ?? 0),
    });
  }
}

/** Gives back a name `lockName` took. */
export async function unlockName(conn: Conn, name: string): Promise<void> {
  await conn`SELECT pg_advisory_unlock(hashtext(${NAME_NAMESPACE}), hashtext(${name}))`;
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
 */
export async function unborrowable(conn: Conn, name: string): Promise<string | undefined> {
  const [row] = await conn`
    SELECT pg_get_userbyid(nspowner) AS owner, pg_has_role(nspowner, 'USAGE') AS may_rename,
           current_user AS role
      FROM pg_namespace WHERE nspname = ${name}`;
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
 */
export async function sameDatabase(
  source: Conn,
  target: Conn,
  targetSchema: string,
): Promise<boolean> {
  const identity = `(SELECT system_identifier FROM pg_control_system())::text AS system,
    (SELECT oid FROM pg_database WHERE datname = current_database())::int8 AS database`;
  const [t] = await target.unsafe(`SELECT pg_backend_pid() AS pid, ${identity}`);
  const [row] = await source.unsafe(
    `SELECT EXISTS (
       SELECT 1 FROM pg_locks
        WHERE locktype = 'advisory' AND pid = $1
          AND classid = hashtext($2)::oid AND objid = hashtext($3)::oid
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
     ) AS same, pg_is_in_recovery() AS standby, ${identity}`,
    [t.pid, LOCK_NAMESPACE, targetSchema],
  );
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

/** Reads which schemas and extensions the target has, and the size of its lock table. */
export async function readTargetState(conn: Conn): Promise<TargetState> {
  const schemas = await conn`SELECT nspname FROM pg_namespace`;
  const extensions = await conn`
    SELECT x.extname, n.nspname FROM pg_extension x JOIN pg_namespace n ON n.oid = x.extnamespace`;
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
 */
export async function findDependents(conn: Conn, schema: string, shadow = ""): Promise<string[]> {
  const rows = await conn`
    WITH ns AS (SELECT oid FROM pg_namespace WHERE nspname = ${schema}),
    objs(classid, objid) AS (
      SELECT 'pg_class'::regclass, c.oid FROM pg_class c, ns WHERE c.relnamespace = ns.oid
      UNION ALL SELECT 'pg_type'::regclass, t.oid FROM pg_type t, ns WHERE t.typnamespace = ns.oid
      UNION ALL SELECT 'pg_proc'::regclass, p.oid FROM pg_proc p, ns WHERE p.pronamespace = ns.oid
      -- Collations, operators, text search configurations…: whatever else the schema holds
      -- (but its extensions, which move into the new schema).
      UNION ALL SELECT d.classid, d.objid FROM pg_depend d, ns
                 WHERE d.refclassid = 'pg_namespace'::regclass AND d.refobjid = ns.oid
                   AND d.classid <> 'pg_extension'::regclass
    ),
    deps AS (
      SELECT DISTINCT d.classid, d.objid, d.refclassid, d.refobjid
        FROM pg_depend d JOIN objs o ON o.classid = d.refclassid AND o.objid = d.refobjid
       WHERE d.deptype IN ('n', 'a')
         -- An extension's objects move with it: what uses them is not dropped.
         AND NOT EXISTS (SELECT 1 FROM pg_depend e
                          WHERE e.classid = d.refclassid AND e.objid = d.refobjid AND e.deptype = 'e')
    ),
    placed AS (
      -- The schema a dependent lives in: its own, or its table's or operator family's.
      SELECT d.*, CASE d.classid
          WHEN 'pg_class'::regclass THEN (SELECT relnamespace FROM pg_class WHERE oid = d.objid)
          WHEN 'pg_type'::regclass THEN (SELECT typnamespace FROM pg_type WHERE oid = d.objid)
          WHEN 'pg_proc'::regclass THEN (SELECT pronamespace FROM pg_proc WHERE oid = d.objid)
          WHEN 'pg_constraint'::regclass THEN (SELECT connamespace FROM pg_constraint WHERE oid = d.objid)
          WHEN 'pg_amproc'::regclass THEN (SELECT f.opfnamespace FROM pg_amproc p
                                             JOIN pg_opfamily f ON f.oid = p.amprocfamily WHERE p.oid = d.objid)
          WHEN 'pg_amop'::regclass THEN (SELECT f.opfnamespace FROM pg_amop p
                                           JOIN pg_opfamily f ON f.oid = p.amopfamily WHERE p.oid = d.objid)
          -- What hangs on a table (a default, a rule, a trigger, a policy) is in its table's
          -- schema; anything else where PostgreSQL names it.
          ELSE COALESCE(
            (SELECT relnamespace FROM pg_class WHERE oid = CASE d.classid
               WHEN 'pg_attrdef'::regclass THEN (SELECT adrelid FROM pg_attrdef WHERE oid = d.objid)
               WHEN 'pg_rewrite'::regclass THEN (SELECT ev_class FROM pg_rewrite WHERE oid = d.objid)
               WHEN 'pg_trigger'::regclass THEN (SELECT tgrelid FROM pg_trigger WHERE oid = d.objid)
               WHEN 'pg_policy'::regclass THEN (SELECT polrelid FROM pg_policy WHERE oid = d.objid)
             END),
            (SELECT oid FROM pg_namespace
              WHERE quote_ident(nspname) = (pg_identify_object(d.classid, d.objid, 0)).schema))
        END AS nsp
        FROM deps d
    )
    SELECT DISTINCT
           CASE WHEN p.classid = 'pg_rewrite'::regclass
                THEN pg_describe_object('pg_class'::regclass, r.ev_class, 0)
                ELSE pg_describe_object(p.classid, p.objid, 0) END AS dependent,
           pg_describe_object(p.refclassid, p.refobjid, 0) AS on_object
      FROM placed p
      LEFT JOIN pg_rewrite r ON p.classid = 'pg_rewrite'::regclass AND r.oid = p.objid
     WHERE p.nsp IS DISTINCT FROM (SELECT oid FROM ns)
       AND p.nsp IS DISTINCT FROM (SELECT oid FROM pg_namespace WHERE nspname = ${shadow})
       AND NOT EXISTS (SELECT 1 FROM pg_depend e
                        WHERE e.classid = p.classid AND e.objid = p.objid AND e.deptype = 'e')
     ORDER BY 1, 2`;
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
 */
export async function foreignDefaultPrivileges(
  conn: Conn,
  schema: string,
): Promise<ForeignDefaultPrivileges> {
  const rows = await conn`
    SELECT current_user AS role,
           COALESCE(json_agg(DISTINCT pg_get_userbyid(d.defaclrole))
                      FILTER (WHERE NOT pg_has_role(d.defaclrole, 'MEMBER')), '[]') AS owners
      FROM pg_default_acl d JOIN pg_namespace n ON n.oid = d.defaclnamespace
     WHERE n.nspname = ${schema}`;
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
 */
export async function dropLeftovers(
  conn: Conn,
  target: string,
  options: DropOptions,
): Promise<Leftovers> {
  const rows = await conn`
    SELECT n.nspname, obj_description(n.oid, 'pg_namespace') AS comment
      FROM pg_namespace n
     WHERE starts_with(n.nspname, ${SHADOW_PREFIX}) OR starts_with(n.nspname, ${OLD_PREFIX})
     ORDER BY n.nspname`;
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
 */
export async function lockHolders(conn: Conn, schema: string): Promise<string[]> {
  const rows = await conn`
    SELECT a.pid, a.application_name AS app,
           extract(epoch FROM now() - COALESCE(a.xact_start, a.backend_start))::float8 AS seconds,
           string_agg(DISTINCT l.mode || ' on ' ||
                        COALESCE('"' || c.relname || '"', 'the schema'), ', ') AS locks
      FROM pg_locks l
      JOIN pg_stat_activity a ON a.pid = l.pid
      LEFT JOIN pg_class c ON l.locktype = 'relation' AND c.oid = l.relation
     WHERE l.granted AND l.pid <> pg_backend_pid()
       AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
       -- Tables, not their indexes: what a person would stop.
       AND ((l.locktype = 'relation' AND c.relkind NOT IN ('i', 'I')
             AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = ${schema}))
            OR (l.locktype = 'object' AND l.classid = 'pg_namespace'::regclass
                AND l.objid = (SELECT oid FROM pg_namespace WHERE nspname = ${schema})))
     GROUP BY a.pid, a.application_name, a.xact_start, a.backend_start
     ORDER BY a.pid`;
  return rows.map((r) =>
    `pid ${r.pid} (application_name "${r.app}", in its transaction for ${
      Number(r.seconds).toFixed(1)
    }s) holds ${r.locks}`
  );
}
