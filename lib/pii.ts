/**
 * The personal-data guard: the columns a job copies in clear without saying so (no `select`
 * entry; `{ clear: true }` says so) whose name or type looks like personal data, found from the
 * patterns below, and what the plan says about them: a warning per table, or with
 * `pii: "fail"` one fault per column. Pure.
 *
 * @example
 * ```ts
 * import { clearPersonalColumns } from "./pii.ts";
 * clearPersonalColumns([{ table: "users", columns: [{ name: "email", type: "text" }] }]);
 * // [{ table: "users", column: "email", kind: "email" }]
 * ```
 * @module
 */

import { type JobConfig, pathKey } from "./config.ts";
import { ConfigError } from "./errors.ts";
import type { TablePlan } from "./plan.ts";
import type { Select } from "./types.ts";

/**
 * What personal data looks like. A column matches a kind when one of its `words` occurs in its
 * name as whole words (the name lower-cased, camelCase and any separator turned into `_`:
 * `billingAddress2` → `billing_address_2` has `address`), when its whole name is one of
 * `names`, or when its type is one of `types`.
 *
 * @example
 * ```ts
 * PII_PATTERNS.map((p) => p.kind);
 * ```
 */
export const PII_PATTERNS: readonly {
  kind: string;
  words: readonly string[];
  names?: readonly string[];
  types?: readonly string[];
}[] = [
  { kind: "email", words: ["email", "e_mail", "mail"] },
  {
    kind: "phone",
    words: ["phone", "telephone", "tel", "mobile", "cellphone", "cell_phone", "fax", "msisdn"],
  },
  {
    kind: "name",
    words: [
      "first_name",
      "firstname",
      "last_name",
      "lastname",
      "surname",
      "given_name",
      "family_name",
      "full_name",
      "fullname",
      "middle_name",
      "maiden_name",
      "display_name",
      "username",
      "user_name",
      "nickname",
    ],
    names: ["name"],
  },
  {
    kind: "address",
    words: ["address", "addr", "street", "zip", "zipcode", "zip_code", "postcode", "postal_code"],
  },
  {
    kind: "birth date",
    words: ["birth", "birthday", "birthdate", "dob"],
  },
  {
    kind: "national id",
    words: [
      "ssn",
      "social_security",
      "national_id",
      "passport",
      "tax_id",
      "driver_license",
      "drivers_license",
      "id_card",
    ],
  },
  {
    kind: "network address",
    words: ["ip", "ip_address", "ipaddr", "remote_addr", "mac_address"],
    types: ["inet", "cidr", "macaddr", "macaddr8"],
  },
  {
    kind: "card or account",
    words: ["card", "credit_card", "cc_number", "pan", "cvv", "cvc", "iban", "account_number"],
  },
  {
    kind: "secret",
    words: ["password", "passwd", "pwd", "token", "secret", "api_key", "apikey", "private_key"],
  },
  {
    kind: "location",
    words: ["latitude", "longitude", "lat", "lng", "geo", "gps", "geolocation"],
  },
];

/**
 * A column name as lower-case words joined by `_`.
 *
 * @example
 * ```ts
 * nameWords("billingAddress2"); // "billing_address_2"
 * nameWords("E-Mail"); // "e_mail"
 * ```
 */
export function nameWords(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/([A-Za-z])([0-9])/g, "$1_$2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean)
    .join("_");
}

/**
 * The kind of personal data a column's name or type looks like, or `undefined`.
 *
 * @example
 * ```ts
 * personalDataKind({ name: "customerEmail", type: "text" }); // "email"
 * personalDataKind({ name: "emailed_at", type: "timestamp with time zone" }); // undefined
 * personalDataKind({ name: "last_seen_from", type: "inet" }); // "network address"
 * ```
 */
export function personalDataKind(column: { name: string; type: string }): string | undefined {
  const words = `_${nameWords(column.name)}_`;
  for (const p of PII_PATTERNS) {
    if (
      p.words.some((w) => words.includes(`_${w}_`)) || p.names?.includes(words.slice(1, -1)) ||
      p.types?.includes(column.type)
    ) return p.kind;
  }
  return undefined;
}

/** A column a job copies in clear that looks like personal data. */
export interface ClearPersonalColumn {
  table: string;
  column: string;
  kind: string;
}

/** What the guard needs of a planned table. */
export interface GuardedTable {
  table: string;
  /** The columns copied (generated columns, computed on the target, left out). */
  columns: readonly { name: string; type: string }[];
  /** The table's `select` after the wildcard was merged in. */
  select?: Select;
}

/**
 * The columns copied in clear without `{ clear: true }` that look like personal data, table by
 * table. A column with a SQL expression or a mask is not in clear.
 *
 * @example
 * ```ts
 * clearPersonalColumns([{ table: "users", columns: [{ name: "phone", type: "text" }],
 *   select: { phone: { clear: true } } }]); // []
 * ```
 */
export function clearPersonalColumns(tables: readonly GuardedTable[]): ClearPersonalColumn[] {
  const found: ClearPersonalColumn[] = [];
  for (const t of tables) {
    for (const column of t.columns) {
      if (t.select && Object.hasOwn(t.select, column.name)) continue;
      const kind = personalDataKind(column);
      if (kind) found.push({ table: t.table, column: column.name, kind });
    }
  }
  return found;
}

const WHAT_TO_DO = "mask them (select: { column: { mask: … } }) or mark them { clear: true }";

/**
 * One warning per table that copies such columns.
 *
 * @example
 * ```ts
 * personalDataWarnings([{ table: "users", column: "email", kind: "email" }]);
 * // ['table "users": copied in clear, and looks like personal data: email (email); mask them …']
 * ```
 */
export function personalDataWarnings(found: readonly ClearPersonalColumn[]): string[] {
  const byTable = Map.groupBy(found, (f) => f.table);
  return [...byTable].map(([table, columns]) =>
    `table ${JSON.stringify(table)}: copied in clear, and looks like personal data: ${
      columns.map((c) => `${c.column} (${c.kind})`).join(", ")
    }; ${WHAT_TO_DO} (docs: The jobs file, Masks)`
  );
}

/**
 * The faults `pii: "fail"` reports, one per column, at the path of its `select` entry.
 *
 * @example
 * ```ts
 * personalDataIssues("export", [{ table: "users", column: "email", kind: "email" }]);
 * // ['jobs["export"].tables.users.select.email: copied in clear, and looks like personal data (email); …']
 * ```
 */
export function personalDataIssues(
  job: string,
  found: readonly ClearPersonalColumn[],
): string[] {
  return found.map((f) =>
    `jobs[${JSON.stringify(job)}].tables${pathKey(f.table)}.select${
      pathKey(f.column)
    }: copied in clear, and looks like personal data (${f.kind}); mask it ({ mask: … }) ` +
    `or mark it { clear: true } (pii: "fail")`
  );
}

/**
 * The guard on a job's plan: the warnings to give (one per table), or with `pii: "fail"` a
 * `ConfigError` naming every column copied in clear that looks like personal data.
 *
 * @example
 * ```ts
 * import type { SchemaCatalog } from "./catalog.ts";
 * import type { JobConfig } from "./config.ts";
 * import { planTables } from "./plan.ts";
 * declare const job: JobConfig, catalog: SchemaCatalog;
 * for (const warning of guardPersonalData(job, planTables(job, catalog))) console.warn(warning);
 * ```
 */
export function guardPersonalData(job: JobConfig, plans: readonly TablePlan[]): string[] {
  const found = clearPersonalColumns(plans.map((p) => ({
    table: p.table.name,
    columns: p.table.columns.filter((c) => !c.generated),
    select: p.spec.select,
  })));
  if (found.length && job.pii === "fail") {
    throw new ConfigError(
      personalDataIssues(job.name, found),
      `job ${JSON.stringify(job.name)} copies personal data in clear`,
    );
  }
  return personalDataWarnings(found);
}
