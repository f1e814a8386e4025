/** A run's report from what its steps returned: pure, on a dump's table of contents as text. */

import { assertEquals } from "./_assert.ts";
import { countKinds, jobReport } from "../lib/job_report.ts";
import { parseToc } from "../lib/toc.ts";

const TOC = parseToc(`7; 2615 16489 SCHEMA - acme postgres
221; 1259 16519 TABLE acme Order Items postgres
;	depends on: 7
222; 1259 16520 TABLE acme other postgres
;	depends on: 7
230; 1259 16530 VIEW acme recent postgres
;	depends on: 221
3338; 2606 16524 CONSTRAINT acme Order Items Order Items_pkey postgres
;	depends on: 221
3364; 0 0 COMMENT acme TABLE "Order Items" postgres
;	depends on: 221
`);

Deno.test("countKinds counts each kind once per object", () => {
  assertEquals(countKinds(["VIEW", "TABLE", "VIEW"]), { VIEW: 2, TABLE: 1 });
  assertEquals(countKinds([]), {});
});

Deno.test("jobReport: the restored objects counted by kind (OID-less entries with them), the rest as given", () => {
  const leftOut = [{ type: "view", name: "acme.old", reason: "r", todo: "t" }];
  const tables = [{ table: "Order Items", rows: 3, bytes: 10, seconds: 0.5 }];
  const work = { workers: 2, seconds: 1, copying: 1.5, indexing: 0.25, analysing: 0.1, idle: 0.15 };
  const report = jobReport({
    config: { name: "dev", source: { schema: "acme" }, target: { schema: "staging" } },
    structure: { objects: new Set(["1259:16519", "1259:16530", "2606:16524"]), leftOut },
    toc: TOC,
    copied: { tables, work },
    warnings: ["w"],
    seconds: 1.5,
    steps: { connect: 0.25, copy: 1 },
  });
  assertEquals(report, {
    job: "dev",
    target: "staging",
    tables,
    warnings: ["w"],
    objects: { TABLE: 1, VIEW: 1, CONSTRAINT: 1, COMMENT: 1 },
    leftOut,
    seconds: 1.5,
    steps: { connect: 0.25, copy: 1 },
    copyWork: work,
  });
});
