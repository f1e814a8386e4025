/**
 * The table of contents of a `pg_dump` archive (`pg_restore --list --verbose`), narrowed to the
 * objects a job needs. Entries are chosen by the catalog OIDs read from the source, never by
 * parsing names; the entries pg_dump writes without a catalog OID go with the entries they depend
 * on, as `pg_restore` itself treats comments in a selective restore: those with no OID at all
 * (`COMMENT`, `SEQUENCE OWNED BY`, `TABLE ATTACH`, `INDEX ATTACH`) and `ROW SECURITY`, whose
 * catalog OID is 0 and object OID its table's (pg_dump's way of keeping it out of `pg_depend`
 * matching; `TABLE DATA` and `MATERIALIZED VIEW DATA` are written that way too, but a
 * schema-only dump has none). Pure functions.
 *
 * @example
 * ```ts
 * import { parseToc, selectToc } from "./toc.ts";
 * const entries = parseToc("219; 1259 16506 TABLE acme users postgres\n");
 * selectToc(entries, { objects: new Set(["1259:16506"]) }).length; // 1
 * ```
 * @module
 */

/** One line of `pg_restore -l`. */
export interface TocEntry {
  /** The archive's dump ID. */
  id: number;
  /**
   * The OID of the catalog the object lives in (`pg_class` is 1259), 0 when none (`COMMENT`,
   * or `ROW SECURITY`, whose `objectOid` is its table's).
   */
  catalogOid: number;
  /** The object's OID, 0 when none. */
  objectOid: number;
  /** `TABLE acme users postgres`: description, schema, tag, owner. */
  text: string;
  /** The line as `pg_restore -L` takes it back. */
  line: string;
  /** The dump IDs of the entries it depends on (listed by `--verbose`). */
  dependencies: number[];
}

const LINE = /^(\d+); (\d+) (\d+) (.*)$/;
const DEPENDS = /^;\s+depends on:((?: \d+)*)\s*$/;
const PG_NAMESPACE = 2615;
const PG_ATTRDEF = 2604;
/**
 * The OID of `pg_class` (tables, indexes, sequences): the catalog of their TOC entries.
 *
 * @example
 * ```ts
 * tocKey(PG_CLASS, 16390); // "1259:16390"
 * ```
 */
export const PG_CLASS = 1259;
/**
 * The OID of `pg_constraint`: the catalog of a constraint's TOC entry.
 *
 * @example
 * ```ts
 * tocKey(PG_CONSTRAINT, 16524); // "2606:16524"
 * ```
 */
export const PG_CONSTRAINT = 2606;

/**
 * How an object is named in a `TocSelection`: `catalogOid:objectOid`.
 *
 * @example
 * ```ts
 * tocKey(PG_CONSTRAINT, 16524); // "2606:16524"
 * ```
 */
export function tocKey(catalogOid: number, objectOid: number): string {
  return `${catalogOid}:${objectOid}`;
}

/**
 * Parses `pg_restore --list [--verbose]` output: each entry with the dependencies listed under
 * it; other comment lines are skipped.
 *
 * @example
 * ```ts
 * parseToc("3505; 0 0 SEQUENCE OWNED BY acme s postgres\n;\tdepends on: 215")[0].dependencies;
 * // [215]
 * ```
 */
export function parseToc(list: string): TocEntry[] {
  const entries: TocEntry[] = [];
  for (const line of list.split("\n")) {
    const m = LINE.exec(line);
    if (m) {
      entries.push({
        id: Number(m[1]),
        catalogOid: Number(m[2]),
        objectOid: Number(m[3]),
        text: m[4],
        line,
        dependencies: [],
      });
      continue;
    }
    const d = DEPENDS.exec(line);
    if (d && entries.length) {
      entries.at(-1)!.dependencies.push(...d[1].split(" ").filter(Boolean).map(Number));
    }
  }
  return entries;
}

/** What to keep of a dump. */
export interface TocSelection {
  /** `catalogOid:objectOid` of every object to restore. */
  objects: ReadonlySet<string>;
  /**
   * Objects the target already has (built before the script runs): not restored, but what
   * depends on them (their comments) is.
   */
  present?: ReadonlySet<string>;
}

/**
 * The selection of a job's `objects` but those `left` out, and with those `present` on the target
 * already (each a `tocKey`).
 *
 * @example
 * ```ts
 * tocSelection(new Set(["1259:5", "2606:7"]), ["2606:7"]).objects; // Set { "1259:5" }
 * ```
 */
export function tocSelection(
  objects: Iterable<string>,
  left: Iterable<string> = [],
  present: Iterable<string> = [],
): TocSelection {
  const kept = new Set(objects);
  for (const key of left) kept.delete(key);
  return { objects: kept, present: new Set(present) };
}

/**
 * Keeps the entries a job needs: the objects chosen by OID, and each OID-less entry whose
 * dependencies are all kept or present (at least one: `ENCODING` and the like depend on nothing
 * and `pg_restore` writes them anyway). The schema's own entry, and so its comment, is left out:
 * pg-xmat creates the schema itself.
 *
 * @example
 * ```ts
 * const toc = parseToc(
 *   "7; 2615 1 SCHEMA - acme postgres\n9; 1259 5 TABLE acme t postgres\n;\tdepends on: 7\n" +
 *     "30; 0 0 COMMENT acme TABLE t postgres\n;\tdepends on: 9",
 * );
 * selectToc(toc, { objects: new Set(["1259:5"]) }).map((e) => e.id); // [9, 30]
 * ```
 */
export function selectToc(entries: readonly TocEntry[], selection: TocSelection): TocEntry[] {
  const there = new Set<number>();
  const kept = new Set<number>();
  const oidLess: TocEntry[] = [];
  for (const e of entries) {
    const key = tocKey(e.catalogOid, e.objectOid);
    if (e.catalogOid === 0) oidLess.push(e);
    else if (e.catalogOid === PG_NAMESPACE) continue;
    else if (selection.present?.has(key)) there.add(e.id);
    else if (selection.objects.has(key)) {
      there.add(e.id);
      kept.add(e.id);
    }
  }
  // An entry may depend on another OID-less one: repeat until nothing more is kept.
  for (let more = true; more;) {
    more = false;
    for (const e of oidLess) {
      if (kept.has(e.id) || !e.dependencies.length) continue;
      if (!e.dependencies.every((d) => there.has(d))) continue;
      there.add(e.id);
      kept.add(e.id);
      more = true;
    }
  }
  return entries.filter((e) => kept.has(e.id));
}

/** Kinds of entry by the locks restoring one takes, heaviest first (see `entryLocks`). */
const LOCKS_BY_KIND: readonly [string, number][] = [
  // A table, its TOAST table and index; a key, both tables and the referenced index.
  ["TABLE ATTACH ", 3],
  ["TABLE ", 4],
  ["FK CONSTRAINT ", 4],
  ["MATERIALIZED VIEW ", 4],
  ["INDEX ATTACH ", 3],
  ["INDEX ", 3],
  ["CONSTRAINT ", 3],
  ["TRIGGER ", 3],
];

/**
 * An upper bound of the locks restoring an entry takes in its transaction (what batches of the
 * restore are sized by). A statement on a partitioned table also locks its partitions; those
 * are counted where each partition's own entries are.
 *
 * @example
 * ```ts
 * const [table, fn] = parseToc("1; 1259 2 TABLE s t o\n2; 1255 3 FUNCTION s f() o\n");
 * entryLocks(table); // 4
 * entryLocks(fn); // 2
 * ```
 */
export function entryLocks(entry: TocEntry): number {
  return LOCKS_BY_KIND.find(([kind]) => entry.text.startsWith(kind))?.[1] ?? 2;
}

/**
 * The entries with each column `DEFAULT` moved up to just after the last entry it depends on (its
 * table, its sequence, a function it calls). pg_dump writes the defaults it keeps apart from their
 * `CREATE TABLE` (a `serial` column's, which uses a sequence owned by the table) after every table
 * and view of the section: in that order, a table would be complete (`completingBatch`) only near
 * the section's end.
 *
 * @example
 * ```ts
 * const toc = parseToc(
 *   "9; 1259 5 TABLE acme a o\n8; 1259 4 SEQUENCE acme a_id_seq o\n;\tdepends on: 9\n" +
 *     "10; 1259 6 TABLE acme b o\n11; 2604 7 DEFAULT acme a id o\n;\tdepends on: 8 9",
 * );
 * defaultsEarly(toc).map((e) => e.id); // [9, 8, 11, 10]
 * ```
 */
export function defaultsEarly(entries: readonly TocEntry[]): TocEntry[] {
  const position = new Map(entries.map((e, i) => [e.id, i]));
  // Per entry: the defaults that come right after it.
  const after = new Map<number, TocEntry[]>();
  const moved = new Set<number>();
  for (const [i, e] of entries.entries()) {
    if (e.catalogOid !== PG_ATTRDEF) continue;
    const last = Math.max(-1, ...e.dependencies.map((d) => position.get(d) ?? -1));
    if (last < 0 || last >= i) continue;
    const anchor = entries[last].id;
    after.set(anchor, [...after.get(anchor) ?? [], e]);
    moved.add(e.id);
  }
  const ordered: TocEntry[] = [];
  const place = (e: TocEntry) => {
    ordered.push(e);
    for (const d of after.get(e.id) ?? []) place(d);
  };
  for (const e of entries) if (!moved.has(e.id)) place(e);
  return ordered;
}

/**
 * Per table (by name), the batch of entries (its index in `batches`, each restored in a
 * transaction of its own, in order) after whose commit the table is complete: its own entry, every
 * entry that depends on it directly (a `DEFAULT`, an owned sequence, `TABLE ATTACH`, a comment, a
 * view) and its sequences' `SEQUENCE OWNED BY` have run, so nothing later in the section locks
 * it. A partitioned table, whose partitions are entries of their own, and a table without an
 * entry are complete after the last batch.
 *
 * @example
 * ```ts
 * const toc = parseToc(
 *   "9; 1259 5 TABLE acme a o\n10; 1259 6 TABLE acme b o\n" +
 *     "11; 2604 7 DEFAULT acme a id o\n;\tdepends on: 9",
 * );
 * const tables = [{ oid: 5, name: "a", partitioned: false }, { oid: 6, name: "b", partitioned: false }];
 * completingBatch([toc.slice(0, 2), toc.slice(2)], tables); // Map { "a" => 1, "b" => 0 }
 * ```
 */
export function completingBatch(
  batches: readonly (readonly TocEntry[])[],
  tables: readonly { oid: number; name: string; partitioned: boolean }[],
): Map<string, number> {
  const plain = new Map(tables.filter((t) => !t.partitioned).map((t) => [t.oid, t.name]));
  const completed = new Map(tables.map((t) => [t.name, batches.length - 1]));
  // A table's own entry comes before the entries that depend on it.
  const tableOf = new Map<number, string>();
  // A `SEQUENCE OWNED BY` depends on its sequence alone; the sequence, on the table owning it.
  const ownerOf = new Map<number, string>();
  for (const [batch, entries] of batches.entries()) {
    for (const e of entries) {
      const own = e.catalogOid === PG_CLASS ? plain.get(e.objectOid) : undefined;
      if (own !== undefined) {
        tableOf.set(e.id, own);
        completed.set(own, batch);
      }
      const ownedBy = e.text.startsWith("SEQUENCE OWNED BY ");
      for (const d of e.dependencies) {
        const table = tableOf.get(d) ?? (ownedBy ? ownerOf.get(d) : undefined);
        if (table === undefined) continue;
        completed.set(table, batch);
        if (e.text.startsWith("SEQUENCE ")) ownerOf.set(e.id, table);
      }
    }
  }
  return completed;
}

/**
 * The text `pg_restore -L` reads: one kept line per entry.
 *
 * @example
 * ```ts
 * tocList(parseToc("1; 1259 2 TABLE s t o")); // "1; 1259 2 TABLE s t o\n"
 * ```
 */
export function tocList(entries: readonly TocEntry[]): string {
  return entries.map((e) => `${e.line}\n`).join("");
}

/** What an entry creates, in words: `{ type: "CONSTRAINT", name: "users_pkey", table: "users" }`. */
export interface EntryName {
  /** pg_dump's kind of object: `TABLE`, `SEQUENCE`, `FK CONSTRAINT`, … */
  type: string;
  name: string;
  /** The table a constraint, default, trigger, policy or rule is on. */
  table?: string;
}

/** Kinds whose tag is `table name`. */
const ON_TABLE = new Set(["CONSTRAINT", "FK CONSTRAINT", "DEFAULT", "TRIGGER", "POLICY", "RULE"]);

/**
 * Names an entry of a dump of `schema`. An entry's text is `KIND schema tag owner`; the tag of a
 * constraint, default, trigger, policy or rule starts with its table's name, found among
 * `tables` (the longest that fits, as names may hold spaces).
 *
 * @example
 * ```ts
 * const [e] = parseToc("3338; 2606 16524 CONSTRAINT acme Order Items Order Items_pkey postgres");
 * describeEntry(e, "acme", ["Order Items"]);
 * // { type: "CONSTRAINT", name: "Order Items_pkey", table: "Order Items" }
 * ```
 */
export function describeEntry(
  entry: TocEntry,
  schema: string,
  tables: readonly string[],
): EntryName {
  const marker = ` ${schema} `;
  let at = entry.text.indexOf(marker);
  while (at >= 0 && !/^[A-Z]+( [A-Z]+)*$/.test(entry.text.slice(0, at))) {
    at = entry.text.indexOf(marker, at + 1);
  }
  if (at < 0) return { type: "", name: entry.text };
  const type = entry.text.slice(0, at);
  const rest = entry.text.slice(at + marker.length);
  const tag = rest.slice(0, Math.max(0, rest.lastIndexOf(" ")));
  if (ON_TABLE.has(type)) {
    const table = tables
      .filter((t) => tag.startsWith(`${t} `))
      .reduce<string | undefined>(
        (a, t) => (a === undefined || t.length > a.length ? t : a),
        undefined,
      );
    if (table !== undefined) return { type, name: tag.slice(table.length + 1), table };
  }
  return { type, name: tag };
}

/**
 * The entries of the dump a run restores (the job's `objects`, with the OID-less entries that go
 * with them), each named as `describeEntry` names it: what a dry run lists and a report counts.
 *
 * @example
 * ```ts
 * const toc = parseToc("9; 1259 5 TABLE acme t postgres\n10; 1259 6 TABLE acme u postgres");
 * restoredEntries(toc, ["1259:5"], "acme", ["t"]); // [{ type: "TABLE", name: "t" }]
 * ```
 */
export function restoredEntries(
  toc: readonly TocEntry[],
  objects: Iterable<string>,
  schema: string,
  tables: readonly string[],
): EntryName[] {
  return selectToc(toc, tocSelection(objects)).map((e) => describeEntry(e, schema, tables));
}
