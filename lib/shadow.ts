/**
 * The shadow schema a job builds in, and all the SQL pg-xmat runs on it: its creation and marker,
 * the names moved around it, the statements on its tables (truncate, index builds, keys,
 * sequences, `ANALYZE`, orphan counts), the swap and its removal. Pure functions.
 *
 * pg_dump writes every name qualified with the source schema. Renaming a schema keeps every
 * reference inside it (defaults, foreign keys, sequences are bound by OID), so the dumped DDL
 * runs inside one target transaction while the shadow schema carries the source schema's name,
 * and the names are put back before the transaction commits: no DDL text is ever rewritten.
 * If the target already has a schema of that name, it is renamed aside for the same moment
 * (nobody else sees it: the transaction is not committed). Extensions whose types the DDL names
 * are moved, for that moment, into the schema the DDL names them in.
 *
 * @example
 * ```ts
 * import { renameDance, shadowName } from "./shadow.ts";
 * const shadow = shadowName("staging", "a1b2c3");
 * const { prologue, epilogue } = renameDance({ sourceSchema: "public", shadow, aside: "_pgxmat_aside_a1b2c3", extensions: [] });
 * ```
 * @module
 */

import type { SequenceValue } from "./catalog.ts";
import type { Extension, ForeignKey } from "./source_objects.ts";
import type { Index } from "./indexes.ts";
import { qualify, quoteIdent, quoteLiteral } from "./sql.ts";

/**
 * Every shadow schema's name starts with this, so leftovers are recognisable.
 *
 * @example
 * ```ts
 * shadowNames("staging").shadow.startsWith(SHADOW_PREFIX); // true
 * ```
 */
export const SHADOW_PREFIX = "_pgxmat_shadow_";
/**
 * The old target schema, renamed by the swap until it is dropped, starts with this.
 *
 * @example
 * ```ts
 * shadowNames("staging").old.startsWith(OLD_PREFIX); // true
 * ```
 */
export const OLD_PREFIX = "_pgxmat_old_";
/** The name the target's own schema of the source schema's name takes during a dance. */
const ASIDE_PREFIX = "_pgxmat_aside_";
const MAX_IDENT = 63;

function truncateUtf8(text: string, bytes: number): string {
  const encoder = new TextEncoder();
  let out = "";
  for (const ch of text) {
    if (encoder.encode(out + ch).length > bytes) break;
    out += ch;
  }
  return out;
}

/**
 * `_pgxmat_shadow_<token>_<target>`, cut to PostgreSQL's 63-byte limit.
 *
 * @example
 * ```ts
 * shadowName("staging", "a1b2c3"); // "_pgxmat_shadow_a1b2c3_staging"
 * ```
 */
export function shadowName(target: string, token: string): string {
  return prefixedName(SHADOW_PREFIX, target, token);
}

function prefixedName(prefix: string, target: string, token: string): string {
  const head = `${prefix}${token}_`;
  return head + truncateUtf8(target, MAX_IDENT - head.length);
}

/**
 * A random lowercase token for shadow and aside names.
 *
 * @example
 * ```ts
 * newToken().length; // 8
 * ```
 */
export function newToken(): string {
  return crypto.randomUUID().replaceAll("-", "").slice(0, 8);
}

/** The names one run uses on the target. */
export interface ShadowNames {
  /** The schema the run builds, swapped in at the end. */
  shadow: string;
  /** The old target schema's name from the swap until it is dropped. */
  old: string;
  /** Where the target's own schema of the source schema's name waits during a dance. */
  aside: string;
}

/**
 * A run's names, from one new token.
 *
 * @example
 * ```ts
 * shadowNames("staging").shadow.startsWith("_pgxmat_shadow_"); // true
 * ```
 */
export function shadowNames(target: string): ShadowNames {
  const token = newToken();
  return {
    shadow: shadowName(target, token),
    old: prefixedName(OLD_PREFIX, target, token),
    aside: `${ASIDE_PREFIX}${token}`,
  };
}

/**
 * The marker written on a shadow schema, and on the old target schema the swap renames: which
 * target and job it belongs to, so that a later run recognises what a killed one left.
 */
export interface ShadowMarker {
  pgxmat: "shadow" | "old";
  target: string;
  job: string;
  started: string;
}

/**
 * `COMMENT ON SCHEMA shadow IS '{"pgxmat":"shadow",…}'`.
 *
 * @example
 * ```ts
 * markShadowSql("_pgxmat_shadow_x_t", { pgxmat: "shadow", target: "t", job: "j", started: "2026-01-01T00:00:00Z" });
 * ```
 */
export function markShadowSql(shadow: string, marker: ShadowMarker): string {
  return `COMMENT ON SCHEMA ${quoteIdent(shadow)} IS ${quoteLiteral(JSON.stringify(marker))}`;
}

/**
 * Reads a schema comment back as a marker; `undefined` for any other comment.
 *
 * @example
 * ```ts
 * parseMarker('{"pgxmat":"shadow","target":"t","job":"j","started":"x"}')?.target; // "t"
 * parseMarker("a user comment"); // undefined
 * ```
 */
export function parseMarker(comment: string | null | undefined): ShadowMarker | undefined {
  try {
    const value = JSON.parse(comment ?? "");
    return (value?.pgxmat === "shadow" || value?.pgxmat === "old") &&
        typeof value.target === "string"
      ? value
      : undefined;
  } catch {
    return undefined;
  }
}

/** An extension the restored DDL names, and where it is on the target right now. */
export interface ExtensionPlacement {
  name: string;
  /** Its schema on the source: where the DDL expects its objects. */
  sourceSchema: string;
  /** Its schema on the target, `undefined` when the target does not have it. */
  targetSchema?: string;
}

/** The names one dance moves. */
export interface Dance {
  /** The name the dumped DDL uses. */
  sourceSchema: string;
  /** The shadow schema (it exists, or `create` says to create it). */
  shadow: string;
  /** A free name for the target's own schema called `sourceSchema`, when the target has one. */
  aside?: string;
  /** Create the shadow schema first (the structure step). */
  create?: ShadowMarker;
  extensions: readonly ExtensionPlacement[];
}

/** What the target has, as a dance needs it. */
export interface TargetNames {
  schemas: ReadonlySet<string>;
  /** Extension name → its schema. */
  extensions: ReadonlyMap<string, string>;
}

/**
 * The dance of a run: the target's own schema of the source schema's name set aside when it has
 * one, and each extension the tables use placed as the source has it.
 *
 * @example
 * ```ts
 * const target = { schemas: new Set(["public"]), extensions: new Map([["citext", "public"]]) };
 * jobDance({ shadow: "sh", old: "o", aside: "a" }, "public", [{ name: "citext", schema: "public" }], target)
 *   .aside; // "a"
 * ```
 */
export function jobDance(
  names: ShadowNames,
  sourceSchema: string,
  extensions: readonly Extension[],
  target: TargetNames,
  create?: ShadowMarker,
): Dance {
  return {
    sourceSchema,
    shadow: names.shadow,
    aside: target.schemas.has(sourceSchema) ? names.aside : undefined,
    create,
    extensions: extensions.map((e) => ({
      name: e.name,
      sourceSchema: e.schema,
      targetSchema: target.extensions.get(e.name),
    })),
  };
}

/**
 * The statements around the dumped DDL: before it, the shadow schema carries the source
 * schema's name and the extensions sit where the DDL names them; after it, every name is back.
 *
 * @example
 * ```ts
 * renameDance({ sourceSchema: "acme", shadow: "sh", extensions: [] }).prologue;
 * // ['ALTER SCHEMA "sh" RENAME TO "acme"']
 * ```
 */
export function renameDance(d: Dance): { prologue: string[]; epilogue: string[] } {
  const prologue: string[] = [];
  const epilogue: string[] = [];
  if (d.create) {
    prologue.push(`CREATE SCHEMA ${quoteIdent(d.shadow)}`, markShadowSql(d.shadow, d.create));
  }
  if (d.aside) {
    prologue.push(`ALTER SCHEMA ${quoteIdent(d.sourceSchema)} RENAME TO ${quoteIdent(d.aside)}`);
  }
  prologue.push(`ALTER SCHEMA ${quoteIdent(d.shadow)} RENAME TO ${quoteIdent(d.sourceSchema)}`);
  for (const ext of d.extensions) {
    const name = quoteIdent(ext.name);
    const wanted = quoteIdent(ext.sourceSchema);
    if (ext.targetSchema === undefined) {
      prologue.push(`CREATE EXTENSION IF NOT EXISTS ${name} WITH SCHEMA ${wanted}`);
      continue;
    }
    // Where the extension is while the names are swapped.
    const during = ext.targetSchema === d.sourceSchema
      ? d.aside!
      : ext.targetSchema === d.shadow
      ? d.sourceSchema
      : ext.targetSchema;
    if (during === ext.sourceSchema) continue;
    prologue.push(`ALTER EXTENSION ${name} SET SCHEMA ${wanted}`);
    epilogue.push(`ALTER EXTENSION ${name} SET SCHEMA ${quoteIdent(during)}`);
  }
  epilogue.push(`ALTER SCHEMA ${quoteIdent(d.sourceSchema)} RENAME TO ${quoteIdent(d.shadow)}`);
  if (d.aside) {
    epilogue.push(`ALTER SCHEMA ${quoteIdent(d.aside)} RENAME TO ${quoteIdent(d.sourceSchema)}`);
  }
  return { prologue, epilogue };
}

/** What the swap replaces. */
export interface Swap {
  shadow: string;
  target: string;
  /**
   * What happens to the old target schema, when there is one: dropped in the swap's
   * transaction when its locks fit the run's budget, else renamed to `old.name` (and marked) to
   * be dropped in batches after the swap.
   */
  old?: { drop: true } | { drop: false; name: string; marker: ShadowMarker };
  /** Extensions living in the old target schema: moved into the new one, not dropped with it. */
  extensionsInTarget: readonly string[];
  /**
   * The old schema's owner, given the new one (the shadow belongs to the role running the job);
   * `null` for a new target schema, which stays as `CREATE SCHEMA` by that role made it.
   */
  owner: string | null;
  /**
   * `GRANT` (and `REVOKE`, for what the old owner had given up) statements that carry the old
   * schema's and its tables' privileges over.
   */
  grants: readonly string[];
  /** The old schema's comment, kept on the new one. */
  comment: string | null;
}

/**
 * The statements of the swap transaction.
 *
 * @example
 * ```ts
 * swapSql({ shadow: "sh", target: "t", old: { drop: true }, owner: "app", extensionsInTarget: [], grants: [], comment: null });
 * // ['DROP SCHEMA "t" CASCADE', 'ALTER SCHEMA "sh" RENAME TO "t"', 'ALTER SCHEMA "t" OWNER TO "app"',
 * //  'COMMENT ON SCHEMA "t" IS NULL']
 * ```
 */
export function swapSql(s: Swap): string[] {
  const statements: string[] = [];
  for (const ext of s.extensionsInTarget) {
    statements.push(`ALTER EXTENSION ${quoteIdent(ext)} SET SCHEMA ${quoteIdent(s.shadow)}`);
  }
  if (s.old?.drop) statements.push(`DROP SCHEMA ${quoteIdent(s.target)} CASCADE`);
  else if (s.old) {
    statements.push(
      `ALTER SCHEMA ${quoteIdent(s.target)} RENAME TO ${quoteIdent(s.old.name)}`,
      markShadowSql(s.old.name, s.old.marker),
    );
  }
  statements.push(`ALTER SCHEMA ${quoteIdent(s.shadow)} RENAME TO ${quoteIdent(s.target)}`);
  // Before the grants: they are then recorded as given by the owner, as the old ones were.
  if (s.owner !== null) {
    statements.push(`ALTER SCHEMA ${quoteIdent(s.target)} OWNER TO ${quoteIdent(s.owner)}`);
  }
  statements.push(
    `COMMENT ON SCHEMA ${quoteIdent(s.target)} IS ${
      s.comment === null ? "NULL" : quoteLiteral(s.comment)
    }`,
  );
  statements.push(...s.grants);
  return statements;
}

/**
 * Drops a schema and everything in it (a shadow, a leftover of a killed run).
 *
 * @example
 * ```ts
 * dropSchemaSql("sh"); // 'DROP SCHEMA IF EXISTS "sh" CASCADE'
 * ```
 */
export function dropSchemaSql(schema: string): string {
  return `DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`;
}

/**
 * Empties a table so that `COPY … FREEZE` may load it in the same transaction.
 *
 * @example
 * ```ts
 * truncateSql("sh", "t"); // 'TRUNCATE ONLY "sh"."t"'
 * ```
 */
export function truncateSql(schema: string, table: string): string {
  return `TRUNCATE ONLY ${qualify(schema, table)}`;
}

/**
 * Gathers a loaded table's statistics.
 *
 * @example
 * ```ts
 * analyzeSql("sh", "t"); // 'ANALYZE "sh"."t"'
 * ```
 */
export function analyzeSql(schema: string, table: string): string {
  return `ANALYZE ${qualify(schema, table)}`;
}

/**
 * Puts a sequence of `schema` where the source's was.
 *
 * @example
 * ```ts
 * setvalSql("sh", { name: "s", lastValue: "42", isCalled: true });
 * // `SELECT pg_catalog.setval('"sh"."s"'::regclass, 42, true)`
 * ```
 */
export function setvalSql(schema: string, sequence: SequenceValue): string {
  const name = quoteLiteral(qualify(schema, sequence.name));
  return `SELECT pg_catalog.setval(${name}::regclass, ${
    BigInt(sequence.lastValue)
  }, ${sequence.isCalled})`;
}

/**
 * Creates a foreign key without checking the rows already there (they include orphans).
 *
 * @example
 * ```ts
 * foreignKeyNotValidSql("sh", { table: "o", name: "o_c_fkey", definition: "FOREIGN KEY (c) REFERENCES c(id)" });
 * // 'ALTER TABLE "sh"."o" ADD CONSTRAINT "o_c_fkey" FOREIGN KEY (c) REFERENCES c(id) NOT VALID'
 * ```
 */
export function foreignKeyNotValidSql(
  schema: string,
  fk: Pick<ForeignKey, "table" | "name" | "definition">,
): string {
  return `ALTER TABLE ${qualify(schema, fk.table)} ADD CONSTRAINT ${
    quoteIdent(fk.name)
  } ${fk.definition} NOT VALID`;
}

/**
 * Counts a foreign key's rows in `schema` whose parent row is missing (`n`). Run it with the
 * schemas of the key's types on the search path: `=` must be the key's own operator.
 *
 * @example
 * ```ts
 * orphanCountSql("sh", { table: "o", columns: ["c"], refTable: "c", refColumns: ["id"] });
 * // 'SELECT count(*)::int8 AS n FROM "sh"."o" c WHERE c."c" IS NOT NULL AND NOT EXISTS (…)'
 * ```
 */
export function orphanCountSql(
  schema: string,
  fk: Pick<ForeignKey, "table" | "columns" | "refTable" | "refColumns">,
): string {
  const child = qualify(schema, fk.table);
  const parent = qualify(schema, fk.refTable);
  const notNull = fk.columns.map((c) => `c.${quoteIdent(c)} IS NOT NULL`).join(" AND ");
  const match = fk.columns.map((c, i) => `p.${quoteIdent(fk.refColumns[i])} = c.${quoteIdent(c)}`)
    .join(" AND ");
  return `SELECT count(*)::int8 AS n FROM ${child} c WHERE ${notNull} AND NOT EXISTS (SELECT 1 FROM ${parent} p WHERE ${match})`;
}

/**
 * `CREATE INDEX` of a source index on `schema`'s table: pg-xmat's own `CREATE INDEX name ON
 * schema.table`, then PostgreSQL's rendering of the index from `USING` on, which names no schema
 * (see `Index.apart`).
 *
 * @example
 * ```ts
 * createIndexSql("sh", { name: "t_pkey", table: "t", unique: true, prefix: "CREATE UNIQUE INDEX t_pkey ON s.t USING ", definition: "CREATE UNIQUE INDEX t_pkey ON s.t USING btree (id)" });
 * // 'CREATE UNIQUE INDEX "t_pkey" ON "sh"."t" USING btree (id)'
 * ```
 */
export function createIndexSql(
  schema: string,
  index: Pick<Index, "name" | "table" | "unique" | "prefix" | "definition">,
): string {
  const rest = index.definition.slice(index.prefix.length);
  return `CREATE ${index.unique ? "UNIQUE " : ""}INDEX ${quoteIdent(index.name)} ON ${
    qualify(schema, index.table)
  } USING ${rest}`;
}

/**
 * Makes a built index the primary key or unique constraint it implements on the source.
 *
 * @example
 * ```ts
 * constraintUsingIndexSql("sh", "t", "t_pkey", { name: "t_pkey", type: "p", deferrable: false, deferred: false });
 * // 'ALTER TABLE ONLY "sh"."t" ADD CONSTRAINT "t_pkey" PRIMARY KEY USING INDEX "t_pkey"'
 * ```
 */
export function constraintUsingIndexSql(
  schema: string,
  table: string,
  index: string,
  k: Omit<NonNullable<Index["constraint"]>, "oid">,
): string {
  return `ALTER TABLE ONLY ${qualify(schema, table)} ADD CONSTRAINT ${quoteIdent(k.name)} ${
    k.type === "p" ? "PRIMARY KEY" : "UNIQUE"
  } USING INDEX ${quoteIdent(index)}${k.deferrable ? " DEFERRABLE" : ""}${
    k.deferred ? " INITIALLY DEFERRED" : ""
  }`;
}
