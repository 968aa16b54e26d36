// Issue 19 (1, 2), tried as the attacks were made, on the compiled binary: no token from before a restore
// works after it, whatever ids and token versions the backup brings back, on this machine or a new one; and
// tokens that carry no database generation (the Python original's {sub, exp}, moxie's from before generations)
// keep working until the first restore and never after.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { freePort, listeningUrl, readExistingDb, runCli, startServe, stopServer, type Env, type ServerProcess } from "../support/processes.ts";
import { ADMIN, createSuite, expect401, HS256, nowSeconds, RUN_TIMEOUT_MS, SECRET, signJwt, validClaims, type Res } from "./harness.ts";

const suite = createSuite();
const MALLORY = { name: "Mallory Agent", email: "mallory@sec.example.com", password: "Mallory-Agent-Pass-2026" };
const BOB = { name: "Bob Admin", email: "bob@sec.example.com", password: "Bob-Admin-Pass-2026" };

/** A server on `dir`'s database, started as the operator starts it after a restore; answers are recorded for the sweep. */
async function serveIn(dir: string, env: Env, label: string) {
  const server: ServerProcess = startServe(["--port", String(freePort())], { cwd: dir, env, command: ["./moxie"] });
  const url = await listeningUrl(server);
  const request = async (method: string, path: string, options: { token?: string; json?: unknown } = {}): Promise<Res> => {
    const headers: Record<string, string> = {};
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    if (options.json !== undefined) headers["content-type"] = "application/json";
    const response = await fetch(url + path, { method, headers, body: options.json === undefined ? undefined : JSON.stringify(options.json) });
    const text = await response.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const res = { status: response.status, headers: response.headers, text, json };
    suite.record(`${label}: ${method} ${path}`, path, res);
    return res;
  };
  const token = async (email: string, password: string): Promise<string> => {
    const res = await request("POST", "/auth/login", { json: { email, password } });
    if (res.status !== 200) throw new Error(`sign-in of ${email} failed: ${res.status} ${res.text}`);
    return res.json.access_token;
  };
  return { request, token, stop: () => stopServer(server) };
}

/** The claims of a token moxie issued (read, not verified). */
function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString("utf8"));
}

function accountRow(dbPath: string, email: string): { id: number; token_version: number } {
  return readExistingDb(dbPath, (db) => db.query("SELECT id, token_version FROM users WHERE email = ?").get(email) as { id: number; token_version: number });
}

/** The database's generation row; undefined for a file without one (a moxie from before generations). */
function generationOf(dbPath: string): { generation: string; restored_at: string | null } | undefined {
  return readExistingDb(dbPath, (db) => {
    const table = db.query("SELECT 1 FROM sqlite_master WHERE name = 'database_generation'").get();
    return table ? (db.query("SELECT generation, restored_at FROM database_generation").get() as { generation: string; restored_at: string | null }) : undefined;
  });
}

describe("a restore ends every token issued before it", () => {
  test("1. an old token never answers as the new account that gets its id and token version (Mallory's token, Bob the new admin)", async () => {
    const first = await suite.start("restore-reuse");
    const admin = await first.token(ADMIN.email, ADMIN.password);
    const backup = join(first.dir, "only-the-admin.db");
    expect((await first.cli(["backup", backup])).code).toBe(0);
    const created = await first.request("POST", "/admin/users", { token: admin, json: MALLORY });
    expect(created.status).toBe(201);
    expect(created.json.id).toBe(2);
    const mallory = await first.token(MALLORY.email, MALLORY.password);
    expect((await first.request("GET", "/auth/me", { token: mallory })).json.email).toBe(MALLORY.email);
    expect(claimsOf(mallory)).toMatchObject({ sub: "2", ver: 0 });

    // Tokens without a generation, in a database never restored: the original's {sub, exp} and moxie's older
    // shape still work, as the switch promised.
    const original = signJwt(HS256, { sub: "1", exp: nowSeconds() + 3600 });
    const older = signJwt(HS256, validClaims("1", 0));
    for (const token of [original, older]) expect((await first.request("GET", "/auth/me", { token })).status).toBe(200);

    // While the server runs, restore refuses and changes nothing: the generation of a file a server has open
    // never moves under it.
    const before = generationOf(first.dbPath);
    const refused = await first.cli(["restore", backup]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("stop the server first");
    expect(generationOf(first.dbPath)).toEqual(before);
    expect((await first.request("GET", "/auth/me", { token: mallory })).status).toBe(200);

    await suite.stop(first, "SIGTERM");
    const restored = await first.cli(["restore", backup]);
    expect(restored.code).toBe(0);
    expect(restored.stdout).toContain("Signed everyone out (1 account): tokens issued before the restore no longer work");

    const again = await serveIn(first.dir, first.env, "restore-reuse after the restore");
    try {
      const adminAgain = await again.token(ADMIN.email, ADMIN.password);
      const bob = await again.request("POST", "/admin/users", { token: adminAgain, json: { ...BOB, role: "admin" } });
      expect(bob.status).toBe(201);
      // The attack's conditions hold: Bob has Mallory's id and token version (the id counter came back from
      // the backup), so only the generation tells her token from his.
      expect(bob.json.id).toBe(2);
      expect(accountRow(first.dbPath, BOB.email)).toEqual({ id: 2, token_version: 0 });

      expect401(await again.request("GET", "/auth/me", { token: mallory }), "Invalid or expired token");
      expect401(await again.request("GET", "/admin/users", { token: mallory }), "Invalid or expired token");
      // And nothing else from before the restore: the admin's token, the original's and the older shape.
      for (const token of [admin, original, older]) {
        expect401(await again.request("GET", "/auth/me", { token }), "Invalid or expired token");
      }

      // Controls: Bob's own token is Bob's, and a token of the new generation at id 2 / version 0 is admitted,
      // so the refusals above are the generation's doing. Mallory's token carried the backup's generation.
      const bobToken = await again.token(BOB.email, BOB.password);
      expect((await again.request("GET", "/auth/me", { token: bobToken })).json).toMatchObject({ id: 2, email: BOB.email, role: "admin" });
      expect((await again.request("GET", "/admin/users", { token: bobToken })).status).toBe(200);
      const now = generationOf(first.dbPath)!;
      expect(claimsOf(mallory).gen).toBe(before!.generation);
      expect(now.generation).toMatch(/^[0-9a-f]{32}$/);
      expect(now.generation).not.toBe(before!.generation);
      expect(now.restored_at).not.toBeNull();
      expect(claimsOf(bobToken).gen).toBe(now.generation);
      expect((await again.request("GET", "/auth/me", { token: signJwt(HS256, validClaims("2", 0, now.generation)) })).json.email).toBe(BOB.email);
    } finally {
      await again.stop();
    }
  }, 120_000);

  test("2. a restore on a new machine brings back no revoked token (the stolen one included)", async () => {
    const old = await suite.start("restore-old-machine");
    const offHost = join(suite.tempDir("moxie-sec-offhost-"), "nightly.db");
    expect((await old.cli(["backup", offHost])).code).toBe(0);
    // Sign in, log out everywhere, sign in again (the token that is stolen), log out everywhere.
    const first = await old.token(ADMIN.email, ADMIN.password);
    expect((await old.request("POST", "/auth/logout?scope=global", { token: first })).status).toBe(204);
    const stolen = await old.token(ADMIN.email, ADMIN.password);
    expect((await old.request("GET", "/auth/me", { token: stolen })).status).toBe(200);
    expect((await old.request("POST", "/auth/logout?scope=global", { token: stolen })).status).toBe(204);
    for (const token of [first, stolen]) expect401(await old.request("GET", "/auth/me", { token }), "Session ended; sign in again");
    expect(claimsOf(first).ver).toBe(0);
    expect(claimsOf(stolen).ver).toBe(1);

    // A new machine: the binary alone in an empty directory, the same SECRET_KEY, the backup restored there.
    const { dir } = await suite.installDir();
    const env = { SECRET_KEY: SECRET };
    const restored = await runCli(["restore", offHost], { cwd: dir, env, command: ["./moxie"], timeoutMs: RUN_TIMEOUT_MS });
    expect(restored.stderr).toBe("");
    expect(restored.code).toBe(0);
    expect(restored.stdout).toContain("There was no previous database");
    expect(restored.stdout).toContain("Signed everyone out");
    const fresh = await serveIn(dir, env, "restore-new-machine");
    try {
      expect401(await fresh.request("GET", "/auth/me", { token: stolen }), "Invalid or expired token");
      // The first token carries exactly the id and version the restored account has: still refused.
      expect(accountRow(join(dir, "moxie.db"), ADMIN.email)).toEqual({ id: 1, token_version: claimsOf(first).ver as number });
      expect401(await fresh.request("GET", "/auth/me", { token: first }), "Invalid or expired token");
      // The new machine's database is not the old one's either: a token of the old machine's generation is no token here.
      expect(claimsOf(stolen).gen).toMatch(/^[0-9a-f]{32}$/);
      expect(generationOf(join(dir, "moxie.db"))!.generation).not.toBe(claimsOf(stolen).gen);
      // Control: signing in again works there.
      const now = await fresh.token(ADMIN.email, ADMIN.password);
      expect((await fresh.request("GET", "/auth/me", { token: now })).json.email).toBe(ADMIN.email);
    } finally {
      await fresh.stop();
    }
  }, 120_000);
});

suite.sweep();
