// Authorization against the compiled binary: every admin route refuses anonymous callers (401) and agents
// (403, even with a bad body), path tricks never reach account data, and a create cannot assign what the
// API does not let a caller choose.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readExistingDb } from "../support/processes.ts";
import {
  ADMIN,
  createSuite,
  expect401,
  expectDetail,
  fixturePassword,
  HS256,
  signJwt,
  validClaims,
  type Instance,
  type Res,
} from "./harness.ts";

// This file spawns processes or hashes passwords: its own bound on a hung test (see test/setup.ts for why).
setDefaultTimeout(30_000);

const suite = createSuite();
let server: Instance;
let admin = "";
let agent = "";
let agentId = 0;

beforeAll(async () => {
  server = await suite.start("authz");
  admin = server.adminToken();
  const created = await server.request("POST", "/admin/users", {
    token: admin,
    json: { name: "Agent Smith", email: "agent@sec.example.com", password: suite.secret(fixturePassword()) },
  });
  expect(created.status).toBe(201);
  agentId = created.json.id;
  agent = signJwt(HS256, validClaims(String(agentId)));
}, 60_000);

function readUsers(): Array<Record<string, unknown>> {
  return readExistingDb(
    server.dbPath,
    (db) =>
      db.query("SELECT id, email, role, is_active, created_at, password_hash, token_version FROM users ORDER BY id").all() as Array<
        Record<string, unknown>
      >,
  );
}

interface Route {
  method: string;
  path: () => string;
  /** A body that would be refused anyway: the guard must answer first. */
  badBody?: { body: string; contentType: string };
}

const ROUTES: Route[] = [
  { method: "GET", path: () => "/admin/users" },
  { method: "GET", path: () => "/admin/users?role=admin&q=%40" },
  { method: "POST", path: () => "/admin/users", badBody: { body: '{"role":"admin","role":"admin"', contentType: "application/json" } },
  { method: "POST", path: () => "/admin/users", badBody: { body: "name=x&role=admin", contentType: "application/x-www-form-urlencoded" } },
  { method: "GET", path: () => "/admin/users/1" },
  { method: "PATCH", path: () => `/admin/users/${agentId}`, badBody: { body: '{"role":"superuser"}', contentType: "application/json" } },
  { method: "PATCH", path: () => "/admin/users/1/deactivate" },
  { method: "PATCH", path: () => `/admin/users/${agentId}/activate` },
  { method: "PUT", path: () => "/admin/users/1/password", badBody: { body: '{"password":1}', contentType: "application/json" } },
  { method: "GET", path: () => "/admin/audit" },
];

const label = (route: Route) => `${route.method} ${route.path().replace(/\/\d+(?=\/|$)/, "/:id")}${route.badBody ? ` (${route.badBody.contentType} bad body)` : ""}`;

function send(route: Route, token?: string): Promise<Res> {
  return server.request(route.method, route.path(), {
    token,
    ...(route.badBody ? { body: route.badBody.body, headers: { "content-type": route.badBody.contentType } } : {}),
  });
}

describe("admin routes without a token → 401", () => {
  for (const route of ROUTES) {
    test(label(route), async () => {
      expect401(await send(route), "Not authenticated");
    });
  }
});

describe("admin routes with an agent's token → 403, before the body is looked at", () => {
  for (const route of ROUTES) {
    test(label(route), async () => {
      const response = await send(route, agent);
      expectDetail(response, 403, "Admin access required");
      expect(response.text).not.toContain("@");
    });
  }

  test("nothing the agent or the anonymous calls asked for happened", async () => {
    const rows = readUsers();
    expect(rows.map((row) => [row.id, row.role, row.is_active, row.token_version])).toEqual([
      [1, "admin", 1, 0],
      [agentId, "agent", 1, 0],
    ]);
    expect((await server.request("GET", "/auth/me", { token: admin })).status).toBe(200);
  });
});

describe("path variants never hand account data to an agent or an anonymous caller", () => {
  const variants = [
    "//admin/users",
    "/ADMIN/users",
    "/Admin/Users",
    "/admin/users/",
    "/admin//users",
    "/admin/users%2f1",
    "/admin/users%2F1",
    "/admin/./users",
    "/admin/users/./1",
    "/admin/users/../users",
    "/admin/x/../users",
    "/admin/%75sers",
    "/%61dmin/users",
    "/admin/users;role=agent",
    "/admin/users/1/",
    "/admin/users/%31",
    "/admin/users?q=@",
    "/admin/audit/",
    "/admin/users\\1",
    "http://127.0.0.1/admin/users",
  ];
  for (const variant of variants) {
    test(variant, async () => {
      for (const token of [undefined, agent]) {
        const auth = token ? `Authorization: Bearer ${token}\r\n` : "";
        const response = await server.raw([`GET ${variant} HTTP/1.1\r\nHost: 127.0.0.1\r\n${auth}Connection: close\r\n\r\n`]);
        expect([400, 401, 403, 404]).toContain(response.status);
        expect(response.text).not.toContain("@");
        expect(response.text).not.toContain("Agent Smith");
        if (response.status === 401) expect(response.headers.get("www-authenticate")).toBe("Bearer");
      }
    });
  }
});

describe("mass assignment on POST /admin/users", () => {
  test("role omitted → agent (never admin)", async () => {
    const response = await server.request("POST", "/admin/users", {
      token: admin,
      json: { name: "No Role", email: "norole@sec.example.com", password: suite.secret(fixturePassword()) },
    });
    expect(response.status).toBe(201);
    expect(response.json.role).toBe("agent");
    expect(readUsers().find((row) => row.email === "norole@sec.example.com")?.role).toBe("agent");
    // …and the new account really is an agent.
    const token = signJwt(HS256, validClaims(String(response.json.id)));
    expectDetail(await server.request("GET", "/admin/users", { token }), 403, "Admin access required");
  });

  // is_active is a field of the route (false creates an inactive account: accounts.test.ts); these are the server's.
  test("id, password_hash, created_at, token_version (and isActive, not the API's spelling) in the body never take effect", async () => {
    const planted = "$argon2id$v=19$m=65536,t=3,p=4$cnE9cAd0Yt1bZ2xevZVG1Q$YS9Mtr8vTaxTNwLhGkV4pO1qn6apABMQMw+cAsgmPM0";
    const response = await server.request("POST", "/admin/users", {
      token: admin,
      json: {
        name: "Planted",
        email: "planted@sec.example.com",
        password: suite.secret(fixturePassword()),
        isActive: false,
        id: 9999,
        password_hash: planted,
        passwordHash: planted,
        created_at: "2000-01-01T00:00:00.000Z",
        createdAt: "2000-01-01T00:00:00.000Z",
        token_version: 7,
        tokenVersion: 7,
      },
    });
    // Refusing the extra fields (422) is as safe as ignoring them; either way none may land.
    expect([201, 422]).toContain(response.status);
    const row = readUsers().find((r) => r.email === "planted@sec.example.com");
    if (response.status === 422) {
      expect(row).toBeUndefined();
      return;
    }
    expect(response.json.is_active).toBe(true);
    expect(response.json.id).not.toBe(9999);
    expect(response.json.created_at).not.toStartWith("2000-");
    expect(row).toBeDefined();
    expect(row!.id).not.toBe(9999);
    expect(row!.is_active).toBe(1);
    expect(row!.password_hash).not.toBe(planted);
    expect(row!.created_at).not.toStartWith("2000-");
    expect(row!.token_version).toBe(0);
  });

  for (const role of ["Admin", "ADMIN", "admin ", "superuser", "", "root"]) {
    test(`role ${JSON.stringify(role)} → 422, nothing created`, async () => {
      const email = `role-${Buffer.from(role).toString("hex") || "empty"}@sec.example.com`;
      const response = await server.request("POST", "/admin/users", {
        token: admin,
        json: { name: "R", email, password: suite.secret(fixturePassword()), role },
      });
      expectDetail(response, 422);
      expect(readUsers().some((row) => row.email === email)).toBe(false);
    });
  }

  test("PATCH with id, password_hash, created_at, token_version changes nothing of them; a password is refused (422)", async () => {
    const before = readUsers().find((row) => row.id === agentId)!;
    const response = await server.request("PATCH", `/admin/users/${agentId}`, {
      token: admin,
      json: { name: "Agent Renamed", isActive: false, id: 1, password_hash: "x", created_at: "2000-01-01T00:00:00.000Z", token_version: 9 },
    });
    expect([200, 422]).toContain(response.status);
    const after = readUsers().find((row) => row.id === agentId)!;
    expect(after.is_active).toBe(1);
    expect(after.password_hash).toBe(before.password_hash);
    expect(after.created_at).toBe(before.created_at);
    expect(after.token_version).toBe(before.token_version);
    expect(readUsers().filter((row) => row.id === 1)).toHaveLength(1);
    const password = await server.request("PATCH", `/admin/users/${agentId}`, { token: admin, json: { password: "planted-password-1" } });
    expectDetail(password, 422, "password cannot be changed here: use PUT /admin/users/{id}/password");
    expect(readUsers().find((row) => row.id === agentId)!.password_hash).toBe(before.password_hash);
  });
});

describe("the account is read from the database on every request", () => {
  test("a token for an account that does not exist → 401", async () => {
    expect401(await server.request("GET", "/auth/me", { token: signJwt(HS256, validClaims("424242")) }), "Account inactive or not found");
  });

  test("a demoted admin's token loses admin access at once", async () => {
    const created = await server.request("POST", "/admin/users", {
      token: admin,
      json: { name: "Second Admin", email: "admin2@sec.example.com", password: suite.secret(fixturePassword()), role: "admin" },
    });
    expect(created.status).toBe(201);
    const second = signJwt(HS256, validClaims(String(created.json.id)));
    expect((await server.request("GET", "/admin/users", { token: second })).status).toBe(200);
    const demoted = await server.request("PATCH", `/admin/users/${created.json.id}`, { token: admin, json: { role: "agent" } });
    expect(demoted.status).toBe(200);
    expectDetail(await server.request("GET", "/admin/users", { token: second }), 403, "Admin access required");
  });

  test("a deactivated agent's token → 401 at once", async () => {
    expect((await server.request("GET", "/auth/me", { token: agent })).status).toBe(200);
    expect((await server.request("PATCH", `/admin/users/${agentId}/deactivate`, { token: admin })).status).toBe(200);
    expect401(await server.request("GET", "/auth/me", { token: agent }), "Account inactive or not found");
  });

  test("an admin cannot deactivate or demote themselves (409 naming their own account)", async () => {
    // Through the API the actor is always an active admin, so with one admin left this self rule answers
    // first; the last-admin rule on its own is the next test.
    expectDetail(await server.request("PATCH", "/admin/users/1/deactivate", { token: admin }), 409, /own account/i);
    expectDetail(await server.request("PATCH", "/admin/users/1", { token: admin, json: { role: "agent" } }), 409, /own account/i);
    expect(readUsers().find((row) => row.id === 1)).toMatchObject({ role: "admin", is_active: 1 });
  });

  test("the last-admin rule on its own: `moxie deactivate` (no acting account) cannot remove the last active admin", async () => {
    expect(readUsers().filter((row) => row.role === "admin" && row.is_active === 1).map((row) => row.id)).toEqual([1]);
    const result = await server.cli(["deactivate", "--email", ADMIN.email]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/last active admin/);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(readUsers().find((row) => row.id === 1)).toMatchObject({ role: "admin", is_active: 1 });
    expect((await server.request("GET", "/admin/users", { token: admin })).status).toBe(200);
  });
});

suite.sweep();
