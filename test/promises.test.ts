// README promises no other file defended (found while writing test/README.md): the common-password list,
// LOG_LEVEL and LOG_FORMAT, and AUDIT_RETENTION_DAYS pruning at start.
import { Database } from "bun:sqlite";
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import commonPasswordsText from "../src/passwords/common-passwords.txt" with { type: "text" };
import { createTestApp, seedUser, signIn, tempDir } from "./helpers.ts";
import { freePort, runCli, startServe, stopServer, waitUntil } from "./support/processes.ts";

// This file spawns processes or hashes passwords: its own bound on a hung test (see test/setup.ts for why).
setDefaultTimeout(30_000);

const SECRET = "promises-test-secret-key-0123456789abcdef-01";
const COMMON = commonPasswordsText.split("\n").filter((line) => line !== "" && !line.startsWith("#"));

describe("new passwords are not among the 5 000 most common", () => {
  const ctx = createTestApp();

  test("the list holds 5 000 passwords, and the first, a middle and the last are refused (in any case)", async () => {
    expect(COMMON).toHaveLength(5000);
    const admin = await seedUser(ctx.db, { role: "admin", email: "admin@common.test" });
    const token = await signIn(ctx.request, admin);
    const agent = await seedUser(ctx.db, { email: "agent@common.test" });
    // The last entry is digits only, so its upper case is itself: "pAsSwOrD" shows the check ignores case.
    const mixedCase = [...COMMON[0]!].map((c, i) => (i % 2 ? c.toUpperCase() : c)).join("");
    expect(mixedCase).not.toBe(COMMON[0]);
    for (const [index, password] of [COMMON[0]!, COMMON[2500]!, COMMON[4999]!.toUpperCase(), mixedCase].entries()) {
      const created = await ctx.request("POST", "/admin/users", {
        token,
        body: { name: "Common", email: `common-${index}@common.test`, password },
      });
      expect({ password, status: created.status, detail: created.json?.detail }).toEqual({
        password,
        status: 422,
        detail: "password is too common; choose a less guessable one",
      });
      const reset = await ctx.request("PUT", `/admin/users/${agent.id}/password`, { token, body: { password } });
      expect({ password, status: reset.status }).toEqual({ password, status: 422 });
    }
  });
});

/** Starts `moxie serve` from source on a free port and waits until /health answers; its log is not needed. */
async function serveWith(env: Record<string, string>) {
  const cwd = tempDir();
  const port = freePort();
  const server = startServe(["--port", String(port)], { cwd, env: { SECRET_KEY: SECRET, ...env } });
  const url = `http://127.0.0.1:${port}`;
  await waitUntil("GET /health", async () => ((await fetch(`${url}/health`).catch(() => undefined))?.status === 200 ? true : undefined), 20_000);
  return { server, url, cwd };
}

describe("LOG_LEVEL and LOG_FORMAT", () => {
  test("LOG_FORMAT=pretty: one readable line per request, not JSON; LOG_LEVEL=warn: no request lines", async () => {
    const pretty = await serveWith({ LOG_FORMAT: "pretty" });
    expect((await fetch(`${pretty.url}/auth/me?secret-query=1`)).status).toBe(401);
    const line = await waitUntil("the request line", () => pretty.server.stdout().split("\n").find((l) => l.includes("/auth/me")), 10_000);
    expect(line).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO +request /);
    expect(line).toContain("status=401");
    expect(line).not.toContain("secret-query");
    // An anonymous request has no user_id: left out, as the JSON line leaves it out, never "user_id=undefined".
    expect(line).not.toContain("undefined");
    expect(() => JSON.parse(line)).toThrow();
    expect(await stopServer(pretty.server)).toBe(0);

    const quiet = await serveWith({ LOG_LEVEL: "warn" });
    expect((await fetch(`${quiet.url}/auth/me`)).status).toBe(401);
    expect(await stopServer(quiet.server)).toBe(0);
    // Stopped cleanly, so every line it would have written is out: none is below warn.
    const levels = quiet.server
      .stdout()
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(l).level);
    expect(levels.filter((level) => level === "info" || level === "debug")).toEqual([]);
  }, 60_000);
});

describe("AUDIT_RETENTION_DAYS", () => {
  test("serve prunes events older than the retention at start and keeps the rest", async () => {
    const cwd = tempDir();
    const env = { SECRET_KEY: SECRET };
    const created = await runCli(["create-admin", "--email", "admin@retention.test", "--name", "Admin", "--password", "retention-Pass-1"], { cwd, env });
    expect(created.code).toBe(0);
    const dbPath = join(cwd, "moxie.db");
    const db = new Database(dbPath);
    const at = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString();
    db.run("INSERT INTO audit_events (created_at, type, actor, reason) VALUES (?, 'login.failed', 'anonymous', 'old'), (?, 'login.failed', 'anonymous', 'recent')", [at(40), at(10)]);
    db.close();

    const port = freePort();
    const server = startServe(["--port", String(port)], { cwd, env: { ...env, AUDIT_RETENTION_DAYS: "30" } });
    await waitUntil("the pruning log line", () => server.logs().find((entry) => entry.msg === "pruned audit events"), 20_000);
    expect(await stopServer(server)).toBe(0);
    const check = new Database(dbPath, { readonly: true });
    const reasons = check.query("SELECT reason FROM audit_events WHERE reason IN ('old', 'recent')").values().flat();
    check.close();
    expect(reasons).toEqual(["recent"]);
  }, 60_000);
});
