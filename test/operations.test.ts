// Operations in-process: the request log, request ids, the audit trail and readiness.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { Database } from "bun:sqlite";
import { renameSync } from "node:fs";
import { listEvents, pruneEvents, recordEvent } from "../src/audit/service.ts";
import { createTestApp, expectNoLeak, seedUser, signIn, type SeededUser, type TestResponse } from "./helpers.ts";
import { waitUntil } from "./support/processes.ts";

// This file spawns processes or hashes passwords: its own bound on a hung test (see test/setup.ts for why).
setDefaultTimeout(30_000);

const ctx = createTestApp();
const { request, db } = ctx;
let admin: SeededUser;
let agent: SeededUser;
let adminToken: string;

beforeAll(async () => {
  admin = await seedUser(db, { role: "admin", password: "ops-admin-Pass-1" });
  agent = await seedUser(db, { password: "ops-agent-Pass-1" });
  adminToken = await signIn(request, admin);
});

const requestLines = () =>
  ctx.logLines.map((line) => JSON.parse(line)).filter((entry: { msg: string }) => entry.msg === "request");

/** The request log line of each response, once all are written (the line is written after the response). */
function logLinesOf(...responses: TestResponse[]): Promise<Array<Record<string, unknown>>> {
  const ids = responses.map((response) => response.headers.get("x-request-id"));
  return waitUntil(`the request log lines of ${ids.join(", ")}`, () => {
    const lines = ids.map((id) => requestLines().find((entry: { request_id: string }) => entry.request_id === id));
    return lines.every((line) => line !== undefined) ? lines : undefined;
  });
}

describe("request log", () => {
  test("one JSON line per request: id, method, path without query, status, duration, user", async () => {
    const response = await request("GET", "/auth/me?debug=secret-query", { token: adminToken });
    const id = response.headers.get("x-request-id");
    expect(id).toMatch(/^[0-9a-f]{12}-[0-9a-z]+$/);
    const [line] = await logLinesOf(response);
    expect(line).toEqual({
      time: expect.any(String),
      level: "info",
      msg: "request",
      request_id: id,
      method: "GET",
      path: "/auth/me",
      status: 200,
      duration_ms: expect.any(Number),
      user_id: admin.id,
    });
  });

  test("a sane incoming X-Request-Id is kept; anything else is replaced", async () => {
    const kept = await request("GET", "/health", { headers: { "x-request-id": "edge-1234.abc" } });
    expect(kept.headers.get("x-request-id")).toBe("edge-1234.abc");
    for (const bad of ["has space", "x".repeat(200), 'quote"', "semi;colon", "{\"json\":1}"]) {
      const replaced = await request("GET", "/health", { headers: { "x-request-id": bad } });
      expect(replaced.headers.get("x-request-id")).not.toBe(bad);
      expect(replaced.headers.get("x-request-id")).toMatch(/^[0-9a-f]{12}-[0-9a-z]+$/);
    }
  });

  test("errors are logged with their status, and no token, password or hash is ever logged", async () => {
    const password = "logged-never-Pw-9";
    const answers = [
      await request("POST", "/auth/login", { body: { email: agent.email, password } }),
      await request("GET", "/auth/me", { token: adminToken }),
      await request("GET", "/nowhere"),
    ];
    const statuses = (await logLinesOf(...answers)).map((entry) => entry.status);
    expect(statuses).toEqual([401, 200, 404]);
    const all = ctx.logLines.join("\n");
    expect(all).not.toContain(adminToken);
    expect(all).not.toContain(password);
    expect(all).not.toContain(agent.password);
    expect(all.toLowerCase()).not.toContain("authorization");
    expectNoLeak(all);
  });
});

describe("audit trail", () => {
  test("logins, password changes, logout and account changes are recorded with actor and address", async () => {
    await request("POST", "/auth/login", { body: { email: "Nobody@Example.com", password: "whatever-pw-1" } });
    await request("POST", "/auth/login", { body: { email: agent.email, password: "wrong-password-1" } });
    const agentToken = await signIn(request, agent);
    const created = await request("POST", "/admin/users", {
      token: adminToken,
      body: { name: "Audited", email: "audited@example.com", password: "audited-Pass-77" },
    });
    expect(created.status).toBe(201);
    const id = created.json.id;
    await request("PATCH", `/admin/users/${id}`, { token: adminToken, body: { name: "Audited Two" } });
    await request("PATCH", `/admin/users/${id}/deactivate`, { token: adminToken });
    await request("PATCH", `/admin/users/${id}/activate`, { token: adminToken });
    await request("PUT", `/admin/users/${id}/password`, { token: adminToken, body: { password: "audited-Pass-78" } });
    await request("PUT", "/auth/password", {
      token: agentToken,
      body: { current_password: agent.password, new_password: "agent-new-Pass-5" },
    });
    agent.password = "agent-new-Pass-5";
    const freshAgentToken = await signIn(request, agent);
    await request("POST", "/auth/logout", { token: freshAgentToken });
    await request("POST", "/auth/logout?scope=global", { token: await signIn(request, agent) });

    const { events } = listEvents(db, { limit: 1000 });
    const summary = events.map((event) => [event.type, event.actor, event.reason ?? null]);
    expect(summary).toEqual(
      expect.arrayContaining([
        ["login.failed", "anonymous", "unknown_email"],
        ["login.failed", "anonymous", "wrong_password"],
        ["login.succeeded", "user", null],
        ["user.created", "user", null],
        ["user.updated", "user", null],
        ["user.deactivated", "user", null],
        ["user.activated", "user", null],
        ["password.reset", "user", null],
        ["password.changed", "user", null],
        ["session.ended", "user", "self"],
        ["session.ended", "user", "global"],
        ["logout", "user", "global"],
      ]),
    );
    // A sign-in names the session it made, and the end of that session names it too.
    const signedIn = events.filter((event) => event.type === "login.succeeded");
    expect(signedIn.every((event) => typeof event.sessionId === "string" && event.sessionId.length === 22)).toBe(true);
    const ended = events.find((event) => event.type === "session.ended" && event.reason === "self");
    expect(ended).toMatchObject({ actorUserId: agent.id, userId: agent.id, ip: expect.any(String) });
    expect(signedIn.map((event) => event.sessionId)).toContain(ended!.sessionId);
    const unknown = events.find((event) => event.reason === "unknown_email");
    expect(unknown).toMatchObject({ email: "nobody@example.com", userId: null, ip: expect.any(String) });
    const reset = events.find((event) => event.type === "password.reset");
    expect(reset).toMatchObject({ actorUserId: admin.id, userId: id });
  });

  test("GET /admin/audit: newest first, filters, paging, X-Total-Count; agents are refused", async () => {
    const all = await request("GET", "/admin/audit?limit=1000", { token: adminToken });
    expect(all.status).toBe(200);
    const ids = all.json.map((event: { id: number }) => event.id);
    expect(ids).toEqual([...ids].sort((a: number, b: number) => b - a));
    expect(Number(all.headers.get("x-total-count"))).toBe(all.json.length);
    expectNoLeak(all.text);

    const failures = await request("GET", "/admin/audit?type=login.failed", { token: adminToken });
    expect(failures.json.length).toBeGreaterThan(0);
    expect(failures.json.every((event: { type: string }) => event.type === "login.failed")).toBe(true);

    const mine = await request("GET", `/admin/audit?user_id=${agent.id}`, { token: adminToken });
    expect(mine.json.every((event: { user_id: number }) => event.user_id === agent.id)).toBe(true);

    const page = await request("GET", "/admin/audit?limit=2&offset=1", { token: adminToken });
    expect(page.json.map((event: { id: number }) => event.id)).toEqual(ids.slice(1, 3));

    expect((await request("GET", "/admin/audit?type=nope", { token: adminToken })).status).toBe(422);
    const agentToken = await signIn(request, agent);
    expect((await request("GET", "/admin/audit", { token: agentToken })).status).toBe(403);
    expect((await request("GET", "/admin/audit")).status).toBe(401);
  });

  test("pruning removes only events older than the cut-off", () => {
    recordEvent(db, { type: "logout", actor: "cli", userId: admin.id });
    db.$client.run("UPDATE audit_events SET created_at = '2000-01-01T00:00:00.000Z' WHERE id = (SELECT max(id) FROM audit_events)");
    const before = listEvents(db, { limit: 1000 }).total;
    expect(pruneEvents(db, 30)).toBe(1);
    expect(listEvents(db, { limit: 1000 }).total).toBe(before - 1);
    expect(pruneEvents(db, 30)).toBe(0);
  });
});

describe("GET /ready", () => {
  test("200 when the database is there, current and writable", async () => {
    const response = await request("GET", "/ready");
    expect(response.status).toBe(200);
    expect(response.json).toEqual({ status: "ready" });
  });

  test("503 while another process holds the write lock, 200 once it lets go", async () => {
    const other = new Database(ctx.dbPath);
    other.run("BEGIN EXCLUSIVE");
    try {
      const locked = await request("GET", "/ready");
      expect(locked.status).toBe(503);
      expect(locked.json).toEqual({ status: "unavailable", detail: expect.stringContaining("locked") });
      expect(locked.text).not.toContain(ctx.dbPath);
    } finally {
      other.run("ROLLBACK");
      other.close();
    }
    expect((await request("GET", "/ready")).status).toBe(200);
  });

  test("503 while the database file is gone from its path, 200 when it is back; /health stays 200", async () => {
    renameSync(ctx.dbPath, `${ctx.dbPath}.away`);
    try {
      const gone = await request("GET", "/ready");
      expect(gone.status).toBe(503);
      expect(gone.json.detail).toBe("database file is missing");
      expect((await request("GET", "/health")).status).toBe(200);
    } finally {
      renameSync(`${ctx.dbPath}.away`, ctx.dbPath);
    }
    expect((await request("GET", "/ready")).status).toBe(200);
  });

  test("503 when the schema is behind the binary", async () => {
    const row = db.$client.query("SELECT id, hash, created_at FROM __drizzle_migrations ORDER BY created_at DESC LIMIT 1").get() as {
      id: number;
      hash: string;
      created_at: number;
    };
    db.$client.run("DELETE FROM __drizzle_migrations WHERE created_at = ?", [row.created_at]);
    try {
      const response = await request("GET", "/ready");
      expect(response.status).toBe(503);
      expect(response.json.detail).toBe("database schema is not current");
    } finally {
      db.$client.run("INSERT INTO __drizzle_migrations (hash, created_at) VALUES (?, ?)", [row.hash, row.created_at]);
    }
    expect((await request("GET", "/ready")).status).toBe(200);
  });
});
