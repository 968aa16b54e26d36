// The API description: /openapi.json lists every route the app serves, with its method and security,
// and /docs renders it; with docs turned off both are gone.
import { beforeAll, describe, expect, test } from "bun:test";
import packageJson from "../package.json" with { type: "json" };
import { createTestApp, expectNoLeak, type TestContext } from "./helpers.ts";

const DOC_ROUTES = new Set(["/openapi.json", "/docs"]);

interface Operation {
  security?: Array<Record<string, string[]>>;
  parameters?: Array<{ name: string; in: string; required?: boolean }>;
  responses?: Record<string, unknown>;
}
type Paths = Record<string, Record<string, Operation>>;

/** The routes the app serves, as "METHOD /openapi/{path}": without the docs themselves and CORS preflights. */
function servedRoutes(ctx: TestContext): Array<{ method: string; path: string; openapiPath: string }> {
  return ctx.app.routes
    // The console's page and assets are not API routes; it is documented in docs/console.md.
    .filter(
      (route) =>
        route.method !== "OPTIONS" &&
        !DOC_ROUTES.has(route.path) &&
        !route.path.startsWith("/docs/") &&
        route.path !== "/console" &&
        !route.path.startsWith("/console/"),
    )
    .map((route) => ({
      method: route.method,
      path: route.path,
      openapiPath: route.path.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, "{$1}"),
    }));
}

describe("GET /openapi.json", () => {
  const ctx = createTestApp();
  let doc: { openapi: string; info: { title: string; version: string }; paths: Paths; components?: any };

  beforeAll(async () => {
    const response = await ctx.request("GET", "/openapi.json");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("application/json");
    expectNoLeak(response.text);
    doc = response.json;
  });

  test("is an OpenAPI 3 document describing moxie at the package version", () => {
    expect(doc.openapi).toMatch(/^3\.\d+\.\d+$/);
    expect(doc.info.title).toBe("moxie");
    expect(doc.info.version).toBe(packageJson.version);
    expect(doc.paths).toBeObject();
  });

  test("the route enumeration sees the whole app (the check below is not vacuous)", () => {
    const served = servedRoutes(ctx).map((r) => `${r.method} ${r.path}`);
    expect(served).toEqual(
      expect.arrayContaining([
        "GET /health",
        "POST /auth/login",
        "GET /auth/me",
        "PUT /auth/password",
        "POST /auth/logout",
        "GET /admin/users",
        "POST /admin/users",
        "GET /admin/users/:id",
        "PATCH /admin/users/:id",
        "PATCH /admin/users/:id/deactivate",
        "PATCH /admin/users/:id/activate",
        "PUT /admin/users/:id/password",
      ]),
    );
  });

  test("every route the app serves appears with its method; nothing is listed that is not served", () => {
    const served = servedRoutes(ctx);
    const missing = served.filter((r) => doc.paths[r.openapiPath]?.[r.method.toLowerCase()] === undefined);
    expect(missing.map((r) => `${r.method} ${r.openapiPath}`)).toEqual([]);
    const listed = Object.entries(doc.paths).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(listed.sort()).toEqual(served.map((r) => `${r.method} ${r.openapiPath}`).sort());
  });

  test("the docs themselves are not listed", () => {
    for (const path of DOC_ROUTES) expect(doc.paths[path]).toBeUndefined();
  });

  test("components.securitySchemes.bearer is HTTP bearer", () => {
    expect(doc.components?.securitySchemes?.bearer).toMatchObject({ type: "http", scheme: "bearer" });
  });

  test("every admin route declares the bearer security and documents 401 and 403", () => {
    const admin = servedRoutes(ctx).filter((r) => r.path.startsWith("/admin/"));
    expect(admin.length).toBeGreaterThanOrEqual(7);
    for (const route of admin) {
      const operation = doc.paths[route.openapiPath]![route.method.toLowerCase()]!;
      expect({ route: `${route.method} ${route.path}`, security: operation.security }).toEqual({
        route: `${route.method} ${route.path}`,
        security: expect.arrayContaining([expect.objectContaining({ bearer: [] })]),
      });
      expect(Object.keys(operation.responses ?? {})).toEqual(expect.arrayContaining(["401", "403"]));
    }
  });

  test("a route declares bearer security exactly when it refuses an anonymous request with 401", async () => {
    for (const route of servedRoutes(ctx)) {
      const path = route.path.replace(/:[A-Za-z_][A-Za-z0-9_]*/g, "1");
      const body = route.method === "GET" ? undefined : {};
      const response = await ctx.request(route.method, path, { body });
      const operation = doc.paths[route.openapiPath]![route.method.toLowerCase()]!;
      const declaresBearer = (operation.security ?? []).some((requirement) => "bearer" in requirement);
      expect({ route: `${route.method} ${route.path}`, declaresBearer }).toEqual({
        route: `${route.method} ${route.path}`,
        declaresBearer: response.status === 401,
      });
    }
  });

  test("routes with {id} declare it as a required path parameter", () => {
    const withId = servedRoutes(ctx).filter((r) => r.openapiPath.includes("{id}"));
    expect(withId.length).toBeGreaterThanOrEqual(5);
    for (const route of withId) {
      const parameters = doc.paths[route.openapiPath]![route.method.toLowerCase()]!.parameters ?? [];
      expect(parameters).toContainEqual(expect.objectContaining({ name: "id", in: "path", required: true }));
    }
  });

  test("the list's query parameters are documented", () => {
    const parameters = doc.paths["/admin/users"]?.get?.parameters ?? [];
    const names = parameters.filter((p) => p.in === "query").map((p) => p.name);
    expect(names.sort()).toEqual(["is_active", "limit", "offset", "q", "role"]);
  });
});

describe("GET /docs", () => {
  test("an HTML page", async () => {
    const ctx = createTestApp();
    const response = await ctx.request("GET", "/docs");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/html");
    expect(response.text).toMatch(/<html/i);
    expectNoLeak(response.text);
  });
});

describe("docs turned off", () => {
  test("/openapi.json and /docs are 404, the API itself still answers", async () => {
    const ctx = createTestApp({ docs: false });
    for (const path of DOC_ROUTES) {
      const response = await ctx.request("GET", path);
      expect({ path, status: response.status }).toEqual({ path, status: 404 });
      expect(response.text).not.toContain("openapi\":");
    }
    expect(ctx.app.routes.some((route) => DOC_ROUTES.has(route.path))).toBe(false);
    expect((await ctx.request("GET", "/health")).status).toBe(200);
  });
});
