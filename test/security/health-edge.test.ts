// GET /health through the compiled binary carries the edge's contract like every other route: CORS for the
// configured origins (the original's frontend may call it cross-origin), X-Request-Id, the security headers.
// It is answered ahead of Elysia for speed (src/http/routes/health.ts), so these are checked on the real server, not app.handle.
import { beforeAll, describe, expect, test } from "bun:test";
import { ALLOWED_ORIGINS, createSuite, securityHeaderProblems, type Instance } from "./harness.ts";

const suite = createSuite();
let server: Instance;

beforeAll(async () => {
  server = await suite.start("health-edge", { admin: false });
}, 60_000);

const varyNamesOrigin = (headers: Headers) =>
  (headers.get("vary") ?? "").toLowerCase().split(",").map((v) => v.trim()).includes("origin");

describe("GET /health on the compiled binary", () => {
  test("from an allowed origin: 200 {status: ok}, Access-Control-Allow-Origin with credentials, Vary, X-Request-Id", async () => {
    for (const origin of ALLOWED_ORIGINS) {
      const response = await server.request("GET", "/health", { headers: { origin } });
      expect(response.status).toBe(200);
      expect(JSON.parse(response.text)).toEqual({ status: "ok" });
      expect(response.headers.get("access-control-allow-origin")).toBe(origin);
      expect(response.headers.get("access-control-allow-credentials")).toBe("true");
      expect(response.headers.get("access-control-expose-headers")).toContain("X-Request-Id");
      expect(varyNamesOrigin(response.headers)).toBe(true);
      expect(response.headers.get("x-request-id")).toMatch(/^[0-9a-f]{12}-[0-9a-z]+$/);
      expect(securityHeaderProblems({ headers: response.headers, path: "/health", status: 200 })).toEqual([]);
    }
  }, 30_000);

  test("each answer has its own request id; a sane incoming one is kept, an unsafe one replaced", async () => {
    const first = await server.request("GET", "/health");
    const second = await server.request("GET", "/health");
    expect(first.headers.get("x-request-id")).not.toBe(second.headers.get("x-request-id"));
    const kept = await server.request("GET", "/health", { headers: { "x-request-id": "probe-42.a" } });
    expect(kept.headers.get("x-request-id")).toBe("probe-42.a");
    const replaced = await server.request("GET", "/health", { headers: { "x-request-id": "bad id with spaces" } });
    expect(replaced.headers.get("x-request-id")).toMatch(/^[0-9a-f]{12}-[0-9a-z]+$/);
  }, 30_000);

  test("a preflight OPTIONS /health from an allowed origin is answered 204 with the asked method and headers", async () => {
    const origin = ALLOWED_ORIGINS[1]!;
    const response = await server.request("OPTIONS", "/health", {
      headers: { origin, "access-control-request-method": "GET", "access-control-request-headers": "x-request-id" },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBe(origin);
    expect(response.headers.get("access-control-allow-credentials")).toBe("true");
    expect(response.headers.get("access-control-allow-methods")).toContain("GET");
    expect(response.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("x-request-id");
    expect(response.headers.get("x-request-id")).not.toBeNull();
  }, 30_000);

  test("a disallowed origin gets no Access-Control-Allow-Origin, on GET or on a preflight, and still Vary: Origin", async () => {
    for (const origin of ["https://evil.example.com", "null", `${ALLOWED_ORIGINS[0]}.evil.com`]) {
      const simple = await server.request("GET", "/health", { headers: { origin } });
      const preflight = await server.request("OPTIONS", "/health", { headers: { origin, "access-control-request-method": "GET" } });
      expect(simple.status).toBe(200);
      // Without Access-Control-Allow-Origin a browser refuses the answer whatever else it says (@elysiajs/cors
      // sends its static headers, Allow-Credentials among them, on every response; they grant nothing alone).
      for (const response of [simple, preflight]) {
        expect(response.headers.get("access-control-allow-origin")).toBeNull();
        expect(varyNamesOrigin(response.headers)).toBe(true);
        expect(response.headers.get("x-request-id")).not.toBeNull();
      }
    }
  }, 30_000);

  test("answers CORS exactly as the routes behind Elysia's hooks do (GET /ready), for allowed and refused origins", async () => {
    const cors = (headers: Headers) =>
      Object.fromEntries([...headers].filter(([name]) => name.startsWith("access-control-") || name === "vary"));
    for (const origin of [...ALLOWED_ORIGINS, "https://evil.example.com", "null"]) {
      const health = await server.request("GET", "/health", { headers: { origin } });
      const ready = await server.request("GET", "/ready", { headers: { origin } });
      expect(cors(health.headers)).toEqual(cors(ready.headers));
    }
    const allowed = await server.request("GET", "/health", { headers: { origin: ALLOWED_ORIGINS[0]! } });
    expect(cors(allowed.headers)["access-control-allow-origin"]).toBe(ALLOWED_ORIGINS[0]!);
  }, 30_000);
});

describe("the request log on the compiled binary", () => {
  const requestLines = (instance: Instance) =>
    instance
      .stdout()
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((entry) => entry.msg === "request");

  /** Lines are written in batches after the answers; wait until `id` has one (or give up after 5 s). */
  async function linesFor(instance: Instance, id: string) {
    for (let i = 0; i < 100; i++) {
      const lines = requestLines(instance).filter((entry) => entry.request_id === id);
      if (lines.length > 0) {
        await Bun.sleep(50); // a second line for the same answer would come in the same or the next batch
        return requestLines(instance).filter((entry) => entry.request_id === id);
      }
      await Bun.sleep(50);
    }
    return [];
  }

  test("exactly one line per answer, preflights and 404s included, with the status the client got", async () => {
    const asked: Array<[string, string, number, Record<string, string>]> = [
      ["GET", "/auth/me", 401, {}],
      ["OPTIONS", "/auth/login", 204, { origin: ALLOWED_ORIGINS[0]!, "access-control-request-method": "POST" }],
      ["GET", "/no/such/route?token=secret-in-query", 404, {}],
    ];
    for (const [method, path, status, headers] of asked) {
      const id = `log-check-${method.toLowerCase()}-${status}`;
      const response = await server.request(method, path, { headers: { ...headers, "x-request-id": id } });
      expect(response.status).toBe(status);
      const lines = await linesFor(server, id);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ level: "info", method, path: path.split("?")[0], status });
      expect(typeof lines[0]!.duration_ms).toBe("number");
    }
    expect(server.stdout()).not.toContain("secret-in-query");
  }, 30_000);

  test("GET /health probes are not in the log at the default level", async () => {
    const probe = await server.request("GET", "/health", { headers: { "x-request-id": "probe-not-logged" } });
    expect(probe.status).toBe(200);
    // A request after it that is logged: once its line is out, the probe's would have been too.
    await server.request("GET", "/auth/me", { headers: { "x-request-id": "after-the-probe" } });
    expect(await linesFor(server, "after-the-probe")).toHaveLength(1);
    expect(requestLines(server).filter((entry) => entry.request_id === "probe-not-logged")).toEqual([]);
  }, 30_000);
});

suite.sweep();
