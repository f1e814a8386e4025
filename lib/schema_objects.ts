/**
 * Which objects of the source schema a job brings, and why the others stay behind. The catalog
 * walk (`readStructure` in `source_objects.ts`) gives every object reachable from each root — a copied
 * table, a view or materialized view, or any other object of the schema — with the relations it
 * cannot be created without; this module decides, per the job's `objects` mode, which roots come
 * along (a view only when every relation it reads comes too), and names what is left out with a
 * reason and what to do (the routines it brings are `routines.ts`'s). Pure functions.
 *
 * @example
 * ```ts
 * import { chooseObjects, type ObjectGraph } from "./schema_objects.ts";
 * declare const { nodes, tables, relations }: ObjectGraph;
 * const choice = chooseObjects({ schema: "shop", mode: "dependent", nodes, tables, relations });
 * choice.leftOut.map((o) => `${o.type} ${o.name}: ${o.reason}`);
 * ```
 * @module
 */

import { quoteIdent } from "./sql.ts";
import { type TocEntry, tocKey } from "./toc.ts";
import type { LeftOutObject, ObjectsMode } from "./types.ts";

const SYSTEM_SCHEMAS = ["pg_catalog", "information_schema", "pg_toast"];

/** A relation an object cannot be created without. */
export interface RelationNeed {
  /** `1259:<oid>` */
  key: string;
  schema: string;
  name: string;
  /** `table`, `view`, `materialized view` or `foreign table`. */
  kind: string;
  /** `schema.name`, quoted as needed. */
  identity: string;
}

/** One object the catalog walk reached. */
export interface ObjectNode {
  /** `catalogOid:objectOid`, as the dump's table of contents identifies it. */
  key: string;
  /** `function`, `view`, `enum type`, `table constraint`, … */
  type: string;
  /** Its schema, quoted as needed; `null` for what has none (a default, a trigger). */
  schema: string | null;
  /** It lives in the source schema. */
  inSchema: boolean;
  /** Schema-qualified, quoted as needed (a routine with its argument types). */
  identity: string;
  /** A sub-object of a root relation (its default, constraint, index, trigger, rule, policy). */
  owned: boolean;
  /** The extension it belongs to, and that extension's schema. */
  extension?: { name: string; schema: string };
  /** Relations it cannot be created without (its own relation included, for a sub-object). */
  needs: RelationNeed[];
  /** The roots whose walk reached it (`catalogOid:objectOid`). */
  roots: string[];
}

/** A view, materialized view or foreign table of the source schema. */
export interface SchemaRelation {
  /** `1259:<oid>` */
  key: string;
  oid: number;
  name: string;
  kind: "view" | "materialized view" | "foreign table";
  /** A materialized view holds rows on the source (`relispopulated`). */
  populated: boolean;
}

/** What `chooseObjects` decides from. */
export interface ObjectGraph {
  schema: string;
  mode: ObjectsMode;
  nodes: readonly ObjectNode[];
  /** `1259:<oid>` of the copied tables (the roots) and of their partitions. */
  tables: { roots: ReadonlySet<string>; relations: ReadonlySet<string> };
  relations: readonly SchemaRelation[];
}

/** What a job brings of its source schema. */
export interface ObjectChoice {
  /** `catalogOid:objectOid` of every object of the source schema to restore. */
  objects: Set<string>;
  /** The views and materialized views brought. */
  relations: SchemaRelation[];
  extensions: { name: string; schema: string }[];
  /** Objects in other schemas the brought objects need, which the target must have. */
  outside: string[];
  /** What the copied tables need that the job does not bring (`table shop.a needs view "v"`). */
  missing: string[];
  leftOut: LeftOutObject[];
  /** `catalogOid:objectOid` of the objects left out. */
  leftOutKeys: Set<string>;
}

/**
 * Decides which objects a job brings (see the module's documentation).
 *
 * @example
 * ```ts
 * const choice = chooseObjects({
 *   schema: "shop", mode: "dependent",
 *   tables: { roots: new Set(["1259:10"]), relations: new Set(["1259:10"]) },
 *   relations: [{ key: "1259:20", oid: 20, name: "v", kind: "view", populated: true }],
 *   nodes: [
 *     { key: "1259:10", type: "table", schema: "shop", inSchema: true, identity: "shop.t", owned: true, needs: [], roots: ["1259:10"] },
 *     { key: "1259:20", type: "view", schema: "shop", inSchema: true, identity: "shop.v", owned: true, needs: [], roots: ["1259:20"] },
 *   ],
 * });
 * [...choice.objects]; // ["1259:10", "1259:20"]
 * ```
 */
export function chooseObjects(graph: ObjectGraph): ObjectChoice {
  const { schema, mode, tables } = graph;
  const byRoot = new Map<string, ObjectNode[]>();
  for (const node of graph.nodes) {
    for (const root of node.roots) {
      const list = byRoot.get(root) ?? [];
      list.push(node);
      byRoot.set(root, list);
    }
  }
  const nodeOf = new Map(graph.nodes.map((n) => [n.key, n]));
  /** Each root's needs of relations other than itself, with the object that has the need. */
  const needsOf = (root: string) =>
    (byRoot.get(root) ?? []).flatMap((node) =>
      node.needs.filter((need) => need.key !== root).map((need) => ({ need, node }))
    );
  const views = graph.relations.filter((r) => r.kind !== "foreign table");
  // Views start in and leave while one reads a relation that is not brought.
  const brought = new Set<string>(mode === "tables" ? [] : views.map((v) => v.key));
  const isBrought = (need: RelationNeed) =>
    need.schema !== schema || tables.relations.has(need.key) || brought.has(need.key);
  const blocker = new Map<string, { need: RelationNeed; node: ObjectNode }>();
  for (let changed = true; changed;) {
    changed = false;
    for (const view of views.filter((v) => brought.has(v.key))) {
      const unmet = needsOf(view.key).find(({ need }) => !isBrought(need));
      if (!unmet) continue;
      brought.delete(view.key);
      blocker.set(view.key, unmet);
      changed = true;
    }
  }
  const otherRoots = [...byRoot.keys()].filter((k) =>
    !tables.roots.has(k) && !graph.relations.some((r) => r.key === k)
  );
  const chosenOthers = new Set<string>();
  if (mode === "all") {
    for (const root of otherRoots) {
      const unmet = needsOf(root).find(({ need }) => !isBrought(need));
      if (unmet) blocker.set(root, unmet);
      else chosenOthers.add(root);
    }
  }
  const chosenRoots = new Set([...tables.roots, ...brought, ...chosenOthers]);

  const objects = new Set<string>();
  const extensions = new Map<string, { name: string; schema: string }>();
  const outside = new Set<string>();
  for (const node of graph.nodes) {
    if (!node.roots.some((r) => chosenRoots.has(r))) continue;
    for (const need of node.needs) {
      if (need.schema !== schema) outside.add(`${need.kind} ${need.identity}`);
    }
    if (node.extension) extensions.set(node.extension.name, node.extension);
    // What belongs to a root relation (a default, a trigger) may have no schema of its own.
    else if (node.owned || node.inSchema) objects.add(node.key);
    else if (
      node.schema && !SYSTEM_SCHEMAS.includes(node.schema) && node.type !== "schema" &&
      !node.identity.endsWith("[]") // an array type goes with its element type
    ) outside.add(`${node.type} ${node.identity}`);
  }
  const missing = new Set<string>();
  for (const root of tables.roots) {
    for (const { need, node } of needsOf(root)) {
      if (!isBrought(need)) {
        missing.add(
          `${node.type} ${node.identity} needs ${need.kind} ${JSON.stringify(need.name)}`,
        );
      }
    }
  }

  const leftOut: LeftOutObject[] = [];
  const because = (unmet: { need: RelationNeed; node: ObjectNode }, root: string) => {
    // A view's query is its _RETURN rule: that is the view itself.
    const itself = unmet.node.key === root || /^"?_RETURN"? on /.test(unmet.node.identity);
    const through = itself ? "" : ` (through ${unmet.node.type} ${unmet.node.identity})`;
    const state = unmet.need.kind === "table" ? "the job does not copy" : "is left out";
    return `it needs ${unmet.need.kind} ${
      JSON.stringify(unmet.need.name)
    }${through}, which ${state}`;
  };
  // What to do is what the first relation in the chain that is not brought needs.
  const todoFor = (need: RelationNeed, depth = 0): string => {
    const next = blocker.get(need.key);
    if (need.kind === "table") {
      return `add table ${
        JSON.stringify(need.name)
      } to the job (\`where: "false"\` copies its structure only)`;
    }
    if (need.kind === "foreign table") {
      return `pg-xmat copies no foreign tables: create foreign table ${
        JSON.stringify(need.name)
      } and then this object on the target yourself`;
    }
    if (next && depth < 100) return todoFor(next.need, depth + 1);
    return 'set `objects: "dependent"` (or `"all"`) in the job';
  };
  const leftOutKeys = new Set<string>();
  for (const r of graph.relations) {
    if (brought.has(r.key)) continue;
    leftOutKeys.add(r.key);
    const unmet = blocker.get(r.key);
    if (r.kind === "foreign table") {
      leftOut.push({
        type: r.kind,
        name: `${schema}.${r.name}`,
        reason:
          "pg-xmat copies no foreign tables (their server and user mapping are not in the schema)",
        todo: "create the server, the user mapping and the foreign table on the target",
      });
    } else if (unmet) {
      leftOut.push({
        type: r.kind,
        name: nodeOf.get(r.key)?.identity ?? r.name,
        reason: because(unmet, r.key),
        todo: todoFor(unmet.need),
      });
    } else {
      leftOut.push({
        type: r.kind,
        name: nodeOf.get(r.key)?.identity ?? r.name,
        reason: 'the job brings tables only (objects: "tables")',
        todo: 'set `objects: "dependent"` (or `"all"`) in the job',
      });
    }
  }
  for (const root of otherRoots) {
    if (objects.has(root) || chosenOthers.has(root)) continue;
    const node = nodeOf.get(root);
    if (!node || node.extension) continue;
    leftOutKeys.add(root);
    const unmet = blocker.get(root);
    leftOut.push(
      unmet
        ? {
          type: node.type,
          name: node.identity,
          reason: because(unmet, root),
          todo: todoFor(unmet.need),
        }
        : {
          type: node.type,
          name: node.identity,
          reason: `no copied table or view needs it (objects: "${mode}")`,
          todo: 'set `objects: "all"` in the job to bring the whole schema',
        },
    );
  }
  return {
    objects,
    relations: views.filter((v) => brought.has(v.key)),
    extensions: [...extensions.values()].sort((a, b) => a.name.localeCompare(b.name)),
    outside: [...outside].sort(),
    missing: [...missing].sort(),
    leftOut,
    leftOutKeys,
  };
}

/** An entry of the dump, as `describeEntry` names it, with its `catalogOid:objectOid`. */
export interface DumpedObject {
  key: string;
  type: string;
  name: string;
}

/** Kinds of entries a run never restores on purpose: the target keeps its own privileges. */
const NOT_RESTORED = ["ACL", "DEFAULT ACL"];

/**
 * The dump's entries that are neither restored nor known to be left out: kinds pg-xmat does not
 * handle, listed so that nothing is left out in silence.
 *
 * @example
 * ```ts
 * unhandledObjects([{ key: "9999:1", type: "WIDGET", name: "w" }], new Set(), new Set(), "shop");
 * // [{ type: "WIDGET", name: "shop.w", reason: "pg-xmat does not handle this kind of object", todo: "create it on the target yourself" }]
 * ```
 */
export function unhandledObjects(
  dumped: readonly DumpedObject[],
  restored: ReadonlySet<string>,
  explained: ReadonlySet<string>,
  schema: string,
): LeftOutObject[] {
  return dumped
    .filter((o) =>
      !restored.has(o.key) && !explained.has(o.key) && !NOT_RESTORED.includes(o.type) &&
      !/^(0|2615|1262):/.test(o.key) // OID-less entries, the schema, the database
    )
    .map((o) => ({
      type: o.type,
      name: `${schema}.${o.name}`,
      reason: "pg-xmat does not handle this kind of object",
      todo: "create it on the target yourself",
    }));
}

/** What `refreshSql` gives: the statements, and what stays unfilled for want of another. */
export interface Refresh {
  statements: string[];
  /** Materialized views the source holds rows in that read one it does not: left unfilled. */
  unfilled: string[];
}

/**
 * The `REFRESH MATERIALIZED VIEW` statements for the materialized views that hold rows on the
 * source, in the dump's order (`toc`, which puts what a view reads before it), each after a
 * comment naming it as pg_restore names objects (so a failure names the view); under `schema`,
 * the name the shadow schema carries while they run. One that reads, directly or through views,
 * a materialized view the source left unfilled cannot be filled either (as pg_dump leaves it).
 *
 * @example
 * ```ts
 * import { parseToc } from "./toc.ts";
 * const [entry] = parseToc("7; 1259 5 MATERIALIZED VIEW shop mv postgres");
 * refreshSql([{ key: "1259:5", oid: 5, name: "mv", kind: "materialized view", populated: true }], [entry], "shop").statements;
 * // ['-- Name: mv; Type: MATERIALIZED VIEW DATA; Schema: shop\nREFRESH MATERIALIZED VIEW "shop"."mv"']
 * ```
 */
export function refreshSql(
  views: readonly SchemaRelation[],
  toc: readonly TocEntry[],
  schema: string,
): Refresh {
  const matviews = new Map(
    views.filter((v) => v.kind === "materialized view").map((v) => [v.key, v]),
  );
  const byId = new Map(toc.map((e) => [e.id, e]));
  const readsUnfilled = (start: TocEntry) => {
    const seen = new Set<number>();
    const stack = [...start.dependencies];
    while (stack.length) {
      const entry = byId.get(stack.pop()!);
      if (!entry || seen.has(entry.id)) continue;
      seen.add(entry.id);
      if (matviews.get(tocKey(entry.catalogOid, entry.objectOid))?.populated === false) return true;
      stack.push(...entry.dependencies);
    }
    return false;
  };
  const refresh: Refresh = { statements: [], unfilled: [] };
  for (const entry of toc) {
    const v = matviews.get(tocKey(entry.catalogOid, entry.objectOid));
    if (!v?.populated) continue;
    if (readsUnfilled(entry)) {
      refresh.unfilled.push(v.name);
      continue;
    }
    refresh.statements.push(
      `-- Name: ${v.name}; Type: MATERIALIZED VIEW DATA; Schema: ${schema}\n` +
        `REFRESH MATERIALIZED VIEW ${quoteIdent(schema)}.${quoteIdent(v.name)}`,
    );
  }
  return refresh;
}

/**
 * A left-out object as a warning: what, why, and what to do.
 *
 * @example
 * ```ts
 * leftOutObjectWarning({ type: "view", name: "shop.v", reason: "it needs table \"t\", which the job does not copy", todo: "add table \"t\" to the job" });
 * // 'view shop.v is left out: it needs table "t", which the job does not copy; add table "t" to the job'
 * ```
 */
export function leftOutObjectWarning(o: LeftOutObject): string {
  return `${o.type} ${o.name} is left out: ${o.reason}; ${o.todo}`;
}

/**
 * Left-out objects as warnings: one each, but those left out only because the mode does not
 * bring them share one line per mode (a schema may hold hundreds).
 *
 * @example
 * ```ts
 * leftOutWarnings([]); // []
 * ```
 */
export function leftOutWarnings(objects: readonly LeftOutObject[]): string[] {
  const warnings: string[] = [];
  const byReason = new Map<string, LeftOutObject[]>();
  for (const o of objects) {
    if (o.reason.startsWith("no copied table or view needs it")) {
      byReason.set(o.reason, [...byReason.get(o.reason) ?? [], o]);
    } else warnings.push(leftOutObjectWarning(o));
  }
  for (const [reason, list] of byReason) {
    warnings.push(
      `left out, as ${reason}: ${list.map((o) => `${o.type} ${o.name}`).join(", ")}; ${
        list[0].todo
      }`,
    );
  }
  return warnings;
}
