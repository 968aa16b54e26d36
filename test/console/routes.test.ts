// The console's three files, in-process: the page, its script and its stylesheet, with their own CSP,
// while the API keeps its own; CONSOLE=false removes them.
import { describe, expect, test } from "bun:test";
import { API_CONTENT_SECURITY_POLICY } from "../../src/http/headers.ts";
import { CONSOLE_CONTENT_SECURITY_POLICY } from "../../src/http/routes/console.ts";
import { createTestApp, seedUser, signIn } from "../helpers.ts";

const EXPECTED_CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

function expectHardened(headers: Headers): void {
  expect(headers.get("x-content-type-options")).toBe("nosniff");
  expect(headers.get("x-frame-options")).toBe("DENY");
  expect(headers.get("referrer-policy")).toBe("no-referrer");
}

describe("console routes", () => {
  test("the policy is the one the console was specified with", () => {
    expect(CONSOLE_CONTENT_SECURITY_POLICY).toBe(EXPECTED_CONSOLE_CSP);
  });

  test("/console/ serves the page with the console CSP, never cached", async () => {
    const { request } = createTestApp();
    const response = await request("GET", "/console/");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(response.headers.get("content-security-policy")).toBe(EXPECTED_CONSOLE_CSP);
    expect(response.headers.get("cache-control")).toBe("no-store");
    expectHardened(response.headers);
    const html = response.text;
    expect(html).toStartWith("<!doctype html>");
    expect(html).toContain('<script type="module" src="/console/app.js"></script>');
    expect(html).toContain('<link rel="stylesheet" href="/console/app.css">');
    // The CSP forbids inline code and styles: the page must not need them.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
    expect(html).not.toMatch(/<style[\s>]/i);
    expect(html).not.toMatch(/\sstyle=/i);
    expect(html).not.toMatch(/\son[a-z]+=/i);
    expect(html).not.toMatch(/https?:\/\//);
  });

  test("every form field on the page has a label", async () => {
    const { request } = createTestApp();
    const html = (await request("GET", "/console/")).text;
    const ids = [...html.matchAll(/<(?:input|select|textarea)\b[^>]*\bid="([^"]+)"/g)].map((match) => match[1]);
    expect(ids.length).toBeGreaterThan(10);
    for (const id of ids) expect(html).toContain(`<label for="${id}"`);
  });

  test("/console redirects to /console/", async () => {
    const { request } = createTestApp();
    const response = await request("GET", "/console");
    expect(response.status).toBe(308);
    expect(response.headers.get("location")).toBe("/console/");
  });

  test("/console/app.js is the bundled browser script", async () => {
    const { request } = createTestApp();
    const response = await request("GET", "/console/app.js");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(response.headers.get("content-security-policy")).toBe(EXPECTED_CONSOLE_CSP);
    expect(response.headers.get("cache-control")).toBe("no-cache");
    expectHardened(response.headers);
    const code = response.text;
    expect(code.length).toBeGreaterThan(1000);
    expect(code).toContain("moxie.console.token");
    expect(code).toContain("/auth/login");
    // One self-contained file: no imports left to fetch, no TypeScript left to strip.
    const scan = new Bun.Transpiler({ loader: "js" }).scan(code);
    expect(scan.imports).toEqual([]);
    expect(code).not.toContain("HTMLElementTagNameMap");
  });

  test("/console/app.css is the stylesheet", async () => {
    const { request } = createTestApp();
    const response = await request("GET", "/console/app.css");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/css; charset=utf-8");
    expect(response.headers.get("content-security-policy")).toBe(EXPECTED_CONSOLE_CSP);
    expect(response.headers.get("cache-control")).toBe("no-cache");
    expect(response.text).toContain(".topbar");
    expect(response.text).not.toMatch(/@import|url\(\s*["']?https?:/);
  });

  test("static files answer 304 to a matching If-None-Match", async () => {
    const { request } = createTestApp();
    for (const path of ["/console/app.js", "/console/app.css"]) {
      const first = await request("GET", path);
      const etag = first.headers.get("etag");
      expect(etag).toMatch(/^"[0-9a-z]+"$/);
      const again = await request("GET", path, { headers: { "if-none-match": etag! } });
      expect(again.status).toBe(304);
      expect(again.text).toBe("");
      const changed = await request("GET", path, { headers: { "if-none-match": '"something-else"' } });
      expect(changed.status).toBe(200);
    }
  });

  test("CONSOLE=false: no console at all", async () => {
    const { request } = createTestApp({ env: { CONSOLE: "false" } });
    for (const path of ["/console/", "/console", "/console/app.js", "/console/app.css"]) {
      const response = await request("GET", path);
      expect(response.status).toBe(404);
      expect(response.json).toEqual({ detail: "Not Found" });
      expect(response.headers.get("content-security-policy")).toBe(API_CONTENT_SECURITY_POLICY);
    }
  });

  test("the API keeps its own CSP and no-store beside the console", async () => {
    const { request, db } = createTestApp();
    const health = await request("GET", "/health");
    expect(health.status).toBe(200);
    expect(health.headers.get("content-security-policy")).toBe(API_CONTENT_SECURITY_POLICY);
    expect(health.headers.get("cache-control")).toBe("no-store");

    const anonymous = await request("GET", "/auth/me");
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("content-security-policy")).toBe(API_CONTENT_SECURITY_POLICY);

    const admin = await seedUser(db, { role: "admin" });
    const token = await signIn(request, admin);
    const list = await request("GET", "/admin/users", { token });
    expect(list.status).toBe(200);
    expect(list.headers.get("content-security-policy")).toBe(API_CONTENT_SECURITY_POLICY);
    expect(list.headers.get("cache-control")).toBe("no-store");

    const unknown = await request("GET", "/console/nothing-here");
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get("content-security-policy")).toBe(API_CONTENT_SECURITY_POLICY);
  });

  test("the console is not part of the API description", async () => {
    const { request } = createTestApp({ docs: true });
    const spec = await request("GET", "/openapi.json");
    expect(spec.status).toBe(200);
    expect(Object.keys(spec.json.paths).filter((path) => path.startsWith("/console"))).toEqual([]);
  });
});
