/**
 * The SQL of a subset's queries, for `subset.ts`: from the tables' roles and the keys the subset
 * follows, each table's common table expressions (`_xmat_dN`, the fixpoint `_xmat_k`), the rows
 * it keeps and the columns of its `"null"` keys. Pure; private to `subset.ts`, whose module
 * documentation describes the queries.
 *
 * @module
 */

import { qualify, quoteIdent } from "./sql.ts";
import type { SubsetInput, SubsetKey, SubsetRole, SubsetTablePlan } from "./subset.ts";

/** A followed key between two of the job's tables, by table index. */
export interface Edge {
  key: SubsetKey;
  child: number;
  parent: number;
}

/**
 * The SQL of each table's query.
 *
 * @example
 * ```ts
 * import type { SubsetInput, SubsetRole } from "./subset.ts";
 * declare const input: SubsetInput, role: SubsetRole[], owning: Edge[][], active: Edge[];
 * new SubsetSql(input, role, owning, active).table(0).keep; // '"public"."rental"."customer_id" IN (…)'
 * ```
 */
export class SubsetSql {
  readonly #in: SubsetInput;
  readonly #role: SubsetRole[];
  readonly #owning: Edge[][];
  /** The keys the fixpoint follows up. */
  readonly #active: Edge[];
  /** Per table, the columns of its active keys, in `_v` order. */
  readonly #carried: string[][];

  constructor(input: SubsetInput, role: SubsetRole[], owning: Edge[][], active: Edge[]) {
    this.#in = input;
    this.#role = role;
    this.#owning = owning;
    this.#active = active;
    this.#carried = input.tables.map((_, i) => [
      ...new Set(active.filter((e) => e.child === i).flatMap((e) => e.key.columns)),
    ]);
  }

  /** Table `i`'s query parts. */
  table(i: number): Pick<SubsetTablePlan, "with" | "keep" | "nulled"> {
    const t = this.#in.tables[i];
    const nulled = this.#in.keys.filter((k) => k.table === t.name && t.keys?.[k.name] === "null");
    const parents = nulled.map((k) => this.#index(k.refTable!));
    const whole = this.#role[i] === "whole";
    if (whole && nulled.length === 0) return {};
    const kNodes = this.#feeding(whole ? parents : [i, ...parents]);
    const starts = [...(whole ? [] : [i]), ...parents];
    const dNodes = this.#needD(kNodes, starts);
    const ctes = [
      ...dNodes.map((n) => this.#dCte(n)),
      ...(kNodes.length ? [this.#kCte(kNodes)] : []),
    ];
    const kept: Record<string, string[]> = {};
    for (const key of nulled) {
      const p = this.#index(key.refTable!);
      const alias = p === i ? "_q" : this.#ref(p);
      const match = key.columns.map((c, m) =>
        `${alias}.${quoteIdent(key.refColumns[m])} = ${this.#ref(i)}.${quoteIdent(c)}`
      );
      const keep = this.#keep(p, alias);
      const exists = `EXISTS (SELECT 1 FROM ${this.#from(p)}${p === i ? " _q" : ""} WHERE ${
        [...match, ...(keep === "true" ? [] : [`(${keep})`])].join(" AND ")
      })`;
      for (const c of key.columns) (kept[c] ??= []).push(exists);
    }
    return {
      ...(ctes.length ? { with: `WITH RECURSIVE ${ctes.join(", ")}` } : {}),
      ...(whole ? {} : { keep: this.#keep(i, this.#ref(i)) }),
      ...(nulled.length
        ? {
          nulled: Object.fromEntries(
            Object.entries(kept).map(([c, conditions]) => [c, conditions.join(" AND ")]),
          ),
        }
        : {}),
    };
  }

  #index(name: string): number {
    return this.#in.tables.findIndex((t) => t.name === name);
  }

  /** `"schema"."table"`: how the query's own row is named (no alias: a raw `where` may use it). */
  #ref(i: number): string {
    return qualify(this.#in.schema, this.#in.tables[i].name);
  }

  #from(i: number): string {
    return `${this.#in.tables[i].partitioned ? "" : "ONLY "}${this.#ref(i)}`;
  }

  #type(i: number, column: string): string {
    return this.#in.tables[i].columns.find((c) => c.name === column)!.type;
  }

  /**
   * The tables whose kept rows can add rows to one of `targets` through active keys (a chain
   * child → parent ending at a target): the fixpoint needs those tables' rows.
   */
  #feeding(targets: readonly number[]): number[] {
    const found = new Set<number>();
    const queue = [...targets];
    for (let head = 0; head < queue.length; head++) {
      for (const e of this.#active.filter((e) => e.parent === queue[head])) {
        if (!found.has(e.child)) {
          found.add(e.child);
          queue.push(e.child);
        }
      }
    }
    return [...found].sort((a, b) => a - b);
  }

  /** The tables whose seed or owned rows (`_xmat_dN`) the query reads. */
  #needD(kNodes: readonly number[], starts: readonly number[]): number[] {
    const need = new Set<number>();
    const queue = [
      ...kNodes.filter((n) => this.#role[n] === "seed" || this.#role[n] === "owned"),
      ...starts.flatMap((n) => this.#owning[n].map((e) => e.parent)),
    ];
    for (let head = 0; head < queue.length; head++) {
      const n = queue[head];
      if (need.has(n)) continue;
      need.add(n);
      queue.push(...this.#owning[n].map((e) => e.parent));
    }
    return [...need].sort((a, b) => a - b);
  }

  /** `_xmat_dN`: the key columns of table N's seed or owned rows. */
  #dCte(n: number): string {
    const columns = [
      ...new Set([
        ...this.#carried[n],
        ...this.#owning.flat().filter((e) => e.parent === n).flatMap((e) => e.key.refColumns),
      ]),
    ];
    return `_xmat_d${n} AS (SELECT ${columns.map(quoteIdent).join(", ")} FROM ${
      this.#from(n)
    } WHERE ${this.#down(n, this.#ref(n))})`;
  }

  /**
   * The rows a seed or owned table keeps before the fixpoint: a seed's `where` (as written:
   * unqualified, so it reads the innermost row, which is the table's), or, for an owned table,
   * the rows whose key values are those of its parents' such rows.
   */
  #down(n: number, row: string): string {
    const role = this.#role[n];
    if (role === "whole") return "true";
    if (role === "referenced") return "false";
    if (role === "seed") return `(${this.#in.tables[n].where})`;
    return this.#owning[n].map((e) => {
      const d = `_xmat_d${e.parent}`;
      return `${tuple(e.key.columns.map((c) => `${row}.${quoteIdent(c)}`))} IN (SELECT ${
        e.key.refColumns.map((c) => `${d}.${quoteIdent(c)}`).join(", ")
      } FROM ${d})`;
    }).join(" OR ");
  }

  /** The rows table `n` keeps: its own, and those kept rows of other tables reference. */
  #keep(n: number, row: string): string {
    const parts = this.#role[n] === "referenced" ? [] : [this.#down(n, row)];
    if (parts[0] === "true") return "true";
    for (const e of this.#active.filter((e) => e.parent === n)) {
      const values = e.key.columns.map((c, m) =>
        `(_k._v[${this.#carried[e.child].indexOf(c) + 1}])::${this.#type(n, e.key.refColumns[m])}`
      );
      parts.push(
        `${tuple(e.key.refColumns.map((c) => `${row}.${quoteIdent(c)}`))} IN (SELECT ${
          values.join(", ")
        } FROM _xmat_k _k WHERE _k._t = ${e.child})`,
      );
    }
    return parts.length ? parts.join(" OR ") : "false";
  }

  /** `_xmat_k`: the fixpoint over the kept rows of `nodes`, tagged by table. */
  #kCte(nodes: readonly number[]): string {
    const values = (n: number, row: string) =>
      `ARRAY[${this.#carried[n].map((c) => `${row}.${quoteIdent(c)}::text`).join(", ")}]`;
    const base = nodes.flatMap((n) => {
      const role = this.#role[n];
      if (role === "referenced") return [];
      if (role === "whole") {
        return [`SELECT ${n}, ${values(n, this.#ref(n))} FROM ${this.#from(n)}`];
      }
      return [`SELECT ${n}, ${values(n, `_xmat_d${n}`)} FROM _xmat_d${n}`];
    });
    const seed = base.length ? base.join(" UNION ALL ") : "SELECT 0, NULL::text[] WHERE false";
    const branches = this.#active
      .filter((e) => nodes.includes(e.child) && nodes.includes(e.parent))
      .map((e) => {
        const match = e.key.refColumns.map((c, m) =>
          `_p.${quoteIdent(c)} = (_k._v[${
            this.#carried[e.child].indexOf(e.key.columns[m]) + 1
          }])::${this.#type(e.parent, c)}`
        );
        return `SELECT ${e.parent} AS _t, ${values(e.parent, "_p")} AS _v FROM ${
          this.#from(e.parent)
        } _p WHERE _k._t = ${e.child} AND ${match.join(" AND ")}`;
      });
    const step = branches.length
      ? ` UNION SELECT _n._t, _n._v FROM _xmat_k _k CROSS JOIN LATERAL (${
        branches.join(" UNION ALL ")
      }) _n`
      : "";
    return `_xmat_k(_t, _v) AS (SELECT * FROM (${seed}) _b${step})`;
  }
}

/** `a` or `(a, b)`: one value or a row of them, for `IN`. */
function tuple(values: readonly string[]): string {
  return values.length === 1 ? values[0] : `(${values.join(", ")})`;
}
