// Sessions per device (issue 21) on the compiled binary, as an office runs it: two devices and one signed out, an
// admin ending a session, `moxie sessions` and `moxie sign-out` against the running server, the bound as a setting,
// tokens from before sessions, expired sessions pruned at start, a restore, and a User-Agent of junk that never
// reaches an answer or the log.
import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { freePort, listeningUrl, readExistingDb, startServe, stopServer, waitUntil } from "../support/processes.ts";
import { ADMIN, createSuite, HS256, nowSeconds, signJwt, validClaims, type Instance, type Res } from "./harness.ts";

const suite = createSuite();
const AGENT = { name: "Sam Sessions", email: "sam@sec.example.com", password: "Sam-Sessions-Pass-2026" };
const FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0";
const SAFARI_IPHONE =
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
suite.secret(AGENT.password);

/** Creates the agent through the API as the first admin; returns its id. */
async function createAgent(server: Instance): Promise<number> {
  const created = await server.request("POST", "/admin/users", { token: server.adminToken(), json: { name: AGENT.name, email: AGENT.email, password: AGENT.password } });
  expect(created.status).toBe(201);
  return created.json.id as number;
}

async function signInFrom(server: Instance, userAgent: string, account: { email: string; password: string } = AGENT): Promise<string> {
  const res = await server.login(account.email, account.password, { "user-agent": userAgent });
  if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${res.text}`);
  return res.json.access_token as string;
}

const me = (server: Instance, token: string) => server.request("GET", "/auth/me", { token });
const sessionsOf = async (server: Instance, token: string) => (await server.request("GET", "/auth/sessions", { token })).json as Array<Record<string, unknown>>;

function expectEnded(res: Res): void {
  expect({ status: res.status, body: res.json }).toEqual({ status: 401, body: { detail: "Session ended; sign in again" } });
}

describe("sessions on the compiled binary", () => {
  test("two devices: signing out of one leaves the other signed in; an admin's ending of a session stops its very next request", async () => {
    const server = await suite.start("two-devices");
    await createAgent(server);
    const pc = await signInFrom(server, FIREFOX_WINDOWS);
    const phone = await signInFrom(server, SAFARI_IPHONE);
    const listed = await sessionsOf(server, phone);
    expect(listed.map((s) => [s.device, s.current])).toEqual([
      ["Safari on iPhone", true],
      ["Firefox on Windows", false],
    ]);

    expect((await server.request("POST", "/auth/logout", { token: pc })).status).toBe(204);
    expectEnded(await me(server, pc));
    expect((await me(server, phone)).status).toBe(200);

    // An admin (signed in with a session of their own) ends the phone's session: the very next request is refused.
    const admin = await signInFrom(server, FIREFOX_WINDOWS, ADMIN);
    const agentId = (await me(server, phone)).json.id as number;
    const seen = (await server.request("GET", `/admin/users/${agentId}/sessions`, { token: admin })).json as Array<{ id: string; current: boolean }>;
    expect(seen.map((s) => s.current)).toEqual([false]);
    expect((await server.request("DELETE", `/admin/users/${agentId}/sessions/${seen[0]!.id}`, { token: admin })).status).toBe(204);
    expectEnded(await me(server, phone));
    expect((await me(server, admin)).status).toBe(200);
  });

  test("moxie sessions lists an account's sessions and moxie sign-out ends them all on the running server, at once", async () => {
    const server = await suite.start("cli-sign-out");
    await createAgent(server);
    const pc = await signInFrom(server, FIREFOX_WINDOWS);
    const phone = await signInFrom(server, SAFARI_IPHONE);
    // A token from before sessions ({sub, ver, iat, exp}): signed out with the account too.
    const agentId = (await me(server, pc)).json.id as number;
    const older = signJwt(HS256, validClaims(String(agentId), 0));
    expect((await me(server, older)).status).toBe(200);

    const table = await server.cli(["sessions", "--email", AGENT.email]);
    expect({ code: table.code, stderr: table.stderr }).toEqual({ code: 0, stderr: "" });
    const lines = table.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^ID\s+DEVICE\s+IP\s+SIGNED IN\s+LAST SEEN\s+EXPIRES$/);
    expect(lines.slice(1, -1).map((line) => line.split(/\s{2,}/)[1]).sort()).toEqual(["Firefox on Windows", "Safari on iPhone"]);
    expect(lines.at(-1)).toBe(`2 sessions of #${agentId} ${AGENT.email}`);
    const json = await server.cli(["sessions", "--email", AGENT.email, "--json"]);
    const listed = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
    expect(listed.map((s) => Object.keys(s).sort())).toEqual([0, 1].map(() => ["created_at", "current", "device", "expires_at", "id", "ip", "last_seen_at"]));
    expect(json.stdout).not.toContain("AppleWebKit");

    const signedOut = await server.cli(["sign-out", "--email", AGENT.email]);
    expect({ code: signedOut.code, stderr: signedOut.stderr }).toEqual({ code: 0, stderr: "" });
    expect(signedOut.stdout).toBe(`Signed out #${agentId} ${AGENT.email} everywhere: 2 sessions ended; its tokens stop working at their next request\n`);
    for (const token of [pc, phone]) expectEnded(await me(server, token));
    expect((await me(server, older)).status).toBe(401);
    expect(JSON.parse((await server.cli(["sessions", "--email", AGENT.email, "--json"])).stdout)).toEqual([]);
    const audit = JSON.parse((await server.cli(["audit", "--type", "session.ended", "--json"])).stdout) as Array<Record<string, unknown>>;
    expect(audit.map((e) => [e.reason, e.actor, e.user_id])).toEqual([
      ["cli", "cli", agentId],
      ["cli", "cli", agentId],
    ]);
    // The password is unchanged: the agent signs in again.
    expect((await me(server, await signInFrom(server, FIREFOX_WINDOWS))).status).toBe(200);

    const unknown = await server.cli(["sign-out", "--email", "nobody@sec.example.com"]);
    expect({ code: unknown.code, stdout: unknown.stdout }).toEqual({ code: 1, stdout: "" });
    expect(unknown.stderr).toBe("moxie: no account with email nobody@sec.example.com\n");
    const missing = await server.cli(["sessions"]);
    expect({ code: missing.code, stderr: missing.stderr }).toEqual({ code: 2, stderr: expect.stringContaining("moxie: --email is required") });
  });

  test("MAX_SESSIONS_PER_ACCOUNT: the sign-in past it ends the oldest session, audited; a bad value stops moxie naming it", async () => {
    const server = await suite.start("bound", { env: { MAX_SESSIONS_PER_ACCOUNT: "2" } });
    await createAgent(server);
    const first = await signInFrom(server, FIREFOX_WINDOWS);
    const second = await signInFrom(server, SAFARI_IPHONE);
    const third = await signInFrom(server, FIREFOX_WINDOWS);
    expectEnded(await me(server, first));
    for (const token of [second, third]) expect((await me(server, token)).status).toBe(200);
    const audit = JSON.parse((await server.cli(["audit", "--type", "session.ended", "--json"])).stdout) as Array<Record<string, unknown>>;
    expect(audit.map((e) => e.reason)).toEqual(["limit"]);

    for (const bad of ["0", "1001", "ten"]) {
      const doctor = await server.cli(["doctor"], { env: { MAX_SESSIONS_PER_ACCOUNT: bad } });
      expect({ bad, code: doctor.code }).toEqual({ bad, code: 2 });
      expect(doctor.stderr).toBe(`moxie: invalid settings: MAX_SESSIONS_PER_ACCOUNT: '${bad}' is not a whole number from 1 to 1000\n`);
    }
    expect((await server.cli(["doctor"])).stdout).toMatch(/MAX_SESSIONS_PER_ACCOUNT\s+2/);
  });

  test("the original's {sub, exp} token keeps working beside sessions until scope=global ends it", async () => {
    const server = await suite.start("original-tokens");
    const agentId = await createAgent(server);
    const original = signJwt(HS256, { sub: String(agentId), exp: nowSeconds() + 3600 });
    const session = await signInFrom(server, FIREFOX_WINDOWS);
    expect((await server.request("GET", "/auth/sessions", { token: original })).json).toHaveLength(1);
    expect((await server.request("POST", "/auth/logout?scope=others", { token: session })).status).toBe(204);
    expect((await me(server, original)).status).toBe(200);
    expect((await server.request("POST", "/auth/logout?scope=global", { token: session })).status).toBe(204);
    expect((await me(server, original)).status).toBe(401);
  });

  test("expired sessions are pruned when the server starts; a live one stays", async () => {
    const server = await suite.start("prune");
    const agentId = await createAgent(server);
    const live = await signInFrom(server, FIREFOX_WINDOWS);
    await suite.stop(server, "SIGTERM");
    const db = new Database(server.dbPath);
    const past = (ms: number) => new Date(Date.now() - ms).toISOString();
    for (let i = 0; i < 3; i++) {
      db.run("INSERT INTO sessions (id, user_id, created_at, expires_at, last_seen_at, device) VALUES (?, ?, ?, ?, ?, 'curl')", [
        `expiredSession${i}`.padEnd(22, "x"),
        agentId,
        past(9 * 3600_000),
        past(3600_000),
        past(3600_000),
      ]);
    }
    db.close();
    const count = () => readExistingDb(server.dbPath, (d) => (d.query("SELECT count(*) AS n FROM sessions").get() as { n: number }).n);
    expect(count()).toBe(4);
    const again = await serveIn(server, "prune, restarted");
    await waitUntil("the expired sessions pruned", () => (count() === 1 ? true : undefined), 10_000);
    expect((await again.request("GET", "/auth/me", { token: live })).status).toBe(200);
    expect(again.logs().some((line) => line.msg === "pruned expired sessions" && line.removed === 3)).toBe(true);
    await again.stop();
  });

  test("a restore ends every session the backup holds, recorded as such; its tokens stay refused", async () => {
    const server = await suite.start("restore");
    await createAgent(server);
    const token = await signInFrom(server, SAFARI_IPHONE);
    const backupPath = join(server.dir, "with-sessions.db");
    const backup = await server.cli(["backup", backupPath]);
    expect(backup.code).toBe(0);
    expect(readExistingDb(backupPath, (d) => (d.query("SELECT count(*) AS n FROM sessions").get() as { n: number }).n)).toBe(1);
    await suite.stop(server, "SIGTERM");
    const restored = await server.cli(["restore", backupPath]);
    expect({ code: restored.code, stderr: restored.stderr }).toEqual({ code: 0, stderr: "" });
    expect(restored.stdout).toContain("Signed everyone out (2 accounts): tokens issued before the restore no longer work");
    expect(restored.stdout).toContain("Ended 1 session the backup held (recorded in the audit trail)\n");
    const rows = readExistingDb(server.dbPath, (d) => ({
      sessions: (d.query("SELECT count(*) AS n FROM sessions").get() as { n: number }).n,
      ended: d.query("SELECT reason, actor FROM audit_events WHERE type = 'session.ended'").all(),
    }));
    expect(rows).toEqual({ sessions: 0, ended: [{ reason: "restore", actor: "cli" }] });
    const after = await serveIn(server, "restore, restarted");
    expect((await after.request("GET", "/auth/me", { token })).status).toBe(401);
    await after.stop();
  });

  test("a User-Agent of markup, quotes and SQL reaches neither an answer nor the log (control characters never get past Bun)", async () => {
    const server = await suite.start("junk-agent");
    await createAgent(server);
    const junk = suite.logSecret(`Mozilla/5.0 (Windows NT 10.0) <svg onload=alert(1)>\t"];DROP TABLE sessions;-- ${"Z".repeat(900)}`);
    const token = await signInFrom(server, junk);
    const listed = await server.request("GET", "/auth/sessions", { token });
    expect(listed.json.map((s: { device: string }) => s.device)).toEqual(["Browser on Windows"]);
    for (const piece of ["<svg", "onload", "DROP TABLE", "ZZZZ"]) {
      expect(listed.text).not.toContain(piece);
      expect(server.stdout() + server.stderr()).not.toContain(piece);
    }
    const cli = await server.cli(["sessions", "--email", AGENT.email]);
    expect(cli.stdout).not.toContain("<svg");
    // A terminal escape in the header is refused by Bun's HTTP parser before moxie sees the request.
    const escaped = await fetch(`${server.url}/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": "x\u001b[2Jy" },
      body: JSON.stringify({ email: AGENT.email, password: AGENT.password }),
    }).then((r) => r.status, () => "refused by the client");
    expect(escaped === 400 || escaped === "refused by the client").toBe(true);
  });
});

suite.sweep();

/** A server started again on `server`'s directory and settings; its answers are recorded for the sweep. */
async function serveIn(server: Instance, label: string) {
  const proc = startServe(["--port", String(freePort())], { cwd: server.dir, env: server.env, command: ["./moxie"] });
  const url = await listeningUrl(proc);
  const request = async (method: string, path: string, options: { token?: string } = {}): Promise<Res> => {
    const headers: Record<string, string> = options.token === undefined ? {} : { authorization: `Bearer ${options.token}` };
    const response = await fetch(url + path, { method, headers });
    const text = await response.text();
    const res: Res = { status: response.status, headers: response.headers, text, json: text ? JSON.parse(text) : undefined };
    suite.record(`${label}: ${method} ${path}`, path, res);
    return res;
  };
  return { request, logs: () => proc.logs(), stop: () => stopServer(proc) };
}
