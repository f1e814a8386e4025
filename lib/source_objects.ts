/**
 * The objects of the source schema a job brings, read inside the job's snapshot: for the chosen
 * tables, everything their structure needs (sequences, types, functions, partitions, indexes,
 * constraints, extensions), and with `objects: all` or `dependent` the schema's other objects,
 * as catalog OIDs, which is how the `pg_dump` table of contents is narrowed.
 *
 * @example
 * ```ts
 * import { readStructure } from "./source_objects.ts";
 * import type { SchemaCatalog } from "./catalog.ts";
 * import type { Snapshot } from "./snapshot.ts";
 * declare const snapshot: Snapshot, catalog: SchemaCatalog;
 * const structure = await readStructure(snapshot.conn, catalog, [16390]);
 * structure.foreignKeys.filter((fk) => !fk.inJob).map((fk) => fk.name);
 * ```
 * @module
 */

import type { SchemaCatalog } from "./catalog.ts";
import type { Conn } from "./connect.ts";
import { type Routine } from "./routines.ts";
import { chooseObjects, type SchemaRelation } from "./schema_objects.ts";
import {
  castsSql,
  extendedStatisticsSql,
  foreignKeysSql,
  routinesSql,
  schemaRelationNamesSql,
  schemaRelationsSql,
  schemaSequencesSql,
  structureWalkSql,
  tablesWithPartitionsSql,
} from "./source_objects_sql.ts";
import { searchPath, setLocalSql } from "./sql.ts";
import { PG_CLASS, PG_CONSTRAINT, tocKey } from "./toc.ts";
import type { LeftOutObject, ObjectsMode } from "./types.ts";

/** A sequence the chosen tables use (owned, identity, or named by a column default). */
export interface Sequence {
  oid: number;
  name: string;
}

/** An extension whose objects (types, operators, functions) the chosen tables use. */
export interface Extension {
  name: string;
  /** Its schema on the source. */
  schema: string;
}

/** A foreign key of a chosen table. */
export interface ForeignKey {
  oid: number;
  name: string;
  table: string;
  tablePartitioned: boolean;
  columns: string[];
  refSchema: string;
  refTable: string;
  refColumns: string[];
  /** The referenced table is one of the chosen tables (or their partitions). */
  inJob: boolean;
  /** The source's key is validated (not `NOT VALID`): its rows have their parents. */
  validated: boolean;
  /** `pg_get_constraintdef` rendered with the source schema on the search path. */
  definition: string;
}

/** What the structure of the job consists of, as the dump's TOC identifies it. */
export interface Structure {
  /** `catalogOid:objectOid` of every object of the source schema to restore. */
  objects: Set<string>;
  sequences: Sequence[];
  extensions: Extension[];
  foreignKeys: ForeignKey[];
  /** Objects in other schemas the job needs that pg-xmat does not create (`type shared.money`). */
  outside: string[];
  /**
   * The source schema's tables, views and foreign tables the job does not bring: left out of the
   * dump, so it neither locks them nor needs privileges on them.
   */
  unneeded: string[];
  /**
   * What the chosen tables need of the source schema's other relations, which the job does not
   * bring (`table acme.kid needs table "base"`): their structure cannot be restored without them.
   */
  missing: string[];
  /**
   * The chosen tables with extended statistics (`CREATE STATISTICS`, a post-data entry): they
   * are analysed after post-data, or the statistics would stay empty.
   */
  withStatistics: string[];
  /** The views and materialized views the job brings. */
  relations: SchemaRelation[];
  /** The routines the job brings (for their `search_path` and bodies). */
  routines: Routine[];
  /** Objects of the source schema the job does not bring, and why. */
  leftOut: LeftOutObject[];
  /** `catalogOid:objectOid` of what the dump holds that is left out on purpose (see `leftOut`). */
  explained: Set<string>;
}

/**
 * Follows `pg_depend` from every root (see `rootsSql` in `source_objects_sql.ts`: the chosen tables with their partitions,
 * defaults, constraints, indexes, triggers, policies, rules, extended statistics and owned
 * sequences; the views; every other object of the schema) to every object it needs, and lets
 * `chooseObjects` decide, per the job's mode, what comes along. Tables are never pulled in by
 * dependency: only chosen tables are copied (see `Structure.missing`).
 *
 * @example
 * ```ts
 * import type { SchemaCatalog } from "./catalog.ts";
 * import type { Snapshot } from "./snapshot.ts";
 * declare const snapshot: Snapshot, catalog: SchemaCatalog;
 * const structure = await readStructure(snapshot.conn, catalog, [16390], "dependent");
 * structure.relations.map((r) => r.name);
 * ```
 */
export async function readStructure(
  conn: Conn,
  catalog: SchemaCatalog,
  chosen: readonly number[],
  mode: ObjectsMode = "tables",
): Promise<Structure> {
  const rows = await conn.unsafe(structureWalkSql(chosen, catalog.oid, catalog.schema));
  const relationRows = await conn.unsafe(schemaRelationsSql(catalog.oid));
  // The chosen tables and their partitions: the queries below join this list.
  const tableRows = await conn.unsafe(tablesWithPartitionsSql(chosen));
  const copied = tableRows.map((r) => Number(r.oid));
  const choice = chooseObjects({
    schema: catalog.schema,
    mode,
    tables: {
      roots: new Set(chosen.map((oid) => tocKey(PG_CLASS, oid))),
      relations: new Set(tableRows.map((r) => tocKey(PG_CLASS, Number(r.oid)))),
    },
    relations: relationRows.map((r) => ({
      key: tocKey(PG_CLASS, Number(r.oid)),
      oid: Number(r.oid),
      name: r.name,
      kind: r.kind,
      populated: r.populated,
    })),
    nodes: rows.map((r) => ({
      key: `${r.classid}:${r.objid}`,
      type: r.type,
      schema: r.schema,
      inSchema: r.in_schema,
      identity: r.identity,
      owned: r.owned,
      extension: r.extension ? { name: r.extension, schema: r.extension_schema } : undefined,
      needs: (r.needs ?? []).map((t: Record<string, string | number>) => ({
        key: tocKey(PG_CLASS, Number(t.oid)),
        schema: t.schema,
        name: t.name,
        kind: t.kind,
        identity: t.identity,
      })),
      roots: r.roots,
    })),
  });
  const objects = choice.objects;
  const brought = new Set([
    ...tableRows.map((r) => Number(r.oid)),
    ...choice.relations.map((r) => r.oid),
  ]);

  const seqRows = await conn.unsafe(schemaSequencesSql(catalog.oid));
  const sequences: Sequence[] = seqRows
    .filter((s) => objects.has(tocKey(PG_CLASS, Number(s.oid))))
    .map((s) => ({ oid: Number(s.oid), name: s.name }));

  // Foreign keys are rendered with the source schema on the search path: the post-data step
  // runs them with the shadow schema there.
  await conn.unsafe(setLocalSql({ search_path: searchPath([catalog.schema]) }));
  const fkRows = await conn.unsafe(foreignKeysSql(copied));
  await conn.unsafe(setLocalSql({ search_path: "" }));
  const foreignKeys: ForeignKey[] = fkRows.map((f) => ({
    oid: Number(f.oid),
    name: f.name,
    table: f.table,
    tablePartitioned: f.partitioned,
    columns: f.columns,
    refSchema: f.ref_schema,
    refTable: f.ref_table,
    refColumns: f.ref_columns,
    inJob: f.in_job,
    validated: f.validated,
    definition: f.definition,
  }));
  for (const fk of foreignKeys.filter((f) => f.inJob)) objects.add(tocKey(PG_CONSTRAINT, fk.oid));
  const withStatistics = await conn.unsafe(extendedStatisticsSql(chosen));
  const unneeded = await conn.unsafe(schemaRelationNamesSql(catalog.oid));
  const procs = [...objects].filter((k) => k.startsWith("1255:")).map((k) => Number(k.slice(5)));
  const routineRows = procs.length === 0
    ? []
    : await conn.unsafe(routinesSql(procs, catalog.serverVersion));

  // Casts belong to no schema: pg_dump leaves them out of a schema's dump.
  const casts = await conn.unsafe(castsSql(catalog.oid));
  const leftOut: LeftOutObject[] = [
    ...choice.leftOut,
    ...casts.map((c) => ({
      type: "cast",
      name: c.name,
      reason: "a cast belongs to no schema, and pg_dump leaves it out of a schema's dump",
      todo: `create it on the target after the run, naming the target schema: ${c.statement}`,
    })),
  ];

  return {
    objects,
    sequences,
    extensions: choice.extensions,
    foreignKeys,
    outside: choice.outside,
    missing: choice.missing,
    unneeded: unneeded.filter((r) => !brought.has(Number(r.oid))).map((r) => r.name),
    withStatistics: withStatistics.map((r) => r.name),
    relations: choice.relations,
    routines: routineRows.map((r) => ({
      identity: r.identity,
      kind: r.kind,
      language: r.language,
      config: r.config,
      source: r.source ?? "",
    })),
    leftOut,
    explained: new Set([
      ...choice.leftOutKeys,
      // A sequence owned by a table the job does not copy is part of that table.
      ...seqRows.filter((r) => r.owned).map((r) => tocKey(PG_CLASS, Number(r.oid))),
      ...foreignKeys.filter((f) => !f.inJob).map((f) => tocKey(PG_CONSTRAINT, f.oid)),
    ]),
  };
}
