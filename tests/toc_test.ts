import { assertEquals } from "./_assert.ts";
import { describeEntry, parseToc, selectToc, tocList } from "../lib/toc.ts";

const LIST = `;
; Archive created at 2026-11-26 01:36:08 UTC
;     dbname: postgres
;
7; 2615 16489 SCHEMA - acme postgres
897; 1247 16491 TYPE acme mood postgres
272; 1255 16504 FUNCTION acme double(integer) postgres
221; 1259 16519 TABLE acme Order Items postgres
220; 1259 16518 SEQUENCE acme Order Items_id_seq postgres
3505; 0 0 SEQUENCE OWNED BY acme Order Items_id_seq postgres
3506; 0 0 SEQUENCE OWNED BY acme Order Items_id_seq2 postgres
225; 1259 16553 TABLE acme other postgres
3326; 0 0 TABLE ATTACH acme events_2024 postgres
3330; 2604 16522 DEFAULT acme Order Items id postgres
3338; 2606 16524 CONSTRAINT acme Order Items Order Items_pkey postgres
3354; 2606 16525 FK CONSTRAINT acme Order Items Order Items_user_id_fkey postgres
3350; 0 0 INDEX ATTACH acme events_2024_at_idx postgres
`;

Deno.test("parseToc reads id, catalog OID, object OID and text; skips comments", () => {
  const toc = parseToc(LIST);
  assertEquals(toc.length, 13);
  assertEquals(toc[3], {
    id: 221,
    catalogOid: 1259,
    objectOid: 16519,
    text: "TABLE acme Order Items postgres",
    line: "221; 1259 16519 TABLE acme Order Items postgres",
  });
});

Deno.test("selectToc keeps objects by OID and OID-less entries by exact text, never the schema", () => {
  const toc = parseToc(LIST);
  const kept = selectToc(toc, {
    schema: "acme",
    objects: new Set([
      "2615:16489",
      "1259:16519",
      "1259:16518",
      "2604:16522",
      "2606:16524",
      "1247:16491",
    ]),
    named: [
      { desc: "SEQUENCE OWNED BY", name: "Order Items_id_seq", owner: "postgres" },
      { desc: "TABLE ATTACH", name: "events_2024", owner: "someone else" },
      { desc: "INDEX ATTACH", name: "events_2024_at_idx", owner: "postgres" },
    ],
  });
  assertEquals(kept.map((e) => e.id), [897, 221, 220, 3505, 3330, 3338, 3350]);
  assertEquals(tocList(kept.slice(0, 1)), "897; 1247 16491 TYPE acme mood postgres\n");
});

Deno.test("an OID of another catalog with the same number is not a match", () => {
  const toc = parseToc("1; 1255 100 FUNCTION s f() o\n2; 1259 100 TABLE s t o");
  assertEquals(
    selectToc(toc, { schema: "s", objects: new Set(["1259:100"]), named: [] }).map((e) => e.id),
    [2],
  );
});

Deno.test("describeEntry names kind, object and table, with spaces and an upper-case schema", () => {
  const names = parseToc(LIST).map((e) => describeEntry(e, "acme", ["Order Items", "Order"]));
  assertEquals(names[3], { type: "TABLE", name: "Order Items" });
  assertEquals(names[5], { type: "SEQUENCE OWNED BY", name: "Order Items_id_seq" });
  assertEquals(names[9], { type: "DEFAULT", name: "id", table: "Order Items" });
  assertEquals(names[11], {
    type: "FK CONSTRAINT",
    name: "Order Items_user_id_fkey",
    table: "Order Items",
  });
  const [upper] = parseToc("1; 1259 2 TABLE ACME ACME TABLE owner");
  assertEquals(describeEntry(upper, "ACME", []), { type: "TABLE", name: "ACME TABLE" });
  const [other] = parseToc("2; 3079 3 EXTENSION - citext");
  assertEquals(describeEntry(other, "acme", []), { type: "", name: "EXTENSION - citext" });
});
