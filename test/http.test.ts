// The HTTP edge: health, error bodies, CORS.
import { describe, expect, test } from "bun:test";
import { createTestApp, expectNoLeak, requester } from "./helpers.ts";

const ctx = createTestApp({ corsOrigins: ["http://localhost:3000", "https://app.example.com"] });
const { request } = ctx;

describe("GET /health", () => {
  test("200 {status: ok} without auth", async () => {
    const response = await request("GET", "/health");
    expect(response.status).toBe(200);
    expect(response.json).toEqual({ status: "ok" });
  });
});

describe("error bodies", () => {
  test("unknown route → 404 {detail}", async () => {
    const response = await request("GET", "/no/such/route");
    expect(response.status).toBe(404);
    expect(response.json).toEqual({ detail: "Not Found" });
  });

  test("an unexpected exception → 500 with a generic sentence; the real error only in the log", async () => {
    const fresh = createTestApp();
    const app = fresh.app.get("/explode", () => {
      throw new Error("database file /var/lib/moxie/secret.db is corrupt");
    });
    const response = await requester((r) => app.handle(r))("GET", "/explode");
    expect(response.status).toBe(500);
    expect(response.json).toEqual({ detail: "Internal server error" });
    expect(response.text).not.toContain("corrupt");
    expectNoLeak(response.text);
    expect(fresh.logLines.some((line) => line.includes("corrupt") && line.includes('"level":"error"'))).toBe(true);
  });

  test("a body that is not an object → 422 with a sentence, not the values", async () => {
    const nullBody = await request("POST", "/auth/login", { rawBody: "null", headers: { "content-type": "application/json" } });
    expect(nullBody.status).toBe(422);
    expect(nullBody.json).toEqual({ detail: "Request body must be a JSON object" });
    const array = await request("POST", "/auth/login", { body: ["first-value", "second-value"] });
    expect(array.status).toBe(422);
    expect(array.json).toEqual({ detail: expect.any(String) });
    expect(array.text).not.toContain("first-value");
  });

  test("a wrong type names the field and not the value", async () => {
    const response = await request("POST", "/auth/login", { body: { email: 12345678, password: "pw-abcdefgh" } });
    expect(response.status).toBe(422);
    expect(response.json.detail).toMatch(/^email /);
    expect(response.text).not.toContain("12345678");
    expect(response.text).not.toContain("pw-abcdefgh");
  });

  test("a value of the wrong length names the field and its bounds, not the value (an over-long email at sign-in)", async () => {
    const typed = `${"secret-typed-".repeat(25)}@example.com`;
    expect(typed.length).toBeGreaterThan(320);
    const response = await request("POST", "/auth/login", { body: { email: typed, password: "pw-abcdefgh" } });
    expect(response.status).toBe(422);
    expect(response.json).toEqual({ detail: "email must be 1 to 320 characters" });
    expect(response.text).not.toContain("secret-typed");
  });
});

describe("CORS", () => {
  test("a listed origin is allowed with credentials", async () => {
    const response = await request("GET", "/health", { headers: { origin: "http://localhost:3000" } });
    expect(response.headers.get("access-control-allow-origin")).toBe("http://localhost:3000");
    expect(response.headers.get("access-control-allow-credentials")).toBe("true");
    expect(response.headers.get("vary")).toContain("Origin");
  });

  test("a preflight from a listed origin names the asked method and headers", async () => {
    const response = await request("OPTIONS", "/auth/me", {
      headers: {
        origin: "https://app.example.com",
        "access-control-request-method": "PATCH",
        "access-control-request-headers": "authorization, content-type",
      },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    expect(response.headers.get("access-control-allow-methods")).toContain("PATCH");
    expect(response.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
  });

  for (const origin of [
    "https://evil.example.com",
    "null",
    "https://app.example.com.evil.com",
    "http://app.example.com",
    "https://app.example.com:8443",
    "http://localhost:3001",
    "http://LOCALHOST:3000.evil",
  ]) {
    test(`no Access-Control-Allow-Origin for ${origin}`, async () => {
      const simple = await request("GET", "/health", { headers: { origin } });
      const preflight = await request("OPTIONS", "/auth/login", {
        headers: { origin, "access-control-request-method": "POST" },
      });
      for (const response of [simple, preflight]) {
        expect(response.headers.get("access-control-allow-origin")).toBeNull();
      }
      expect(simple.headers.get("vary")).toContain("Origin");
    });
  }
});
