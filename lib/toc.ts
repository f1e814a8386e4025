/**
 * The table of contents of a `pg_dump` archive (`pg_restore -l`), narrowed to the objects a
 * job needs. Entries are chosen by the catalog OIDs read from the source, never by parsing
 * names; the few entries pg_dump writes without an OID (`SEQUENCE OWNED BY`, `TABLE ATTACH`,
 * `INDEX ATTACH`) are matched by their exact text. Pure functions.
 *
 * @example
 * ```ts
 * import { parseToc, selectToc } from "./toc.ts";
 * const entries = parseToc("219; 1259 16506 TABLE acme users postgres\n");
 * selectToc(entries, { schema: "acme", objects: new Set(["1259:16506"]), named: [] }).length; // 1
 * ```
 * @module
 */

import type { NamedEntry } from "./catalog.ts";

/** One line of `pg_restore -l`. */
export interface TocEntry {
  /** The archive's dump ID. */
  id: number;
  /** The OID of the catalog the object lives in (`pg_class` is 1259), 0 when none. */
  catalogOid: number;
  /** The object's OID, 0 when none. */
  objectOid: number;
  /** `TABLE acme users postgres`: description, schema, tag, owner. */
  text: string;
  /** The line as `pg_restore -L` takes it back. */
  line: string;
}

const LINE = /^(\d+); (\d+) (\d+) (.*)$/;
const PG_NAMESPACE = 2615;

/**
 * Parses `pg_restore -l` output; comment lines are skipped.
 *
 * @example
 * ```ts
 * parseToc("3505; 0 0 SEQUENCE OWNED BY acme s postgres")[0].objectOid; // 0
 * ```
 */
export function parseToc(list: string): TocEntry[] {
  const entries: TocEntry[] = [];
  for (const line of list.split("\n")) {
    const m = LINE.exec(line);
    if (!m) continue;
    entries.push({
      id: Number(m[1]),
      catalogOid: Number(m[2]),
      objectOid: Number(m[3]),
      text: m[4],
      line,
    });
  }
  return entries;
}

/** What to keep of a dump. */
export interface TocSelection {
  /** The dumped schema's name, as it appears in each entry's text. */
  schema: string;
  /** `catalogOid:objectOid` of every object to keep. */
  objects: ReadonlySet<string>;
  /** OID-less entries to keep. */
  named: readonly NamedEntry[];
}

/**
 * Keeps the entries a job needs. The schema's own entry is left out: pg-xmat creates the schema
 * itself.
 *
 * @example
 * ```ts
 * const toc = parseToc("7; 2615 1 SCHEMA - acme postgres\n3326; 0 0 TABLE ATTACH acme p1 postgres");
 * selectToc(toc, { schema: "acme", objects: new Set(), named: [{ desc: "TABLE ATTACH", name: "p1", owner: "postgres" }] })
 *   .map((e) => e.id); // [3326]
 * ```
 */
export function selectToc(entries: readonly TocEntry[], selection: TocSelection): TocEntry[] {
  const named = new Set(
    selection.named.map((n) => `${n.desc} ${selection.schema} ${n.name} ${n.owner}`),
  );
  return entries.filter((e) =>
    e.catalogOid === 0
      ? named.has(e.text)
      : e.catalogOid !== PG_NAMESPACE && selection.objects.has(`${e.catalogOid}:${e.objectOid}`)
  );
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
