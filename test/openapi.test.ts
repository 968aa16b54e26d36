// The API description: /openapi.json is a complete OpenAPI 3.1 document of exactly the routes the app serves
// (read from app.routes, never from a list kept here), with what each can really answer; real answers hold
// against it; /docs renders it; with docs turned off both are gone.
import { beforeAll, describe, expect, test } from "bun:test";
import { t } from "elysia";
import packageJson from "../package.json" with { type: "json" };
import { buildOpenApiDocument, derivedOperationId, toJsonSchema } from "../src/http/openapi.ts";
import { createTestApp, expectNoLeak, seedUser, signIn, type TestContext, type TestResponse } from "./helpers.ts";
import { checkSchema } from "./support/json-schema.ts";

const DOC_ROUTES = new Set(["/openapi.json", "/docs"]);
const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

interface Response {
  description?: string;
  headers?: Record<string, { $ref: string }>;
  content?: Record<string, { schema: any; example?: unknown }>;
}
interface Operation {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  security?: Array<Record<string, string[]>>;
  parameters?: Array<{ name: string; in: string; required?: boolean; schema: any }>;
  requestBody?: { required?: boolean; content: Record<string, { schema: any; example?: unknown }> };
  responses: Record<string, Response>;
}
type Paths = Record<string, Record<string, Operation>>;
interface Document {
  openapi: string;
  info: { title: string; version: string; description: string };
  paths: Paths;
  components: { schemas: Record<string, any>; headers: Record<string, any>; securitySchemes: Record<string, any> };
}

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

function operations(doc: Document): Array<{ name: string; operation: Operation }> {
  return Object.entries(doc.paths).flatMap(([path, byMethod]) =>
    Object.entries(byMethod).map(([method, operation]) => ({ name: `${method.toUpperCase()} ${path}`, operation })),
  );
}

/** Every object in the document, with where it is, for keyword hunts. */
function everyNode(node: unknown, at = "#"): Array<{ at: string; node: Record<string, unknown> }> {
  if (!node || typeof node !== "object") return [];
  if (Array.isArray(node)) return node.flatMap((item, index) => everyNode(item, `${at}/${index}`));
  const here = { at, node: node as Record<string, unknown> };
  return [here, ...Object.entries(node).flatMap(([key, child]) => everyNode(child, `${at}/${key}`))];
}

/** The schemas of a document, skipping the names inside `properties` maps (a property may be called anything). */
function everySchema(doc: Document): Array<{ at: string; schema: Record<string, unknown> }> {
  const found: Array<{ at: string; schema: Record<string, unknown> }> = [];
  const visit = (schema: unknown, at: string) => {
    if (!schema || typeof schema !== "object" || Array.isArray(schema)) return;
    const node = schema as Record<string, unknown>;
    found.push({ at, schema: node });
    for (const map of ["properties", "patternProperties"]) {
      for (const [name, child] of Object.entries((node[map] as object) ?? {})) visit(child, `${at}/${map}/${name}`);
    }
    if (node.items) visit(node.items, `${at}/items`);
    for (const key of ["anyOf", "oneOf", "allOf"]) ((node[key] as unknown[]) ?? []).forEach((child, i) => visit(child, `${at}/${key}/${i}`));
  };
  for (const [name, schema] of Object.entries(doc.components.schemas)) visit(schema, `#/components/schemas/${name}`);
  for (const { name, operation } of operations(doc)) {
    for (const parameter of operation.parameters ?? []) visit(parameter.schema, `${name} parameter ${parameter.name}`);
    for (const [type, media] of Object.entries(operation.requestBody?.content ?? {})) visit(media.schema, `${name} body ${type}`);
    for (const [status, response] of Object.entries(operation.responses)) {
      for (const [type, media] of Object.entries(response.content ?? {})) visit(media.schema, `${name} ${status} ${type}`);
    }
  }
  return found;
}

async function fetchDocument(ctx: TestContext): Promise<Document> {
  const response = await ctx.request("GET", "/openapi.json");
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toContain("application/json");
  expectNoLeak(response.text);
  return response.json;
}

describe("GET /openapi.json", () => {
  const ctx = createTestApp();
  let doc: Document;

  beforeAll(async () => {
    doc = await fetchDocument(ctx);
  });

  test("is an OpenAPI 3.1 document describing moxie at the package version", () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(doc.info.title).toBe("moxie");
    expect(doc.info.version).toBe(packageJson.version);
    expect(doc.info.description).toContain("Authorization: Bearer");
    expect(doc.paths).toBeObject();
  });

  test("the route enumeration sees the whole app (the check below is not vacuous)", () => {
    const served = servedRoutes(ctx).map((r) => `${r.method} ${r.path}`);
    expect(served).toEqual(
      expect.arrayContaining([
        "GET /health",
        "GET /ready",
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
        "GET /admin/audit",
        "GET /auth/sessions",
        "DELETE /auth/sessions/:id",
        "GET /admin/users/:id/sessions",
        "DELETE /admin/users/:id/sessions/:sid",
        "DELETE /admin/users/:id/sessions",
      ]),
    );
  });

  test("every route the app serves appears with its method; nothing is listed that is not served", () => {
    const served = servedRoutes(ctx);
    const missing = served.filter((r) => doc.paths[r.openapiPath]?.[r.method.toLowerCase()] === undefined);
    expect(missing.map((r) => `${r.method} ${r.openapiPath}`)).toEqual([]);
    const listed = operations(doc).map(({ name }) => name);
    expect(listed.sort()).toEqual(served.map((r) => `${r.method} ${r.openapiPath}`).sort());
    for (const byMethod of Object.values(doc.paths)) {
      for (const method of Object.keys(byMethod)) expect(METHODS).toContain(method);
    }
  });

  test("the docs and the console are not listed", () => {
    for (const path of Object.keys(doc.paths)) {
      expect(path === "/openapi.json" || path.startsWith("/docs") || path.startsWith("/console")).toBe(false);
    }
  });

  test("every operation has a unique operationId, a tag, a summary and a one-paragraph description", () => {
    const ids = new Set<string>();
    const tags = new Set(((doc as any).tags as Array<{ name: string }>).map((tag) => tag.name));
    for (const { name, operation } of operations(doc)) {
      const described = {
        name,
        id: typeof operation.operationId,
        summary: (operation.summary ?? "").length >= 5 && (operation.summary ?? "").length <= 60,
        description: (operation.description ?? "").length >= 40 && !(operation.description ?? "").includes("\n\n"),
        tagged: (operation.tags ?? []).length === 1 && tags.has(operation.tags![0]!),
      };
      expect(described).toEqual({ name, id: "string", summary: true, description: true, tagged: true });
      expect(ids.has(operation.operationId!)).toBe(false);
      ids.add(operation.operationId!);
    }
  });

  test("every operationId is a name the route chose, a client's function name: camelCase, never a bare method or the path spelt out", () => {
    for (const { name, operation } of operations(doc)) {
      const id = operation.operationId!;
      expect({ name, id, camelCase: /^[a-z]+[A-Z][A-Za-z]+$/.test(id) }).toEqual({ name, id, camelCase: true });
      expect({ name, id, bareMethod: METHODS.includes(id.toLowerCase()) }).toEqual({ name, id, bareMethod: false });
    }
    // Left to the builder, GET /admin/users would be getAdminUsers and GET / just `get`: each route names its own.
    const unnamed = ctx.app.routes
      .filter((route) => servedRoutes(ctx).some((served) => served.method === route.method && served.path === route.path))
      .filter((route) => typeof (route.hooks as { detail?: { operationId?: unknown } }).detail?.operationId !== "string")
      .map((route) => `${route.method} ${route.path} (would be ${derivedOperationId(route.method, route.path)})`);
    expect(unnamed).toEqual([]);
    const byRoute = Object.fromEntries(operations(doc).map(({ name, operation }) => [name, operation.operationId]));
    expect(byRoute).toMatchObject({
      "GET /": "getServiceIndex",
      "GET /admin/users": "listUsers",
      "POST /admin/users": "createUser",
      "GET /admin/users/{id}": "getUser",
      "PATCH /admin/users/{id}": "updateUser",
      "POST /auth/login": "signIn",
    });
  });

  test("shared shapes are named components, and the operations refer to them", () => {
    for (const name of ["User", "UserList", "ErrorResponse", "Token", "AuditEvent", "AuditEventList", "Role", "Login", "NewUser", "UserChanges"]) {
      expect({ name, present: doc.components.schemas[name] !== undefined }).toEqual({ name, present: true });
    }
    const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
    const json = (response: Response | undefined) => response?.content?.["application/json"]?.schema;
    expect(json(doc.paths["/auth/me"]!.get!.responses["200"])).toEqual(ref("User"));
    expect(json(doc.paths["/auth/login"]!.post!.responses["200"])).toEqual(ref("Token"));
    expect(json(doc.paths["/admin/users"]!.get!.responses["200"])).toEqual(ref("UserList"));
    expect(json(doc.paths["/admin/users"]!.post!.responses["201"])).toEqual(ref("User"));
    expect(json(doc.paths["/admin/audit"]!.get!.responses["200"])).toEqual(ref("AuditEventList"));
    expect(doc.components.schemas.UserList.items).toEqual(ref("User"));
    expect(doc.components.schemas.AuditEventList.items).toEqual(ref("AuditEvent"));
    expect(doc.components.schemas.User.properties.role).toEqual(ref("Role"));
    // Every error answer is the one ErrorResponse shape.
    for (const { name, operation } of operations(doc)) {
      for (const [status, response] of Object.entries(operation.responses)) {
        if (Number(status) < 400 || (name === "GET /ready" && status === "503")) continue;
        expect({ name, status, schema: json(response) }).toEqual({ name, status, schema: ref("ErrorResponse") });
      }
    }
  });

  test("no schema is named like a built-in a generated client would shadow (Error, Response, Date, Record, ...)", () => {
    // Generators write `export type <Name> = ...` for each schema: `Error` would hide the language's own.
    const typeScriptOnly = ["Record", "Partial", "Required", "Readonly", "Pick", "Omit", "Exclude", "Extract", "NonNullable", "ReturnType", "Awaited", "Uppercase", "Lowercase", "Capitalize"];
    const shadowing = Object.keys(doc.components.schemas).filter((name) => name in globalThis || typeScriptOnly.includes(name));
    expect(shadowing).toEqual([]);
    // The check sees the globals it means to (it is not vacuous).
    expect(["Error", "Response", "Request", "Date", "Headers"].every((name) => name in globalThis)).toBe(true);
  });

  test("what the server sends as integers is an integer; ids, expires_in, counts", () => {
    const { schemas } = doc.components;
    expect(schemas.User.properties.id.type).toBe("integer");
    expect(schemas.Token.properties.expires_in.type).toBe("integer");
    expect(schemas.AuditEvent.properties.id.type).toBe("integer");
    expect(schemas.AuditEvent.properties.user_id.type).toEqual(["integer", "null"]);
    expect(doc.components.headers["X-Total-Count"].schema.type).toBe("integer");
    expect(doc.components.headers["Retry-After"].schema.type).toBe("integer");
    for (const { name, operation } of operations(doc).filter(({ name }) => name.includes("/users/{id}"))) {
      const id = operation.parameters!.find((parameter) => parameter.name === "id")!;
      expect({ name, id }).toEqual({ name, id: expect.objectContaining({ in: "path", required: true, schema: expect.objectContaining({ type: "integer" }) }) });
    }
    // A session's id is not a number: 22 base64url characters, in the path and in a listed session alike.
    const sessionIds = operations(doc)
      .filter(({ name }) => name.includes("/sessions/{"))
      .map(({ name, operation }) => ({ name, id: operation.parameters!.find((p) => p.name === (name.startsWith("DELETE /auth") ? "id" : "sid"))! }));
    expect(sessionIds.map(({ name }) => name).sort()).toEqual(["DELETE /admin/users/{id}/sessions/{sid}", "DELETE /auth/sessions/{id}"]);
    for (const { name, id } of sessionIds) {
      expect({ name, schema: id.schema }).toEqual({ name, schema: expect.objectContaining({ type: "string", pattern: "^[A-Za-z0-9_-]{22}$" }) });
    }
    expect(schemas.Session.properties.id).toMatchObject({ type: "string", pattern: "^[A-Za-z0-9_-]{22}$" });
    expect(schemas.EndedSessions.properties.ended.type).toBe("integer");
  });

  test("no OpenAPI 3.0 leftovers, no validator options, no invalid void content, no empty bodies", () => {
    for (const { at, schema } of everySchema(doc)) {
      expect({ at, keys: Object.keys(schema).filter((key) => key === "nullable" || key === "error") }).toEqual({ at, keys: [] });
      // Elysia's query coercion ("an integer or a string that looks like one") is not what the wire carries.
      expect({ at, format: schema.format }).not.toEqual({ at, format: "integer" });
    }
    for (const { at, node } of everyNode(doc)) {
      if (at.endsWith("/content")) {
        const types = Object.keys(node);
        expect({ at, types: types.length > 0 && types.every((type) => type.includes("/")) }).toEqual({ at, types: true });
      }
    }
    for (const { name, operation } of operations(doc)) {
      for (const [status, response] of Object.entries(operation.responses)) {
        expect({ name, status, description: typeof response.description }).toEqual({ name, status, description: "string" });
        if (status === "204") expect({ name, content: response.content }).toEqual({ name, content: undefined });
        else expect({ name, status, json: response.content?.["application/json"] !== undefined }).toEqual({ name, status, json: true });
      }
    }
  });

  test("every request body is a JSON schema with an example that the schema accepts", () => {
    const withBody = operations(doc).filter(({ operation }) => operation.requestBody);
    expect(withBody.map(({ name }) => name).sort()).toEqual(
      expect.arrayContaining(["POST /auth/login", "PUT /auth/password", "POST /admin/users", "PATCH /admin/users/{id}", "PUT /admin/users/{id}/password"]),
    );
    for (const { name, operation } of withBody) {
      const media = operation.requestBody!.content["application/json"]!;
      expect({ name, types: Object.keys(operation.requestBody!.content) }).toEqual({ name, types: ["application/json"] });
      expect({ name, ref: media.schema.$ref }).toEqual({ name, ref: expect.stringMatching(/^#\/components\/schemas\//) });
      expect({ name, example: media.example !== undefined }).toEqual({ name, example: true });
      expect({ name, errors: checkSchema(media.example, media.schema, { root: doc, closed: true }) }).toEqual({ name, errors: [] });
    }
  });

  test("answers of the shared mechanisms appear where they can happen: 400/413/415 with a body, 422 with any input, 500 everywhere", () => {
    for (const { name, operation } of operations(doc)) {
      const statuses = Object.keys(operation.responses);
      const input = operation.requestBody || (operation.parameters ?? []).length > 0;
      expect({ name, body: ["400", "413", "415"].every((s) => statuses.includes(s)) }).toEqual({ name, body: !!operation.requestBody });
      expect({ name, validation: statuses.includes("422") }).toEqual({ name, validation: !!input || statuses.includes("422") });
      if (input) expect({ name, statuses }).toEqual({ name, statuses: expect.arrayContaining(["422"]) });
      expect({ name, statuses }).toEqual({ name, statuses: expect.arrayContaining(["500"]) });
    }
  });

  test("each route lists only the answers it can give: the account list neither 404s nor 409s", () => {
    const statuses = (path: string, method: string) => Object.keys(doc.paths[path]![method]!.responses).sort();
    expect(statuses("/admin/users", "get")).toEqual(["200", "401", "403", "422", "500"]);
    expect(statuses("/auth/me", "get")).toEqual(["200", "401", "500"]);
    expect(statuses("/auth/logout", "post")).toEqual(["204", "401", "422", "500", "503"]);
    expect(statuses("/auth/sessions", "get")).toEqual(["200", "401", "500"]);
    expect(statuses("/auth/sessions/{id}", "delete")).toEqual(["204", "401", "404", "422", "500", "503"]);
    expect(statuses("/admin/users/{id}/sessions", "get")).toEqual(["200", "401", "403", "404", "422", "500"]);
    expect(statuses("/admin/users/{id}/sessions", "delete")).toEqual(["200", "401", "403", "404", "422", "500", "503"]);
    expect(statuses("/admin/users/{id}/sessions/{sid}", "delete")).toEqual(["204", "401", "403", "404", "422", "500", "503"]);
    expect(statuses("/auth/login", "post")).toEqual(["200", "400", "401", "413", "415", "422", "429", "500", "503"]);
    expect(statuses("/admin/users/{id}/activate", "patch")).toEqual(["200", "401", "403", "404", "422", "500", "503"]);
    expect(statuses("/admin/users/{id}/deactivate", "patch")).toEqual(["200", "401", "403", "404", "409", "422", "500", "503"]);
    expect(statuses("/admin/users", "post")).toEqual(["201", "400", "401", "403", "409", "413", "415", "422", "429", "500", "503"]);
    // Every change is one transaction that a busy or full database (or a full hashing queue) refuses with 503;
    // reads never are, except readiness, which reports exactly that.
    const busy = operations(doc).filter(({ operation }) => operation.responses["503"]).map(({ name }) => name);
    const writes = operations(doc).filter(({ name }) => !name.startsWith("GET ")).map(({ name }) => name);
    expect(busy.sort()).toEqual(["GET /ready", ...writes].sort());
  });

  test("X-Request-Id, sent with every answer, is declared on every response as one reusable header", () => {
    const component = doc.components.headers["X-Request-Id"];
    expect(component).toMatchObject({ description: expect.stringContaining("log"), schema: { type: "string" } });
    let responses = 0;
    for (const { name, operation } of operations(doc)) {
      for (const [status, response] of Object.entries(operation.responses)) {
        responses++;
        expect({ name, status, header: response.headers?.["X-Request-Id"] }).toEqual({
          name,
          status,
          header: { $ref: "#/components/headers/X-Request-Id" },
        });
      }
    }
    expect(responses).toBeGreaterThan(100);
  });

  test("declared headers: X-Total-Count on lists, WWW-Authenticate on every 401, Retry-After on 429 and the busy 503", () => {
    // X-Request-Id is on every response (the test above); these are the headers that say something about one answer.
    const headers = (response: Response | undefined) => Object.keys(response?.headers ?? {}).filter((name) => name !== "X-Request-Id").sort();
    expect(headers(doc.paths["/admin/users"]!.get!.responses["200"])).toEqual(["X-Total-Count"]);
    expect(headers(doc.paths["/admin/audit"]!.get!.responses["200"])).toEqual(["X-Total-Count"]);
    for (const { name, operation } of operations(doc)) {
      for (const [status, response] of Object.entries(operation.responses)) {
        if (status === "401") expect({ name, headers: headers(response) }).toEqual({ name, headers: ["WWW-Authenticate"] });
        if (status === "429" || (status === "503" && name !== "GET /ready")) {
          expect({ name, status, headers: headers(response) }).toEqual({ name, status, headers: ["Retry-After"] });
        }
        // A description that tells the client to follow a header is only true where the header is declared.
        for (const header of ["Retry-After", "WWW-Authenticate", "X-Total-Count"]) {
          if (String(response.description ?? "").includes(header)) {
            expect({ name, status, declares: headers(response) }).toEqual({ name, status, declares: expect.arrayContaining([header]) });
          }
        }
      }
    }
    for (const { node } of everyNode(doc.paths)) {
      if (typeof node.$ref === "string" && node.$ref.startsWith("#/components/headers/")) {
        expect(doc.components.headers[node.$ref.slice("#/components/headers/".length)]).toBeDefined();
      }
    }
  });

  test("components.securitySchemes.bearer is HTTP bearer; open routes say so with an empty security list", () => {
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: "http", scheme: "bearer" });
    for (const { name, operation } of operations(doc)) {
      expect({ name, security: Array.isArray(operation.security) }).toEqual({ name, security: true });
    }
    expect(doc.paths["/auth/login"]!.post!.security).toEqual([]);
    expect(doc.paths["/health"]!.get!.security).toEqual([]);
  });

  test("every admin route declares the bearer security and documents 401 and 403", () => {
    const admin = servedRoutes(ctx).filter((r) => r.path.startsWith("/admin/"));
    expect(admin.length).toBeGreaterThanOrEqual(8);
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

  test("the lists' query parameters are documented, with their bounds", () => {
    const parameters = doc.paths["/admin/users"]?.get?.parameters ?? [];
    const names = parameters.filter((p) => p.in === "query").map((p) => p.name);
    expect(names.sort()).toEqual(["is_active", "limit", "offset", "q", "role"]);
    const limit = parameters.find((p) => p.name === "limit")!;
    expect(limit).toMatchObject({ required: false, schema: { type: "integer", minimum: 1, maximum: 1000 } });
    const audit = (doc.paths["/admin/audit"]?.get?.parameters ?? []).map((p) => p.name);
    expect(audit.sort()).toEqual(["limit", "offset", "type", "user_id"]);
  });

  test("the document does not depend on which requests came before it (Elysia edits schemas as it compiles routes)", async () => {
    const other = createTestApp();
    const admin = await seedUser(other.db, { role: "admin" });
    const token = await signIn(other.request, admin);
    await other.request("GET", "/ready");
    await other.request("GET", "/admin/users", { token });
    await other.request("POST", "/admin/users", { token, body: { name: "X", email: "x@example.com", password: "a long passphrase" } });
    await other.request("GET", "/admin/audit", { token });
    expect((await other.request("GET", "/openapi.json")).json).toEqual(doc);
  });
});

describe("TypeBox schemas as the document shows them", () => {
  test("Elysia's integers are integers, nullable values list null as a type, literal unions are enums, options vanish", () => {
    expect(toJsonSchema(t.Integer({ minimum: 1, error: "id must be positive" }))).toEqual({ type: "integer", minimum: 1 });
    // The contract's last_login_at: an ISO time or null.
    expect(toJsonSchema(t.Nullable(t.String({ format: "date-time" })))).toEqual({ type: ["string", "null"], format: "date-time" });
    expect(toJsonSchema(t.Nullable(t.Integer()))).toEqual({ type: ["integer", "null"] });
    expect(toJsonSchema(t.Union([t.Literal("a"), t.Literal("b")]))).toEqual({ type: "string", enum: ["a", "b"] });
    // A nullable enum keeps its anyOf: `enum` would have to list null as well.
    expect(toJsonSchema(t.Nullable(t.Union([t.Literal("a"), t.Literal("b")])))).toEqual({
      anyOf: [{ type: "string", enum: ["a", "b"] }, { type: "null" }],
    });
    // A property may be called "error": only the keyword goes.
    expect(toJsonSchema(t.Object({ error: t.String({ error: "x" }) }))).toEqual({
      type: "object",
      required: ["error"],
      properties: { error: { type: "string" } },
    });
    // The contract's audit `changes`: a map of field → {from, to}, or null.
    const changes = toJsonSchema(t.Nullable(t.Record(t.String(), t.Object({ from: t.Unknown(), to: t.Unknown() })))) as any;
    expect(changes.type).toEqual(["object", "null"]);
    expect(Object.values(changes.patternProperties)).toEqual([{ type: "object", required: ["from", "to"], properties: { from: {}, to: {} } }]);
  });

  test("two routes with one operationId are refused, not listed twice", () => {
    const route = (method: string, path: string) => ({ method, path, hooks: { detail: { operationId: "sameName" } } });
    const build = () =>
      buildOpenApiDocument([route("GET", "/a"), route("GET", "/b")], {
        info: { title: "x", version: "1" },
        tags: [],
        schemas: {},
        securitySchemes: {},
        exclude: () => false,
      });
    expect(build).toThrow("operationId sameName is used by GET /a and GET /b");
  });

  test("two names for one shape are refused, not silently merged", () => {
    const build = () =>
      buildOpenApiDocument([], {
        info: { title: "x", version: "1" },
        tags: [],
        schemas: { A: t.Object({ x: t.String() }), B: t.Object({ x: t.String() }) },
        securitySchemes: {},
        exclude: () => false,
      });
    expect(build).toThrow("schemas A and B are the same shape");
  });
});

describe("real answers hold against the document", () => {
  // A small throttle so the 429 is reachable; everything else as deployed.
  const ctx = createTestApp({ env: { LOGIN_MAX_FAILURES: "2" } });
  let doc: Document;
  const seen = new Set<string>();

  beforeAll(async () => {
    doc = await fetchDocument(ctx);
  });

  /** Sends the request, then checks its status is documented for the route, its body fits, and its declared headers came. */
  async function conforms(
    method: string,
    path: string,
    options: { body?: unknown; rawBody?: string; token?: string; headers?: Record<string, string> } = {},
  ): Promise<TestResponse> {
    const response = await ctx.request(method, path, options);
    const route = ctx.app.routes.find(
      (r) => r.method === method && new RegExp(`^${r.path.replace(/:[A-Za-z_]+/g, "[^/]+")}$`).test(path.split("?")[0]!),
    )!;
    const documentPath = route.path.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, "{$1}");
    const name = `${method} ${documentPath} → ${response.status}`;
    const documented = doc.paths[documentPath]![method.toLowerCase()]!.responses[String(response.status)];
    expect({ name, documented: documented !== undefined }).toEqual({ name, documented: true });
    const schema = documented!.content?.["application/json"]?.schema;
    if (schema) {
      expect({ name, errors: checkSchema(response.json, schema, { root: doc, closed: true }) }).toEqual({ name, errors: [] });
    } else {
      expect({ name, body: response.text }).toEqual({ name, body: "" });
    }
    for (const header of Object.keys(documented!.headers ?? {})) {
      const value = response.headers.get(header);
      const headerSchema = doc.components.headers[header].schema;
      const parsed = headerSchema.type === "integer" ? Number(value) : value;
      expect({ name, header, errors: value === null ? ["missing"] : checkSchema(parsed, headerSchema, { root: doc }) }).toEqual({
        name,
        header,
        errors: [],
      });
    }
    seen.add(`${response.status}`);
    return response;
  }

  test(
    "a tour of the API: every answer is documented, fits its schema and carries its headers",
    async () => {
      const admin = await seedUser(ctx.db, { role: "admin", email: "tour.admin@example.com" });
      const agent = await seedUser(ctx.db, { role: "agent", email: "tour.agent@example.com" });
      const adminToken = await signIn(ctx.request, admin);
      const agentToken = await signIn(ctx.request, agent);

      await conforms("GET", "/health");
      await conforms("GET", "/ready");
      await conforms("POST", "/auth/login", { body: { email: admin.email, password: admin.password } });
      await conforms("POST", "/auth/login", { rawBody: "{not json", headers: { "content-type": "application/json" } });
      await conforms("POST", "/auth/login", { rawBody: "email=a", headers: { "content-type": "application/x-www-form-urlencoded" } });
      await conforms("POST", "/auth/login", { rawBody: JSON.stringify({ email: "x@example.com", password: "p".repeat(70_000) }), headers: { "content-type": "application/json" } });
      await conforms("POST", "/auth/login", { body: { email: "x@example.com" } });
      for (let i = 0; i < 3; i++) await conforms("POST", "/auth/login", { body: { email: "nobody@example.com", password: "wrong-password" } });
      await conforms("GET", "/auth/me", { token: agentToken });
      await conforms("GET", "/auth/me");
      await conforms("GET", "/auth/me", { token: "not-a-token" });

      await conforms("GET", "/admin/users", { token: adminToken });
      await conforms("GET", "/admin/users?role=agent&limit=1&offset=0&is_active=true&q=tour", { token: adminToken });
      await conforms("GET", "/admin/users?limit=0", { token: adminToken });
      await conforms("GET", "/admin/users", { token: agentToken });
      const created = await conforms("POST", "/admin/users", {
        token: adminToken,
        body: { name: "Tour New", email: "tour.new@example.com", password: "a long passphrase" },
      });
      expect(created.status).toBe(201);
      await conforms("POST", "/admin/users", {
        token: adminToken,
        body: { name: "Tour Again", email: "TOUR.new@example.com ", password: "a long passphrase" },
      });
      await conforms("POST", "/admin/users", { token: adminToken, body: { name: "Tour Weak", email: "weak@example.com", password: "password123" } });
      const id = created.json.id as number;
      await conforms("GET", `/admin/users/${id}`, { token: adminToken });
      await conforms("GET", "/admin/users/999999", { token: adminToken });
      await conforms("GET", "/admin/users/0x1", { token: adminToken });
      await conforms("PATCH", `/admin/users/${id}`, { token: adminToken, body: { name: "Tour Renamed", role: "agent" } });
      await conforms("PATCH", `/admin/users/${id}`, { token: adminToken, body: { email: agent.email } });
      await conforms("PATCH", `/admin/users/${admin.id}/deactivate`, { token: adminToken });
      await conforms("PATCH", `/admin/users/${id}/deactivate`, { token: adminToken });
      await conforms("PATCH", `/admin/users/${id}/activate`, { token: adminToken });
      await conforms("PUT", `/admin/users/${id}/password`, { token: adminToken, body: { password: "another long passphrase" } });
      await conforms("PUT", "/auth/password", { token: agentToken, body: { current_password: "wrong", new_password: "a new long passphrase" } });
      await conforms("GET", "/admin/audit", { token: adminToken });
      await conforms("GET", `/admin/audit?user_id=${id}&type=user.created&limit=5`, { token: adminToken });
      // Sessions: one's own, and an admin's view of an account's.
      const agentSessions = await conforms("GET", "/auth/sessions", { token: agentToken });
      expect(agentSessions.json[0]).toMatchObject({ current: true });
      const spare = await signIn(ctx.request, agent);
      const spareId = (await conforms("GET", "/auth/sessions", { token: spare })).json[0].id as string;
      await conforms("GET", `/admin/users/${agent.id}/sessions`, { token: adminToken });
      await conforms("GET", "/admin/users/999999/sessions", { token: adminToken });
      await conforms("DELETE", `/auth/sessions/${spareId}`, { token: agentToken });
      await conforms("DELETE", `/auth/sessions/${spareId}`, { token: agentToken });
      await conforms("DELETE", "/auth/sessions/not-a-session-id", { token: agentToken });
      const third = await signIn(ctx.request, agent);
      const thirdId = (await conforms("GET", "/auth/sessions", { token: third })).json[0].id as string;
      await conforms("DELETE", `/admin/users/${agent.id}/sessions/${thirdId}`, { token: adminToken });
      await conforms("DELETE", `/admin/users/${agent.id}/sessions/${thirdId}`, { token: adminToken });
      await conforms("POST", "/auth/logout?scope=sideways", { token: agentToken });
      await conforms("POST", "/auth/logout?scope=others", { token: agentToken });
      await conforms("POST", "/auth/logout", { token: agentToken });
      await conforms("DELETE", `/admin/users/${agent.id}/sessions`, { token: adminToken });

      // The tour reached every kind of answer it meant to (a refactor that stops one from happening shows here).
      expect([...seen].sort()).toEqual(["200", "201", "204", "400", "401", "403", "404", "409", "413", "415", "422", "429"]);
    },
    60_000,
  );
});

describe("GET /docs", () => {
  test("/docs and /docs/ are the viewer's page with the docs' own policy; its files are served from moxie", async () => {
    const ctx = createTestApp();
    for (const path of ["/docs", "/docs/"]) {
      const response = await ctx.request("GET", path);
      expect({ path, status: response.status }).toEqual({ path, status: 200 });
      expect(response.headers.get("content-type")).toContain("text/html");
      expect(response.text).toMatch(/<html/i);
      expect(response.text).not.toMatch(/https?:\/\//);
      expect(response.headers.get("content-security-policy")).toContain("script-src 'self'");
      expect(response.headers.get("content-security-policy")).not.toContain("unsafe");
      expectNoLeak(response.text);
    }
    for (const [path, type] of [
      ["/docs/swagger-ui-bundle.js", "text/javascript"],
      ["/docs/swagger-ui.css", "text/css"],
      ["/docs/docs.css", "text/css"],
      ["/docs/init.js", "text/javascript"],
    ] as const) {
      const response = await ctx.request("GET", path);
      expect({ path, status: response.status, type: response.headers.get("content-type") }).toEqual({
        path,
        status: 200,
        type: expect.stringContaining(type),
      });
      const etag = response.headers.get("etag")!;
      expect(etag).toMatch(/^"\w+"$/);
      const again = await ctx.request("GET", path, { headers: { "if-none-match": etag } });
      expect({ path, status: again.status, body: again.text }).toEqual({ path, status: 304, body: "" });
    }
    const init = await ctx.request("GET", "/docs/init.js");
    expect(init.text).toContain('url: "/openapi.json"');
    expect(init.text).toContain("validatorUrl: null");
  });
});

describe("docs turned off", () => {
  test("/openapi.json, /docs and its files are 404, the API itself still answers", async () => {
    const ctx = createTestApp({ docs: false });
    for (const path of ["/openapi.json", "/docs", "/docs/", "/docs/swagger-ui-bundle.js", "/docs/docs.css", "/docs/init.js"]) {
      const response = await ctx.request("GET", path);
      expect({ path, status: response.status }).toEqual({ path, status: 404 });
      expect(response.text).not.toContain("openapi\":");
    }
    expect(ctx.app.routes.some((route) => DOC_ROUTES.has(route.path) || route.path.startsWith("/docs/"))).toBe(false);
    expect((await ctx.request("GET", "/health")).status).toBe(200);
  });
});
