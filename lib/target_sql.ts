/**
 * The queries pg-xmat reads and locks the target with: the run's advisory locks (the target
 * schema, a borrowed schema name), the target's schemas and extensions, what
 * depends on the target schema, default privileges, leftovers of killed runs, who holds locks,
 * whether the source is the target's own database, what the swap keeps of the old schema, and the
 * statistics flush before the copy step's `ANALYZE`.
 * Pure text with `$n` parameters (names are passed as parameters, never inlined); the modules
 * that run them (`target.ts`, the swap step) read the rows.
 *
 * @example
 * ```ts
 * import { LOCK_TARGET_SQL } from "./target_sql.ts";
 * import type { Conn } from "./connect.ts";
 * declare const conn: Conn;
 * const [{ locked }] = await conn.unsafe(LOCK_TARGET_SQL, ["pg-xmat", "staging"]);
 * ```
 * @module
 */

/**
 * Takes the session-level advisory lock of target schema `$2` in namespace `$1` without waiting
 * (`locked`).
 *
 * @example
 * ```ts
 * import type { Conn } from "./connect.ts";
 * declare const conn: Conn;
 * await conn.unsafe(LOCK_TARGET_SQL, ["pg-xmat", "staging"]);
 * ```
 */
export const LOCK_TARGET_SQL = `
    SELECT pg_try_advisory_lock(hashtext($1), hashtext($2)) AS locked`;

/**
 * Takes the session-level advisory lock of borrowed schema name `$2` in namespace `$1` without
 * waiting (`locked`).
 *
 * @example
 * ```ts
 * import type { Conn } from "./connect.ts";
 * declare const conn: Conn;
 * await conn.unsafe(LOCK_NAME_SQL, ["pg-xmat borrowed name", "public"]);
 * ```
 */
export const LOCK_NAME_SQL = `
      SELECT pg_try_advisory_lock(hashtext($1), hashtext($2)) AS locked`;

/**
 * The session that holds the advisory lock of name `$2` in namespace `$1` in this database: its
 * pid, `application_name` and seconds since its state changed.
 *
 * @example
 * ```ts
 * import type { Conn } from "./connect.ts";
 * declare const conn: Conn;
 * await conn.unsafe(NAME_HOLDER_SQL, ["pg-xmat borrowed name", "public"]);
 * ```
 */
export const NAME_HOLDER_SQL = `
      SELECT l.pid, a.application_name,
             extract(epoch FROM now() - a.state_change)::float8 AS seconds
        FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
       WHERE l.locktype = 'advisory' AND l.granted
         AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
         AND l.classid = hashtext($1)::oid AND l.objid = hashtext($2)::oid`;

/**
 * Gives back the advisory lock of name `$2` in namespace `$1`.
 *
 * @example
 * ```ts
 * import type { Conn } from "./connect.ts";
 * declare const conn: Conn;
 * await conn.unsafe(UNLOCK_NAME_SQL, ["pg-xmat borrowed name", "public"]);
 * ```
 */
export const UNLOCK_NAME_SQL = `SELECT pg_advisory_unlock(hashtext($1), hashtext($2))`;

/**
 * The owner of schema `$1`, whether the current role may rename it (is a member of the owner), and
 * the current role; no row when there is no such schema.
 *
 * @example
 * ```ts
 * import type { Conn } from "./connect.ts";
 * declare const conn: Conn;
 * await conn.unsafe(SCHEMA_OWNER_SQL, ["public"]);
 * ```
 */
export const SCHEMA_OWNER_SQL = `
    SELECT pg_get_userbyid(nspowner) AS owner, pg_has_role(nspowner, 'USAGE') AS may_rename,
           current_user AS role
      FROM pg_namespace WHERE nspname = $1`;

/**
 * The names of the database's schemas.
 *
 * @example
 * ```ts
 * import type { Conn } from "./connect.ts";
 * declare const conn: Conn;
 * await conn.unsafe(SCHEMAS_SQL);
 * ```
 */
export const SCHEMAS_SQL = `SELECT nspname FROM pg_namespace`;

/**
 * The database's extensions, each with its schema.
 *
 * @example
 * ```ts
 * import type { Conn } from "./connect.ts";
 * declare const conn: Conn;
 * await conn.unsafe(EXTENSIONS_SQL);
 * ```
 */
export const EXTENSIONS_SQL = `
    SELECT x.extname, n.nspname FROM pg_extension x JOIN pg_namespace n ON n.oid = x.extnamespace`;

/**
 * The objects outside schema `$1` (and outside schema `$2`, the shadow that replaces it) that
 * depend on objects in it, each described as PostgreSQL does, with what it depends on.
 *
 * @example
 * ```ts
 * import type { Conn } from "./connect.ts";
 * declare const conn: Conn;
 * await conn.unsafe(DEPENDENTS_SQL, ["staging", "_pgxmat_shadow_1a2b3c4d_staging"]);
 * ```
 */
export const DEPENDENTS_SQL = `
    WITH ns AS (SELECT oid FROM pg_namespace WHERE nspname = $1),
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
       AND p.nsp IS DISTINCT FROM (SELECT oid FROM pg_namespace WHERE nspname = $2)
       AND NOT EXISTS (SELECT 1 FROM pg_depend e
                        WHERE e.classid = p.classid AND e.objid = p.objid AND e.deptype = 'e')
     ORDER BY 1, 2`;

/**
 * The current role, and the roles whose default privileges in schema `$1` it could not give again
 * (it is not a member of them).
 *
 * @example
 * ```ts
 * import type { Conn } from "./connect.ts";
 * declare const conn: Conn;
 * await conn.unsafe(DEFAULT_PRIVILEGES_SQL, ["staging"]);
 * ```
 */
export const DEFAULT_PRIVILEGES_SQL = `
    SELECT current_user AS role,
           COALESCE(json_agg(DISTINCT pg_get_userbyid(d.defaclrole))
                      FILTER (WHERE NOT pg_has_role(d.defaclrole, 'MEMBER')), '[]') AS owners
      FROM pg_default_acl d JOIN pg_namespace n ON n.oid = d.defaclnamespace
     WHERE n.nspname = $1`;

/**
 * The schemas whose names start with `$1` or `$2` (shadow and old schemas of runs), with their
 * comments (the markers).
 *
 * @example
 * ```ts
 * import type { Conn } from "./connect.ts";
 * declare const conn: Conn;
 * await conn.unsafe(LEFTOVERS_SQL, ["_pgxmat_shadow_", "_pgxmat_old_"]);
 * ```
 */
export const LEFTOVERS_SQL = `
    SELECT n.nspname, obj_description(n.oid, 'pg_namespace') AS comment
      FROM pg_namespace n
     WHERE starts_with(n.nspname, $1) OR starts_with(n.nspname, $2)
     ORDER BY n.nspname`;

/**
 * The other sessions holding locks on schema `$1` or its tables, each with its pid,
 * `application_name`, seconds in its transaction and the locks it holds.
 *
 * @example
 * ```ts
 * import type { Conn } from "./connect.ts";
 * declare const conn: Conn;
 * await conn.unsafe(LOCK_HOLDERS_SQL, ["staging"]);
 * ```
 */
export const LOCK_HOLDERS_SQL = `
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
             AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1))
            OR (l.locktype = 'object' AND l.classid = 'pg_namespace'::regclass
                AND l.objid = (SELECT oid FROM pg_namespace WHERE nspname = $1)))
     GROUP BY a.pid, a.application_name, a.xact_start, a.backend_start
     ORDER BY a.pid`;

/**
 * What the swap keeps of target schema `$2` when shadow schema `$1` replaces it: its OID, comment
 * and owner, the statements that give its privileges, its tables' grants (for the shadow's tables
 * of the same name) and its default privileges again, and its extensions; no row when there is no
 * such schema.
 *
 * @example
 * ```ts
 * import type { Conn } from "./connect.ts";
 * declare const conn: Conn;
 * await conn.unsafe(OLD_SCHEMA_SQL, ["_pgxmat_shadow_1a2b3c4d_staging", "staging"]);
 * ```
 */
export const OLD_SCHEMA_SQL = `
        SELECT n.oid, obj_description(n.oid, 'pg_namespace') AS comment,
               pg_get_userbyid(n.nspowner) AS owner,
               -- What the owner revoked from itself stays revoked (a NULL ACL is the default).
               COALESCE((SELECT jsonb_agg(format('REVOKE %s ON SCHEMA %I FROM %I', p, n.nspname,
                                                 pg_get_userbyid(n.nspowner)))
                  FROM unnest(ARRAY['USAGE', 'CREATE']) p
                 WHERE n.nspacl IS NOT NULL
                   AND NOT EXISTS (SELECT 1 FROM aclexplode(n.nspacl) a
                                    WHERE a.grantee = n.nspowner AND a.privilege_type = p)), '[]')
               || COALESCE((SELECT jsonb_agg(format('GRANT %s ON SCHEMA %I TO %s%s', a.privilege_type,
                          n.nspname,
                          CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END,
                          CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END))
                  FROM aclexplode(n.nspacl) a
                 WHERE a.grantee <> n.nspowner), '[]')
               || COALESCE((
                 -- The old tables' and sequences' grants, for the new ones of the same name.
                 SELECT jsonb_agg(format('GRANT %s ON %s %I.%I TO %s%s', a.privilege_type,
                          CASE WHEN c.relkind = 'S' THEN 'SEQUENCE' ELSE 'TABLE' END,
                          n.nspname, c.relname,
                          CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END,
                          CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END)
                          ORDER BY c.relname, a.privilege_type)
                   FROM pg_class c, aclexplode(c.relacl) a
                  WHERE c.relnamespace = n.oid AND a.grantee <> c.relowner
                    AND EXISTS (SELECT 1 FROM pg_class s JOIN pg_namespace sn ON sn.oid = s.relnamespace
                                 WHERE sn.nspname = $1 AND s.relname = c.relname
                                   AND (s.relkind = 'S') = (c.relkind = 'S'))), '[]')
               || COALESCE((
                 -- Default privileges given in the old schema (dropped with it) for the new one.
                 SELECT jsonb_agg(format(
                          'ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA %I GRANT %s ON %s TO %s%s',
                          pg_get_userbyid(d.defaclrole), n.nspname, a.privilege_type,
                          CASE d.defaclobjtype WHEN 'r' THEN 'TABLES' WHEN 'S' THEN 'SEQUENCES'
                               WHEN 'f' THEN 'FUNCTIONS' WHEN 'T' THEN 'TYPES' END,
                          CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END,
                          CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END)
                          ORDER BY d.defaclrole, d.defaclobjtype, a.grantee, a.privilege_type)
                   FROM pg_default_acl d, aclexplode(d.defaclacl) a
                  WHERE d.defaclnamespace = n.oid), '[]')
                 AS grants,
               (SELECT json_agg(x.extname) FROM pg_extension x WHERE x.extnamespace = n.oid)
                 AS extensions
          FROM pg_namespace n WHERE n.nspname = $2`;

/** A server's system identifier and the current database's OID, as `sameDatabase` compares them. */
const IDENTITY = `(SELECT system_identifier FROM pg_control_system())::text AS system,
    (SELECT oid FROM pg_database WHERE datname = current_database())::int8 AS database`;

/**
 * The target session's pid, its server's system identifier and its database's OID.
 *
 * @example
 * ```ts
 * import type { Conn } from "./connect.ts";
 * declare const conn: Conn;
 * await conn.unsafe(TARGET_IDENTITY_SQL);
 * ```
 */
export const TARGET_IDENTITY_SQL = `SELECT pg_backend_pid() AS pid, ${IDENTITY}`;

/**
 * Whether the session `$1` holds, in this very database, the advisory lock of target schema `$3`
 * in namespace `$2` (`same`); whether this server is a standby, its system identifier and this
 * database's OID.
 *
 * @example
 * ```ts
 * import type { Conn } from "./connect.ts";
 * declare const conn: Conn;
 * await conn.unsafe(SAME_DATABASE_SQL, [4242, "pg-xmat", "staging"]);
 * ```
 */
export const SAME_DATABASE_SQL = `SELECT EXISTS (
       SELECT 1 FROM pg_locks
        WHERE locktype = 'advisory' AND pid = $1
          AND classid = hashtext($2)::oid AND objid = hashtext($3)::oid
          AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
     ) AS same, pg_is_in_recovery() AS standby, ${IDENTITY}`;

/**
 * Whether this session may ask the server to count its committed rows at once (`flush`):
 * `pg_stat_force_next_flush()`, from PostgreSQL 15 on, which only superusers may run unless
 * granted. See `FLUSH_STATS_SQL`.
 *
 * @example
 * ```ts
 * import type { Conn } from "./connect.ts";
 * declare const conn: Conn;
 * const [{ flush }] = await conn.unsafe(MAY_FLUSH_STATS_SQL);
 * ```
 */
export const MAY_FLUSH_STATS_SQL = `
  SELECT COALESCE(has_function_privilege(to_regproc('pg_catalog.pg_stat_force_next_flush')::oid,
                                         'EXECUTE'), false) AS flush`;

/**
 * Makes the server count the session's committed inserts as soon as the statement ends (else up
 * to a second later): an `ANALYZE` after it then leaves the table with no changes since, and
 * autovacuum has nothing to analyse again.
 *
 * @example
 * ```ts
 * import type { Conn } from "./connect.ts";
 * declare const conn: Conn;
 * await conn.unsafe(FLUSH_STATS_SQL);
 * ```
 */
export const FLUSH_STATS_SQL = "SELECT pg_catalog.pg_stat_force_next_flush()";
