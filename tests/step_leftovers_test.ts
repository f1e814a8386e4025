/**
 * The leftovers step (`lib/steps/leftovers.ts`) on a real server: the marked shadow and old
 * schemas of this target are dropped and the run says so; another target's are kept; one a
 * reader still holds is kept with a warning, for a later run.
 */

import { assertEquals, assertStringIncludes } from "./_assert.ts";
import { exec, schemaNames, withPair } from "./_servers.ts";
import { contextOf, pairJob } from "./_steps.ts";
import type { RunEvent } from "../lib/events.ts";
import { markShadowSql, OLD_PREFIX, SHADOW_PREFIX, type ShadowMarker } from "../lib/shadow.ts";
import { closeClients, connect } from "../lib/steps/connect.ts";
import { clearLeftovers } from "../lib/steps/leftovers.ts";

/** A schema as a killed run of `target` leaves it, with a table. */
function leftover(name: string, target: string, kind: ShadowMarker["pgxmat"] = "shadow"): string {
  const marker = { pgxmat: kind, target, job: "j", started: "2026-01-01T00:00:00Z" };
  return `CREATE SCHEMA ${name}; ${markShadowSql(name, marker)};
          CREATE TABLE ${name}.t (id int PRIMARY KEY);`;
}

Deno.test("leftovers: this target's shadow and old schemas dropped and said; another's and a held one kept", async () => {
  await withPair("step-leftovers", async (pair) => {
    const [mine, old, held, others] = [
      `${SHADOW_PREFIX}aaaa_staging`,
      `${OLD_PREFIX}bbbb_staging`,
      `${SHADOW_PREFIX}cccc_staging`,
      `${SHADOW_PREFIX}dddd_other`,
    ];
    await exec(
      pair.target,
      [
        leftover(mine, "staging"),
        leftover(old, "staging", "old"),
        leftover(held, "staging"),
        leftover(others, "other"),
      ].join("\n"),
    );
    const reader = await pair.target.reserve();
    const events: RunEvent[] = [];
    const ctx = contextOf(pairJob(pair, "public", "staging", { tables: { "*": {} } }), events);
    const clients = await connect(ctx, 1);
    try {
      await reader.unsafe("BEGIN");
      await reader.unsafe(`LOCK TABLE ${held}.t IN ACCESS SHARE MODE`);
      await clearLeftovers(ctx, clients.lock, { budget: 1000, lockTimeoutMs: 50, attempts: 1 });
      await reader.unsafe("COMMIT");
    } finally {
      reader.release();
      await closeClients(clients, { failed: false });
    }
    const left = (await schemaNames(pair.target)).filter((s) => s.startsWith("_pgxmat_"));
    assertEquals(left.sort(), [held, others].sort());
    assertEquals(ctx.warnings.length, 1);
    assertStringIncludes(ctx.warnings[0], `could not drop "${held}", left by an earlier run (`);
    assertStringIncludes(ctx.warnings[0], "a later run drops it");
    assertEquals(
      events.filter((e) => e.kind === "info").map((e) => "message" in e ? e.message : ""),
      [`dropped leftovers of an earlier run: ${old}, ${mine}`],
    );
  });
});
