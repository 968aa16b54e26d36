// What switching from the Python moxie needs of the app itself, in-process: dates moxie cannot read never fail
// a read, an answer failing its own schema is a 500 (never a 422), the original's tokens and .env are accepted.
import { describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Elysia, t } from "elysia";
import { ACCESS_TOKEN_TTL_SECONDS, CLOCK_SKEW_SECONDS, createTokenService } from "../src/tokens/tokens.ts";
import { UNREADABLE_DATE } from "../src/db/dates.ts";
import { errorHandling } from "../src/http/errors.ts";
import { loadSettings, SettingsError } from "../src/settings/index.ts";
import { captureLog, createTestApp, requester, seedUser, signIn, tempDir, TEST_SECRET } from "./helpers.ts";

const nowSeconds = () => Math.floor(Date.now() / 1000);

function sign(header: object, payload: object, secret = TEST_SECRET, hash = "sha256"): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const head = `${part(header)}.${part(payload)}`;
  return `${head}.${createHmac(hash, secret).update(head).digest("base64url")}`;
}

describe("a stored date moxie cannot read", () => {
  test("never turns a read or a write into a 4xx: the account is listed, shown and changed, with the epoch as its date", async () => {
    const { db, request } = createTestApp();
    const admin = await seedUser(db, { role: "admin" });
    const agent = await seedUser(db);
    db.$client.run("UPDATE users SET created_at = '30/11/2026 garbage' WHERE id = ?", [agent.id]);
    const adminToken = await signIn(request, admin);

    const list = await request("GET", "/admin/users", { token: adminToken });
    expect(list.status).toBe(200);
    // Sorted first, as its wire date says (julianday() of an unreadable value is NULL, which sorts first).
    expect(list.json.map((u: { id: number; created_at: string }) => [u.id, u.created_at])).toEqual([
      [agent.id, UNREADABLE_DATE],
      [admin.id, expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)],
    ]);
    expect((await request("GET", `/admin/users/${agent.id}`, { token: adminToken })).status).toBe(200);

    const me = await request("GET", "/auth/me", { token: await signIn(request, agent) });
    expect(me.status).toBe(200);
    expect(me.json.created_at).toBe(UNREADABLE_DATE);

    const edited = await request("PATCH", `/admin/users/${agent.id}`, { token: adminToken, body: { name: "Renamed" } });
    expect(edited.status).toBe(200);
    const deactivated = await request("PATCH", `/admin/users/${agent.id}/deactivate`, { token: adminToken });
    expect(deactivated.status).toBe(200);
    expect(deactivated.json).toMatchObject({ name: "Renamed", is_active: false, created_at: UNREADABLE_DATE });
    // The stored value is left as it was: moxie does not rewrite what it cannot read.
    expect(db.$client.query("SELECT created_at FROM users WHERE id = ?").get(agent.id)).toEqual({ created_at: "30/11/2026 garbage" });
  });

  test("moxie's own inserts set created_at themselves (the original's users table has no default for it)", async () => {
    const { db } = createTestApp();
    const user = await seedUser(db);
    const stored = db.$client.query("SELECT created_at FROM users WHERE id = ?").get(user.id) as { created_at: string };
    expect(stored.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });
});

describe("an answer that fails its own declared schema", () => {
  test("is a 500 with the generic sentence and a log line, never a 422 telling the client its request was wrong", async () => {
    const { log, lines } = captureLog();
    const app = new Elysia()
      .use(errorHandling(log))
      .post("/broken", () => ({ created_at: "not a date" }), { response: { 200: t.Object({ created_at: t.String({ format: "date-time" }) }) } });
    const response = await requester((r) => app.handle(r))("POST", "/broken", { body: {} });
    expect(response.status).toBe(500);
    expect(response.json).toEqual({ detail: "Internal server error" });
    expect(response.text).not.toContain("not a date");
    const logged = lines.map((line) => JSON.parse(line)).find((line) => line.msg === "response failed its schema");
    expect(logged).toMatchObject({ level: "error", method: "POST", path: "/broken" });
  });

  test("a request that fails its schema is still a 422", async () => {
    const { log } = captureLog();
    const app = new Elysia().use(errorHandling(log)).post("/strict", ({ body }) => body, { body: t.Object({ n: t.Integer() }) });
    const response = await requester((r) => app.handle(r))("POST", "/strict", { body: { n: "x" } });
    expect(response.status).toBe(422);
  });
});

describe("tokens the Python original signed (HS256, claims sub and exp only)", () => {
  const tokens = createTokenService(TEST_SECRET);
  const header = { alg: "HS256", typ: "JWT" };

  test("are accepted until they expire, as version 0, issued 8 hours before their exp", () => {
    const exp = nowSeconds() + 3600;
    expect(tokens.verify(sign(header, { sub: "5", exp }))).toEqual({
      userId: 5,
      tokenVersion: 0,
      generation: null,
      sessionId: null,
      issuedAt: exp - ACCESS_TOKEN_TTL_SECONDS,
      expiresAt: exp,
    });
    // PyJWT's header without typ, too.
    expect(tokens.verify(sign({ alg: "HS256" }, { sub: "5", exp }))?.userId).toBe(5);
  });

  const refused: Array<[string, () => string]> = [
    ["expired", () => sign(header, { sub: "5", exp: nowSeconds() - 1 })],
    ["exp more than 8 hours from now", () => sign(header, { sub: "5", exp: nowSeconds() + ACCESS_TOKEN_TTL_SECONDS + CLOCK_SKEW_SECONDS + 60 })],
    ["another claim besides sub and exp, without iat", () => sign(header, { sub: "5", exp: nowSeconds() + 60, role: "admin" })],
    ["no exp", () => sign(header, { sub: "5" })],
    ["exp as a string", () => sign(header, { sub: "5", exp: String(nowSeconds() + 60) })],
    ["HS512 with the right key", () => sign({ alg: "HS512", typ: "JWT" }, { sub: "5", exp: nowSeconds() + 60 }, TEST_SECRET, "sha512")],
    ["another key", () => sign(header, { sub: "5", exp: nowSeconds() + 60 }, "another-secret-key-0123456789abcdef-0123456789")],
  ];
  for (const [name, make] of refused) {
    test(`are refused when ${name}`, () => {
      expect(tokens.verify(make())).toBeNull();
    });
  }
});

describe("the original's .env", () => {
  test("works as it is: same meaning for its keys, the scraper's keys ignored without complaint", () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, ".env"),
      [
        "DATABASE_URL=sqlite:///./moxie.db",
        "SECRET_KEY=original-secret-key-0123456789abcdef0123456789",
        "CORS_ORIGINS=http://localhost:3000,https://app.example.com",
        "GOOGLE_SHEETS_ID=1AbC",
        "GOOGLE_SHEETS_CREDENTIALS_PATH=./credentials.json",
        "ANTHROPIC_API_KEY=sk-ant-x",
        "SOMETHING_ELSE=1",
      ].join("\n"),
    );
    const settings = loadSettings(dir, {});
    expect(settings.databasePath).toBe(join(dir, "moxie.db"));
    expect(settings.secretKey).toBe("original-secret-key-0123456789abcdef0123456789");
    expect(settings.corsOrigins).toEqual(["http://localhost:3000", "https://app.example.com"]);
  });

  test("its default key change-me-in-production is refused with what to do and what follows", () => {
    const dir = tempDir();
    writeFileSync(join(dir, ".env"), "SECRET_KEY=change-me-in-production\n");
    let problem = "";
    try {
      loadSettings(dir, {});
    } catch (error) {
      problem = (error as SettingsError).message;
    }
    expect(problem).toStartWith("SECRET_KEY: ");
    expect(problem).toContain("openssl rand -hex 32");
    expect(problem).toContain("everyone signs in again");
    expect(problem).not.toContain("change-me-in-production");
  });
});
