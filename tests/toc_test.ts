import { assertEquals } from "./_assert.ts";
import {
  completingBatch,
  defaultsEarly,
  describeEntry,
  parseToc,
  PG_CLASS,
  PG_CONSTRAINT,
  restoredEntries,
  selectToc,
  tocKey,
  tocList,
  tocSelection,
} from "../lib/toc.ts";

const LIST = `;
; Archive created at 2026-11-26 01:36:08 UTC
;     dbname: postgres
;
7; 2615 16489 SCHEMA - acme postgres
3362; 0 0 COMMENT - SCHEMA acme postgres
;	depends on: 7
897; 1247 16491 TYPE acme mood postgres
;	depends on: 7
272; 1255 16504 FUNCTION acme double(integer) postgres
;	depends on: 7
221; 1259 16519 TABLE acme Order Items postgres
;	depends on: 897 7
3364; 0 0 COMMENT acme TABLE "Order Items" postgres
;	depends on: 221
220; 1259 16518 SEQUENCE acme Order Items_id_seq postgres
;	depends on: 7
3505; 0 0 SEQUENCE OWNED BY acme Order Items_id_seq postgres
;	depends on: 220
3506; 0 0 SEQUENCE OWNED BY acme Order Items_id_seq2 postgres
;	depends on: 219
225; 1259 16553 TABLE acme other postgres
;	depends on: 7
3326; 0 0 TABLE ATTACH acme events_2024 postgres
;	depends on: 226 225
3330; 2604 16522 DEFAULT acme Order Items id postgres
;	depends on: 221 220
3338; 2606 16524 CONSTRAINT acme Order Items Order Items_pkey postgres
;	depends on: 221
3368; 0 0 COMMENT acme CONSTRAINT "Order Items_pkey" ON "Order Items" postgres
;	depends on: 3338
3354; 2606 16525 FK CONSTRAINT acme Order Items Order Items_user_id_fkey postgres
;	depends on: 221 3338
3350; 0 0 INDEX ATTACH acme events_2024_at_idx postgres
;	depends on: 3349 3348
3390; 0 0 SEARCHPATH - SEARCHPATH 
`;

Deno.test("parseToc reads id, catalog OID, object OID, text and dependencies; skips comments", () => {
  const toc = parseToc(LIST);
  assertEquals(toc.length, 17);
  assertEquals(toc[4], {
    id: 221,
    catalogOid: 1259,
    objectOid: 16519,
    text: "TABLE acme Order Items postgres",
    line: "221; 1259 16519 TABLE acme Order Items postgres",
    dependencies: [897, 7],
  });
  assertEquals(toc.at(-1)!.dependencies, []);
});

Deno.test("selectToc keeps objects by OID and OID-less entries with all they depend on", () => {
  const toc = parseToc(LIST);
  const kept = selectToc(toc, {
    objects: new Set([
      "2615:16489",
      "1259:16519",
      "1259:16518",
      "2604:16522",
      "2606:16524",
      "1247:16491",
    ]),
  });
  // Not the schema nor its comment, not what depends on an entry left out, not SEARCHPATH.
  assertEquals(kept.map((e) => e.id), [897, 221, 3364, 220, 3505, 3330, 3338, 3368]);
  assertEquals(tocList(kept.slice(0, 1)), "897; 1247 16491 TYPE acme mood postgres\n");
});

Deno.test("selectToc: what is present already is not restored, what depends on it is", () => {
  const toc = parseToc(LIST);
  const kept = selectToc(toc, {
    objects: new Set(["1259:16519", "2606:16525"]),
    present: new Set(["2606:16524"]),
  });
  assertEquals(kept.map((e) => e.id), [221, 3364, 3368, 3354]);
});

Deno.test("selectToc follows an OID-less entry that depends on another, in any order", () => {
  const toc = parseToc(
    "5; 0 0 COMMENT s X o\n;\tdepends on: 4\n4; 0 0 INDEX ATTACH s i o\n;\tdepends on: 2 3\n" +
      "2; 1259 20 INDEX s i o\n3; 1259 21 INDEX s p o",
  );
  assertEquals(
    selectToc(toc, { objects: new Set(["1259:20", "1259:21"]) }).map((e) => e.id),
    [5, 4, 2, 3],
  );
  assertEquals(selectToc(toc, { objects: new Set(["1259:20"]) }).map((e) => e.id), [2]);
});

Deno.test("an OID of another catalog with the same number is not a match", () => {
  const toc = parseToc("1; 1255 100 FUNCTION s f() o\n2; 1259 100 TABLE s t o");
  assertEquals(
    selectToc(toc, { objects: new Set(["1259:100"]) }).map((e) => e.id),
    [2],
  );
});

Deno.test("describeEntry names kind, object and table, with spaces and an upper-case schema", () => {
  const names = parseToc(LIST).map((e) => describeEntry(e, "acme", ["Order Items", "Order"]));
  assertEquals(names[4], { type: "TABLE", name: "Order Items" });
  assertEquals(names[7], { type: "SEQUENCE OWNED BY", name: "Order Items_id_seq" });
  assertEquals(names[11], { type: "DEFAULT", name: "id", table: "Order Items" });
  assertEquals(names[14], {
    type: "FK CONSTRAINT",
    name: "Order Items_user_id_fkey",
    table: "Order Items",
  });
  const [upper] = parseToc("1; 1259 2 TABLE ACME ACME TABLE owner");
  assertEquals(describeEntry(upper, "ACME", []), { type: "TABLE", name: "ACME TABLE" });
  const [other] = parseToc("2; 3079 3 EXTENSION - citext");
  assertEquals(describeEntry(other, "acme", []), { type: "", name: "EXTENSION - citext" });
});

Deno.test("ROW SECURITY (catalog OID 0, its table's OID) goes with its table", () => {
  // pg_dump writes `ALTER TABLE … ENABLE ROW LEVEL SECURITY` as an entry whose catalog OID is
  // 0: matched as an object it was never chosen, and the policy ran on a table without RLS.
  const toc = parseToc(
    "215; 1259 16385 TABLE k t postgres\n3379; 3256 16392 POLICY k t p postgres\n" +
      ";\tdepends on: 215\n3378; 0 16385 ROW SECURITY k t postgres\n;\tdepends on: 215\n" +
      "216; 1259 16390 TABLE k u postgres\n3380; 0 16390 ROW SECURITY k u postgres\n" +
      ";\tdepends on: 216",
  );
  assertEquals(
    selectToc(toc, { objects: new Set(["1259:16385", "3256:16392"]) }).map((e) => e.id),
    [215, 3379, 3378],
  );
});

Deno.test("tocKey and tocSelection: the job's objects but those left out, with those present", () => {
  assertEquals(tocKey(PG_CLASS, 5), "1259:5");
  assertEquals(tocKey(PG_CONSTRAINT, 7), "2606:7");
  const selection = tocSelection(["1259:5", "2606:7", "2606:8"], ["2606:7"], ["1259:9"]);
  assertEquals([...selection.objects], ["1259:5", "2606:8"]);
  assertEquals([...selection.present ?? []], ["1259:9"]);
  assertEquals(tocSelection(new Set(["1259:5"])).present?.size, 0);
});

Deno.test("restoredEntries: the job's objects with their OID-less entries, named for the report", () => {
  const toc = parseToc(LIST);
  assertEquals(restoredEntries(toc, ["1259:16519", "2606:16524"], "acme", ["Order Items"]), [
    { type: "TABLE", name: "Order Items" },
    { type: "COMMENT", name: 'TABLE "Order Items"' },
    { type: "CONSTRAINT", name: "Order Items_pkey", table: "Order Items" },
    { type: "COMMENT", name: 'CONSTRAINT "Order Items_pkey" ON "Order Items"' },
  ]);
});

Deno.test("completingBatch: a table is complete after the last batch that touches it", () => {
  const toc = parseToc(
    [
      "10; 1259 100 TABLE acme a o",
      "11; 1259 101 TABLE acme b o",
      "12; 1259 102 TABLE acme parent o",
      "13; 1259 103 TABLE acme part o",
      "20; 1259 200 SEQUENCE acme a_id_seq o",
      "21; 0 0 SEQUENCE OWNED BY acme a_id_seq o\n;\tdepends on: 20 10",
      "22; 2604 300 DEFAULT acme a id o\n;\tdepends on: 10 20",
      "23; 0 0 TABLE ATTACH acme part o\n;\tdepends on: 12 13",
      "24; 1259 104 VIEW acme v o\n;\tdepends on: 11",
      "25; 1259 105 TABLE acme c o",
    ].join("\n"),
  );
  const id = (n: number) => toc.find((e) => e.id === n)!;
  const batches = [[id(10), id(11), id(12)], [id(13), id(20), id(21)], [id(22), id(23)], [
    id(24),
    id(25),
  ]];
  const table = (oid: number, name: string, partitioned = false) => ({ oid, name, partitioned });
  const tables = [
    table(100, "a"),
    table(101, "b"),
    table(102, "parent", true),
    table(105, "c"),
    table(999, "not dumped"),
  ];
  assertEquals(
    Object.fromEntries(completingBatch(batches, tables)),
    {
      a: 2, // its DEFAULT (and before it its sequence's OWNED BY) lock it
      b: 3, // the view that reads it
      parent: 3, // partitioned: its partitions are entries of their own
      c: 3,
      "not dumped": 3,
    },
  );
  assertEquals(Object.fromEntries(completingBatch([[id(10)]], [table(100, "a")])), { a: 0 });
});

Deno.test("defaultsEarly: a separate DEFAULT right after what it depends on, the rest in order", () => {
  const toc = parseToc(
    [
      "5; 1255 50 FUNCTION acme next_code() o",
      "9; 1259 90 TABLE acme a o",
      "8; 1259 80 SEQUENCE acme a_id_seq o\n;\tdepends on: 9",
      "7; 0 0 SEQUENCE OWNED BY acme a_id_seq o\n;\tdepends on: 8",
      "10; 1259 100 TABLE acme b o",
      "12; 1259 120 VIEW acme v o\n;\tdepends on: 10",
      "11; 2604 110 DEFAULT acme a id o\n;\tdepends on: 8 9",
      "13; 2604 130 DEFAULT acme b code o\n;\tdepends on: 10 5",
      "14; 2604 140 DEFAULT acme other id o\n;\tdepends on: 999",
    ].join("\n"),
  );
  assertEquals(defaultsEarly(toc).map((e) => e.id), [5, 9, 8, 11, 7, 10, 13, 12, 14]);
  // So a serial table is complete with the batch that creates it, not with the section's last.
  const tables = [{ oid: 90, name: "a", partitioned: false }];
  const halves = (l: typeof toc) => [l.slice(0, 5), l.slice(5)];
  assertEquals(completingBatch(halves(toc), tables).get("a"), 1);
  assertEquals(completingBatch(halves(defaultsEarly(toc)), tables).get("a"), 0);
});

Deno.test("completingBatch: a SEQUENCE OWNED BY locks the table that owns the sequence", () => {
  // As pg_dump lists them: the owned sequence depends on its table, its OWNED BY on the
  // sequence alone. `ALTER SEQUENCE … OWNED BY` locks the table; with the OWNED BY in the next
  // batch, the table counted as complete before, and that transaction waited for its copy.
  const toc = parseToc(
    [
      "227; 1259 23279 TABLE s m o",
      "226; 1259 23278 SEQUENCE s manual o\n;\tdepends on: 227 6",
      "3393; 0 0 SEQUENCE OWNED BY s manual o\n;\tdepends on: 226",
      "228; 1259 23290 TABLE s n o",
    ].join("\n"),
  );
  const tables = [{ oid: 23279, name: "m", partitioned: false }, {
    oid: 23290,
    name: "n",
    partitioned: false,
  }];
  assertEquals(
    Object.fromEntries(completingBatch([toc.slice(0, 2), toc.slice(2)], tables)),
    { m: 1, n: 1 },
  );
});
