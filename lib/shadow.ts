/**
 * The shadow schema a job builds in, and the SQL that moves names around it. Pure functions.
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

import { quoteIdent, quoteLiteral } from "./sql.ts";

/** Every shadow schema's name starts with this, so leftovers are recognisable. */
export const SHADOW_PREFIX = "_pgxmat_shadow_";
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
  const head = `${SHADOW_PREFIX}${token}_`;
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

/** The marker written on a shadow schema: which target and job it belongs to. */
export interface ShadowMarker {
  pgxmat: "shadow";
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
    return value?.pgxmat === "shadow" && typeof value.target === "string" ? value : undefined;
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
  /** The target schema exists and is dropped first. */
  targetExists: boolean;
  /** Extensions living in the old target schema: moved into the new one, not dropped with it. */
  extensionsInTarget: readonly string[];
  /** `GRANT` statements that carry the old schema's and its tables' privileges over. */
  grants: readonly string[];
  /** The old schema's comment, kept on the new one. */
  comment: string | null;
}

/**
 * The statements of the swap transaction.
 *
 * @example
 * ```ts
 * swapSql({ shadow: "sh", target: "t", targetExists: true, extensionsInTarget: [], grants: [], comment: null });
 * // ['DROP SCHEMA "t" CASCADE', 'ALTER SCHEMA "sh" RENAME TO "t"', 'COMMENT ON SCHEMA "t" IS NULL']
 * ```
 */
export function swapSql(s: Swap): string[] {
  const statements: string[] = [];
  for (const ext of s.extensionsInTarget) {
    statements.push(`ALTER EXTENSION ${quoteIdent(ext)} SET SCHEMA ${quoteIdent(s.shadow)}`);
  }
  if (s.targetExists) statements.push(`DROP SCHEMA ${quoteIdent(s.target)} CASCADE`);
  statements.push(`ALTER SCHEMA ${quoteIdent(s.shadow)} RENAME TO ${quoteIdent(s.target)}`);
  statements.push(
    `COMMENT ON SCHEMA ${quoteIdent(s.target)} IS ${
      s.comment === null ? "NULL" : quoteLiteral(s.comment)
    }`,
  );
  statements.push(...s.grants);
  return statements;
}
