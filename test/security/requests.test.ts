// Hostile requests against the compiled binary: oversized and chunked bodies, wrong content types, JSON
// built to hurt parsers, absurd path ids, and the security headers on every kind of answer.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import {
  ADMIN,
  createSuite,
  expect401,
  expectClean4xx,
  expectDetail,
  fixturePassword,
  HS256,
  securityHeaderProblems,
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
const LIMIT = 65_536;
const TOO_LARGE = `Request body is larger than ${LIMIT} bytes`;

beforeAll(async () => {
  // One failure per pair is enough for a 429 here, so the header check gets one cheaply.
  server = await suite.start("requests", { env: { LOGIN_MAX_FAILURES: "1" } });
  admin = server.adminToken();
  const created = await server.request("POST", "/admin/users", {
    token: admin,
    json: { name: "Agent", email: "agent@sec.example.com", password: suite.secret(fixturePassword()) },
  });
  expect(created.status).toBe(201);
  agent = signJwt(HS256, validClaims(String(created.json.id)));
}, 60_000);

const rawRequest = (method: string, path: string, headers: Record<string, string>, body = "") =>
  `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("")}Connection: close\r\n\r\n${body}`;

/** Chunks of `total` bytes; without `end`, the final zero-size chunk is left out (the body never ends). */
function chunked(total: number, { chunkSize = 8192, end = true } = {}): string[] {
  const parts: string[] = [];
  for (let sent = 0; sent < total; sent += chunkSize) {
    const size = Math.min(chunkSize, total - sent);
    parts.push(`${size.toString(16)}\r\n${"a".repeat(size)}\r\n`);
  }
  if (end) parts.push("0\r\n\r\n");
  return parts;
}

describe("body size limit (64 KiB)", () => {
  test("a declared Content-Length over the limit is refused before any body is sent", async () => {
    const response = await server.raw([
      rawRequest("POST", "/auth/login", { "Content-Type": "application/json", "Content-Length": String(10 * 1024 * 1024) }),
    ]);
    expectDetail(response, 413, TOO_LARGE);
  });

  test("a 70 KB body with its Content-Length is refused", async () => {
    const response = await server.request("POST", "/auth/login", {
      body: JSON.stringify({ email: "a@b.co", password: "x", pad: "y".repeat(70_000) }),
      headers: { "content-type": "application/json" },
    });
    expectDetail(response, 413, TOO_LARGE);
  });

  test("a chunked body over the limit (raw socket) is refused without waiting for its end", async () => {
    // One byte past the limit and no final chunk: the server must answer from the count alone. (Sending
    // more than it reads would let its close reset the connection before the answer is read.)
    const response = await server.raw([
      `POST /auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`,
      ...chunked(LIMIT + 1, { end: false }),
    ]);
    expectDetail(response, 413, TOO_LARGE);
  });

  test("a chunked body over the limit (fetch with a stream) is refused", async () => {
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 200_000) return controller.close();
        sent += 16_384;
        controller.enqueue(new Uint8Array(16_384).fill(0x61));
      },
    });
    const response = await server.request("POST", "/auth/login", { body, headers: { "content-type": "application/json" } });
    expectDetail(response, 413, TOO_LARGE);
  });

  test("control: a small chunked body is read and validated (422, not 413)", async () => {
    const json = JSON.stringify({ email: "a@b.co", password: "" });
    const response = await server.raw([
      `POST /auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`,
      `${json.length.toString(16)}\r\n${json}\r\n`,
      "0\r\n\r\n",
    ]);
    expectDetail(response, 422);
  });

  test("an oversized body to an admin route without a token is refused (413 or 401), never processed", async () => {
    const response = await server.request("POST", "/admin/users", {
      body: "x".repeat(LIMIT + 1),
      headers: { "content-type": "application/json" },
    });
    expect([401, 413]).toContain(response.status);
    expectClean4xx(response);
  });
});

describe("POST /auth/login only takes application/json → 415", () => {
  const bodies: Array<[string, Record<string, string>, string]> = [
    ["text/plain", { "Content-Type": "text/plain" }, '{"email":"a@b.co","password":"x"}'],
    ["application/x-www-form-urlencoded", { "Content-Type": "application/x-www-form-urlencoded" }, "email=a%40b.co&password=x"],
    [
      "multipart/form-data",
      { "Content-Type": "multipart/form-data; boundary=XyZ" },
      '--XyZ\r\nContent-Disposition: form-data; name="email"\r\n\r\na@b.co\r\n--XyZ\r\nContent-Disposition: form-data; name="password"\r\n\r\nx\r\n--XyZ--\r\n',
    ],
    ["no Content-Type at all", {}, '{"email":"a@b.co","password":"x"}'],
    ["application/json-seq", { "Content-Type": "application/json-seq" }, '{"email":"a@b.co","password":"x"}'],
    ["text/json", { "Content-Type": "text/json" }, '{"email":"a@b.co","password":"x"}'],
  ];
  for (const [name, headers, body] of bodies) {
    test(name, async () => {
      const response = await server.raw([
        rawRequest("POST", "/auth/login", { ...headers, "Content-Length": String(Buffer.byteLength(body)) }, body),
      ]);
      expectDetail(response, 415, "Content-Type must be application/json");
    });
  }

  test("control: application/json with a charset parameter is accepted", async () => {
    const response = await server.request("POST", "/auth/login", {
      body: JSON.stringify({ email: "a@b.co", password: "" }),
      headers: { "content-type": "Application/JSON; charset=utf-8" },
    });
    expectDetail(response, 422);
  });
});

describe("an anonymous request with a bad body on an authenticated route is answered 401 first", () => {
  test("POST /admin/users, text/plain, no token", async () => {
    expect401(await server.request("POST", "/admin/users", { body: "x=1", headers: { "content-type": "text/plain" } }), "Not authenticated");
  });

  test("PUT /auth/password, broken JSON, no token", async () => {
    const response = await server.request("PUT", "/auth/password", { body: '{"current_password":', headers: { "content-type": "application/json" } });
    expect401(response, "Not authenticated");
  });

  test("PATCH /admin/users/1, deep JSON, forged token", async () => {
    const response = await server.request("PATCH", "/admin/users/1", {
      body: "[".repeat(5000) + "]".repeat(5000),
      headers: { "content-type": "application/json", authorization: `Bearer ${signJwt(HS256, validClaims(), { key: "x".repeat(40) })}` },
    });
    expect401(response, "Invalid or expired token");
  });
});

/** [name, body, the status SECURITY.md promises for it (400 for what strict parsing refuses), if it names one]. */
const hostileBodies: Array<[string, string | Uint8Array<ArrayBuffer>, 400?]> = [
  ["arrays nested 10 000 deep", "[".repeat(10_000) + "]".repeat(10_000), 400],
  ["objects nested 10 000 deep", '{"a":'.repeat(10_000) + "1" + "}".repeat(10_000), 400],
  ["invalid UTF-8 bytes", new Uint8Array([...Buffer.from('{"name":"'), 0xff, 0xfe, 0xc3, 0x28, ...Buffer.from('","email":"u@x.co","password":"sec-suite-utf8-pass"}')]), 400],
  ["duplicate keys (role twice)", '{"name":"Dup","email":"dup@x.co","password":"sec-suite-dup-pass-1","role":"agent","role":"admin"}', 400],
  ["a __proto__ key", '{"name":"P","email":"proto@x.co","password":"sec-suite-proto-pass","__proto__":{"role":"admin"}}', 400],
  ["a constructor key", '{"name":"C","email":"ctor@x.co","password":"sec-suite-ctor-pass1","constructor":{"prototype":{"role":"admin"}}}', 400],
  ["a prototype key", '{"name":"C","email":"proto2@x.co","password":"sec-suite-ctor-pass2","prototype":1}', 400],
  ["numbers where strings belong", '{"name":12345,"email":67890,"password":1234567890123}'],
  ["1e999", '{"name":"Big","email":"big@x.co","password":"sec-suite-big-pass1","role":1e999}', 400],
  ["-1e999 in a string field", '{"name":-1e999,"email":"big2@x.co","password":"sec-suite-big-pass2"}', 400],
  ["trailing garbage", '{"name":"T","email":"trail@x.co","password":"sec-suite-trail-pass"} {"x":1}', 400],
  ["a NUL in the email", '{"name":"N","email":"nul\\u0000@x.co","password":"sec-suite-nul-passw1"}'],
  ["terminal escapes in the name", '{"name":"E\\u001b[2J\\u001b]0;x\\u0007","email":"esc@x.co","password":"sec-suite-esc-passw1"}'],
  ["a top-level array", '[{"name":"A","email":"arr@x.co","password":"sec-suite-arr-passw1"}]'],
  ["a top-level string", '"hello"'],
  ["an empty body", ""],
  ["single quotes", "{'name':'Q','email':'q@x.co','password':'sec-suite-quote-pw1'}", 400],
  ["a 60 000-digit number", `{"name":"N","email":"digits@x.co","password":"sec-suite-digits-pw","n":${"9".repeat(60_000)}}`, 400],
];

describe("JSON built to hurt → a clean 4xx (400 where SECURITY.md promises it), nothing created (POST /admin/users as admin)", () => {
  for (const [name, body, promised] of hostileBodies) {
    test(promised ? `${name} → ${promised}` : name, async () => {
      const response = await server.request("POST", "/admin/users", {
        token: admin,
        body,
        headers: { "content-type": "application/json" },
      });
      expectClean4xx(response);
      if (promised) expectDetail(response, promised, /^Request body is not acceptable JSON \(.+\)$/);
      expect(response.status).not.toBe(201);
    });
  }

  test("the same bodies on POST /auth/login → a clean 4xx (the same 400s), never a token", async () => {
    for (const [name, body, promised] of hostileBodies) {
      const response = await server.request("POST", "/auth/login", { body, headers: { "content-type": "application/json" } });
      expectClean4xx(response);
      if (promised) expect({ name, status: response.status }).toEqual({ name, status: promised });
      expect(response.text).not.toContain("access_token");
    }
  });
});

describe("absurd path ids (as admin) → a clean 4xx", () => {
  const ids = ["99999999999999999999999", "1e3", "0x10", "-1", "0", "1.5", "NaN", "Infinity", "9007199254740993", "%00", "1%00", "1'--"];
  for (const id of ids) {
    test(`GET and PATCH …/deactivate on /admin/users/${id}`, async () => {
      expectClean4xx(await server.request("GET", `/admin/users/${id}`, { token: admin }));
      expectClean4xx(await server.request("PATCH", `/admin/users/${id}/deactivate`, { token: admin }));
    });
  }

  test("a non-canonical id (0x1, 1e0, +1, ' 1') does not alias account #1", async () => {
    // UserIdParams promises "anything else is a 422 before the database is asked".
    const answers: string[] = [];
    for (const id of ["0x1", "1e0", "%2B1", "0b1", "0o1", "%201", "1%20"]) {
      const response = await server.request("GET", `/admin/users/${id}`, { token: admin });
      answers.push(`${id} → ${response.status}`);
    }
    expect(answers.filter((answer) => answer.endsWith("→ 200"))).toEqual([]);
  });

  test("nothing above reached the database: only the admin and the agent exist, unchanged", async () => {
    const users = await server.users();
    expect(users.map((u) => [u.id, u.email, u.role, u.is_active])).toEqual([
      [1, ADMIN.email, "admin", true],
      [2, "agent@sec.example.com", "agent", true],
    ]);
  });
});

describe("request ids", () => {
  test("an incoming X-Request-Id that could smuggle text into a log line is replaced, not echoed", async () => {
    for (const id of ['abc","level":"error', "a b", "x".repeat(300), "<script>", "id\u0000"]) {
      const response = await server.request("GET", "/health", { headers: { "x-request-id": id.replace("\u0000", "%00") } });
      expect(response.status).toBe(200);
      const echoed = response.headers.get("x-request-id");
      if (echoed !== null) expect(echoed).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
    }
    expect(server.stdout()).not.toContain('"level":"error"');
  });
});

describe("security headers on every kind of answer", () => {
  const cases: Array<[string, number, string, () => Promise<Res>]> = [
    ["200 GET /health", 200, "/health", () => server.request("GET", "/health")],
    ["200 GET /auth/me", 200, "/auth/me", () => server.request("GET", "/auth/me", { token: admin })],
    ["200 GET /admin/users", 200, "/admin/users", () => server.request("GET", "/admin/users", { token: admin })],
    ["400 malformed JSON", 400, "/auth/login", () => server.request("POST", "/auth/login", { body: "{", headers: { "content-type": "application/json" } })],
    ["401 no token", 401, "/admin/users", () => server.request("GET", "/admin/users")],
    ["403 agent on an admin route", 403, "/admin/users", () => server.request("GET", "/admin/users", { token: agent })],
    ["404 unknown route", 404, "/no/such/route", () => server.request("GET", "/no/such/route")],
    ["404 unknown account", 404, "/admin/users/424242", () => server.request("GET", "/admin/users/424242", { token: admin })],
    [
      "413 declared too large",
      413,
      "/auth/login",
      () => server.raw([rawRequest("POST", "/auth/login", { "Content-Type": "application/json", "Content-Length": "999999" })]),
    ],
    [
      "415 form body",
      415,
      "/auth/login",
      () => server.request("POST", "/auth/login", { body: "a=b", headers: { "content-type": "application/x-www-form-urlencoded" } }),
    ],
    ["422 invalid field", 422, "/auth/login", () => server.request("POST", "/auth/login", { json: { email: "a@b.co", password: "" } })],
    [
      "429 throttled login",
      429,
      "/auth/login",
      async () => {
        const wrong = suite.secret("sec-suite-wrong-once-9");
        await server.login("throttled@sec.example.com", wrong);
        return server.login("throttled@sec.example.com", wrong);
      },
    ],
  ];
  for (const [name, status, path, send] of cases) {
    test(name, async () => {
      const response = await send();
      expect(response.status).toBe(status);
      expect(securityHeaderProblems({ headers: response.headers, status, path })).toEqual([]);
      expect(response.headers.get("content-security-policy")).toBe("default-src 'none'; frame-ancestors 'none'");
      expect(response.headers.get("x-powered-by")).toBeNull();
      const serverHeader = response.headers.get("server");
      if (serverHeader !== null) expect(serverHeader).not.toMatch(/\d/);
    });
  }

  test("Cache-Control: no-store under /auth and /admin, errors included", async () => {
    for (const [method, path] of [["GET", "/auth/me"], ["POST", "/auth/logout"], ["GET", "/admin/users"], ["GET", "/admin/users/1"]] as const) {
      const response = await server.request(method, path);
      expect(response.status).toBe(401);
      expect(response.headers.get("cache-control")).toBe("no-store");
    }
  });
});

suite.sweep();
