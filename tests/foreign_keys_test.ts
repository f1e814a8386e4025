/** Foreign keys beyond the copy (`lib/foreign_keys.ts`): which may be orphaned, the warnings. */

import { assertEquals } from "./_assert.ts";
import { column as col, table } from "./_fixtures.ts";
import { validateJobs } from "../lib/config.ts";
import { droppedWarning, leftOutWarning, mayOrphan } from "../lib/foreign_keys.ts";
import { planTables } from "../lib/plan.ts";
import type { SchemaCatalog } from "../lib/catalog.ts";

const CATALOG: SchemaCatalog = {
  schema: "app",
  oid: 1,
  serverVersion: 150000,
  tables: [
    table(30, "parent", [col("id"), col("name", { type: "text" })]),
    table(31, "child", [col("id"), col("parent_id")]),
  ],
};

const FK = {
  oid: 1,
  name: "child_parent_id_fkey",
  table: "child",
  tablePartitioned: false,
  columns: ["parent_id"],
  refSchema: "app",
  refTable: "parent",
  refColumns: ["id"],
  inJob: true,
  validated: true,
  definition: "FOREIGN KEY (parent_id) REFERENCES parent(id)",
};

Deno.test("mayOrphan: only filters, transforms of the key's columns, or a NOT VALID key", () => {
  const may = (tables: Record<string, unknown>, key = FK) => {
    const [job] = validateJobs({
      j: {
        source: { database: "postgres://h/a", schema: "app" },
        target: { database: "postgres://h/b", schema: "t" },
        tables,
      },
    });
    return mayOrphan(key, planTables(job, CATALOG));
  };
  assertEquals(may({ "*": {} }), false);
  assertEquals(may({ "*": {}, parent: { select: { name: "'x'" } } }), false);
  assertEquals(may({ "*": {}, parent: { select: { id: { clear: true } } } }), false);
  assertEquals(may({ "*": {}, parent: { where: { id: [1] } } }), true);
  assertEquals(may({ "*": {}, child: { where: "id > 1" } }), true);
  assertEquals(may({ "*": {}, child: { select: { parent_id: "1" } } }), true);
  assertEquals(may({ "*": {} }, { ...FK, validated: false }), true);
});

Deno.test("the warnings for a key left out and a key a subset drops", () => {
  assertEquals(
    leftOutWarning({ name: "fk", table: "o", refSchema: "Other", refTable: "c" }),
    'foreign key "fk" of table "o" references "Other"."c", which this job does not copy: ' +
      "the key is left out",
  );
  assertEquals(
    droppedWarning({ name: "fk", table: "o" }),
    'foreign key "fk" of table "o" is not followed (keys: "drop"): the key is left out of the target',
  );
});
