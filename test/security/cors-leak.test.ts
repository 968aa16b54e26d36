// CORS and information leakage against the compiled binary: only the configured origins get
// Access-Control-Allow-Origin (with credentials), a wildcard configuration refuses to start, and no error
// answer carries hashes, SQL, stack frames, paths or what the caller submitted.
import { beforeAll, describe, expect, test } from "bun:test";
import { compiledBinary } from "../support/binary.ts";
import { freePort, runCli } from "../support/processes.ts";
import {
  ALLOWED_ORIGINS,
  createSuite,
  expectClean4xx,
  fixturePassword,
  isListening,
  RUN_TIMEOUT_MS,
  SECRET,
  STACK_FRAME,
  type Instance,
  type Res,
} from "./harness.ts";

const suite = createSuite();
let server: Instance;
let admin = "";

beforeAll(async () => {
  server = await suite.start("cors");
  admin = server.adminToken();
}, 60_000);

// An anonymous call (answered 401) and a signed-in one: CORS must be right on errors and on data alike.
const simple = (origin: string) => server.request("GET", "/auth/me", { headers: { origin } });
const simpleAuthed = (origin: string) => server.request("GET", "/auth/me", { headers: { origin }, token: admin });
const preflight = (origin: string) =>
  server.request("OPTIONS", "/auth/login", {
    headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "content-type, authorization" },
  });

function expectVaryOrigin(response: Res): void {
  const vary = (response.headers.get("vary") ?? "").toLowerCase().split(",").map((v) => v.trim());
  expect(vary.includes("origin") || vary.includes("*")).toBe(true);
}

describe("allowed origins", () => {
  for (const origin of ALLOWED_ORIGINS) {
    test(`${origin}: simple and preflight requests get ACAO = the origin, with credentials`, async () => {
      const answers = [await simple(origin), await simpleAuthed(origin), await preflight(origin)];
      expect(answers.map((response) => response.status).slice(0, 2)).toEqual([401, 200]);
      expect([200, 204]).toContain(answers[2]!.status);
      for (const response of answers) {
        expect(response.headers.get("access-control-allow-origin")).toBe(origin);
        expect(response.headers.get("access-control-allow-credentials")).toBe("true");
        expectVaryOrigin(response);
      }
    });
  }
});

describe("other origins get no Access-Control-Allow-Origin", () => {
  const refused = [
    "null",
    "https://app.example.com.evil.com",
    "https://evil-app.example.com",
    "https://evilapp.example.com",
    "http://app.example.com",
    "https://app.example.com:8443",
    "https://app.example.com/",
    "HTTPS://APP.EXAMPLE.COM",
    "http://localhost:3001",
    "https://localhost:3000",
    "http://127.0.0.1:3000",
    "https://evil.com",
    "http://localhost:3000.evil.com",
    "http://localhost:3000, https://evil.com",
    "*",
    "",
  ];
  for (const origin of refused) {
    test(JSON.stringify(origin), async () => {
      for (const response of [await simple(origin), await simpleAuthed(origin), await preflight(origin)]) {
        const acao = response.headers.get("access-control-allow-origin");
        expect(acao === null || acao === "").toBe(true);
        expectVaryOrigin(response);
      }
    });
  }
});

describe("configurations that would reflect any site refuse to start", () => {
  const bad: Array<[string, string]> = [
    ["*", "*"],
    ["null", "null"],
    ["an empty entry", "http://a.com,,http://b.com"],
    ["a wildcard among others", "http://a.com,*"],
    ["a path", "http://a.com/app"],
  ];
  for (const [name, value] of bad) {
    test(`CORS_ORIGINS=${value} (${name}) → exit 2, one line, nothing listening`, async () => {
      const dir = suite.tempDir();
      const port = freePort();
      const binary = await compiledBinary();
      const result = await runCli(["serve", "--port", String(port)], {
        cwd: dir,
        env: { SECRET_KEY: SECRET, CORS_ORIGINS: value },
        command: [binary],
        timeoutMs: RUN_TIMEOUT_MS,
      });
      expect(result.code).toBe(2);
      expect(result.stderr.trim().split("\n")).toHaveLength(1);
      expect(result.stderr).toContain("CORS_ORIGINS");
      expect(result.stderr).not.toMatch(STACK_FRAME);
      expect(await isListening(port)).toBe(false);
    });
  }
});

describe("information leakage", () => {
  test("error answers never carry hashes, SQL, stack frames, paths or the submitted password", async () => {
    const password = suite.secret(fixturePassword("leak"));
    const created = await server.request("POST", "/admin/users", {
      token: admin,
      json: { name: "Leak Probe", email: "leak@sec.example.com", password },
    });
    expect(created.status).toBe(201);
    suite.expectNoLeak(created);
    const probes: Res[] = [
      // duplicate email (a UNIQUE violation inside)
      await server.request("POST", "/admin/users", { token: admin, json: { name: "Dup", email: "LEAK@sec.example.com", password } }),
      // wrong password and unknown account
      await server.login("leak@sec.example.com", suite.secret(`${password}-wrong`)),
      // password rules echo nothing
      await server.request("PUT", `/admin/users/${created.json.id}/password`, { token: admin, json: { password: "short" } }),
      await server.request("PUT", `/admin/users/${created.json.id}/password`, { token: admin, json: { password: "x".repeat(129) } }),
      // SQL-looking input
      await server.request("GET", "/admin/users?limit=-1", { token: admin }),
      await server.request("GET", "/admin/users?limit=1e400&offset=abc", { token: admin }),
      await server.request("PATCH", `/admin/users/${created.json.id}`, { token: admin, json: { email: `'); DROP TABLE users;--@x.co` } }),
      await server.request("POST", "/auth/login", { json: { email: `' OR 1=1 --`, password } }),
      // broken JSON quoting the password
      await server.request("POST", "/auth/login", { body: `{"email":"leak@sec.example.com","password":"${password}"`, headers: { "content-type": "application/json" } }),
      await server.request("POST", "/auth/login", { body: `{"email":"x","password":"${password}","password":"${password}"}`, headers: { "content-type": "application/json" } }),
      // a field of the wrong type carrying the password
      await server.request("POST", "/admin/users", { token: admin, json: { name: "T", email: password, password } }),
    ];
    for (const response of probes) {
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(response.status).toBeLessThan(500);
      expectClean4xx(response);
      suite.expectNoLeak(response);
      expect(response.text).not.toContain(password);
    }
    // A search for SQL finds nothing rather than everything.
    for (const q of ["' OR 1=1--", "%", "_", '" OR ""="', "leak@sec.example.com' --"]) {
      const searched = await server.request("GET", `/admin/users?q=${encodeURIComponent(q)}`, { token: admin });
      expect(searched.status).toBe(200);
      expect(searched.json).toEqual([]);
      expect(searched.headers.get("x-total-count")).toBe("0");
    }
    const listed = await server.request("GET", "/admin/users", { token: admin });
    expect(listed.status).toBe(200);
    suite.expectNoLeak(listed);
    expect(listed.text).not.toMatch(/hash/i);
    // The users table survived the SQL-looking input.
    expect((await server.users()).some((user) => user.email === "leak@sec.example.com")).toBe(true);
  });

  test("the list and the account answers never name the hash or the token version", async () => {
    for (const path of ["/auth/me", "/admin/users", "/admin/users/1"]) {
      const response = await server.request("GET", path, { token: admin });
      expect(response.status).toBe(200);
      expect(response.text).not.toMatch(/password|hash|token_version|tokenVersion/i);
    }
  });
});

suite.sweep();
