// Issue 11 (13): a full disk is a 503 with a sentence, never half a write. No root needed: the app's own
// connection is capped with PRAGMA max_page_count (per connection) and filled, so the next write fails with
// SQLITE_FULL exactly as on a full filesystem.
import { describe, expect, test } from "bun:test";
import { createTestApp, expectNoLeak, seedUser, signIn } from "../helpers.ts";

describe("a full database", () => {
  test("PATCH answers 503 saying the disk is full, changes nothing (name and audit event together), logs an error; /ready says so; recovery when space is back", async () => {
    const ctx = createTestApp();
    const admin = await seedUser(ctx.db, { role: "admin", email: "full-admin@x.co" });
    const agent = await seedUser(ctx.db, { email: "full-agent@x.co", name: "Before Full" });
    const token = await signIn(ctx.request, admin);
    const client = ctx.db.$client;
    const events = () => (client.query("SELECT count(*) AS n FROM audit_events").get() as { n: number }).n;

    const pages = (client.query("PRAGMA page_count").get() as { page_count: number }).page_count;
    client.run(`PRAGMA max_page_count = ${pages + 2}`);
    // Fill every page, with rows from large to tiny, so not even a small row fits any more.
    for (const size of [2000, 200, 20, 1]) {
      try {
        for (let i = 0; i < 10_000; i++) client.query("INSERT INTO audit_events (type, actor, detail) VALUES ('logout', 'cli', ?)").run("x".repeat(size));
      } catch (error) {
        expect((error as { code?: string }).code).toBe("SQLITE_FULL");
      }
    }
    const before = events();

    const patch = await ctx.request("PATCH", `/admin/users/${agent.id}`, { token, body: { name: "After Full With A Much Longer Name" } });
    expect(patch.status).toBe(503);
    expect(patch.json.detail).toMatch(/disk is full/);
    expect(patch.headers.get("retry-after")).not.toBeNull();
    expectNoLeak(patch.text);
    // Nothing half-written: neither the name nor its audit event.
    expect((client.query("SELECT name FROM users WHERE id = ?").get(agent.id) as { name: string }).name).toBe("Before Full");
    expect(events()).toBe(before);
    expect(ctx.logLines.some((line) => line.includes('"level":"error"') && line.includes("full"))).toBe(true);

    const ready = await ctx.request("GET", "/ready");
    expect(ready.status).toBe(503);
    expect(ready.json.detail).toBe("database disk is full");

    // Space comes back: /ready recovers on its own, and the same change now lands with its event.
    client.run("PRAGMA max_page_count = 1073741823");
    expect((await ctx.request("GET", "/ready")).status).toBe(200);
    const again = await ctx.request("PATCH", `/admin/users/${agent.id}`, { token, body: { name: "After Full With A Much Longer Name" } });
    expect(again.status).toBe(200);
    expect(events()).toBe(before + 1);
    expect((client.query("PRAGMA integrity_check").get() as { integrity_check: string }).integrity_check).toBe("ok");
  }, 60_000);
});
