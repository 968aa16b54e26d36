// The OpenAPI 3.1 document, built from the app's own route table: each route's TypeBox schemas (body,
// query, params, response) and its `detail` are the only source, so the document cannot drift from the
// routes. What every route gets from a shared mechanism (the JSON body reader, validation, the error
// handler) is added here once, as those mechanisms answer it.
import { Kind, type TSchema } from "@sinclair/typebox";

/** A route as `app.routes` lists it; only what the document needs. */
export interface RouteLike {
  method: string;
  path: string;
  hooks?: {
    body?: unknown;
    query?: unknown;
    params?: unknown;
    response?: unknown;
    detail?: Record<string, unknown>;
  };
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** Response headers moxie sends, described once. Routes name them with `documented(..., { headers })`. */
export const RESPONSE_HEADERS = {
  "X-Total-Count": {
    description: "How many items match the filters, before limit and offset.",
    schema: { type: "integer", minimum: 0 },
  },
  "Retry-After": {
    description: "Seconds to wait before trying again.",
    schema: { type: "integer", minimum: 1 },
  },
  "WWW-Authenticate": {
    description: "The authentication scheme to use: always `Bearer`.",
    schema: { type: "string", const: "Bearer" },
  },
  "X-Request-Id": {
    description:
      "The request's id, also in the server's log line for it: the X-Request-Id the client sent when it is 1 to 128 " +
      "of `A-Z a-z 0-9 . _ : -`, otherwise one the server made. Sent with every answer.",
    schema: { type: "string", pattern: "^[A-Za-z0-9._:-]{1,128}$" },
  },
} as const satisfies Record<string, JsonObject>;
export type ResponseHeaderName = keyof typeof RESPONSE_HEADERS;

/** What the document says about one response besides its body schema. */
export interface ResponseDocumentation {
  description?: string;
  headers?: Exclude<ResponseHeaderName, typeof EVERY_ANSWER_HEADER>[];
}

/** Sent with every answer by the request log's wrapper and the /health probe: declared on every response. */
const EVERY_ANSWER_HEADER = "X-Request-Id";

// Symbol keys: TypeBox and Elysia ignore them when validating, and JSON never sees them.
const RESPONSE_DOCUMENTATION = Symbol("moxie.responseDocumentation");
const DOCUMENTED_AS = Symbol("moxie.documentedAs");

/**
 * `schema` (a copy of it: one model serves many statuses) with a description and the headers this
 * response carries: `429: documented(ErrorModel, { headers: ["Retry-After"] })`.
 */
export function documented<T extends TSchema>(schema: T, documentation: ResponseDocumentation): T {
  return { ...schema, [RESPONSE_DOCUMENTATION]: documentation };
}

/**
 * `schema` as validated, described in the document as `shown`: a path id is checked as a string of digits
 * (so "0x1" or "1e0" never coerce to a number) but a client sends it as the integer it is. `false` is the
 * schema no value meets (a field that is always refused), which generators type as `never`.
 */
export function documentedAs<T extends TSchema>(schema: T, shown: JsonObject | false): T {
  return { ...schema, [DOCUMENTED_AS]: shown };
}

export interface DocumentOptions {
  info: JsonObject;
  tags: JsonObject[];
  /** Named schemas: wherever a route's schema is one of these, the document refers to it by name. */
  schemas: Record<string, TSchema>;
  securitySchemes: JsonObject;
  /** Paths served but not part of the API (the docs themselves). */
  exclude: (path: string) => boolean;
}

/**
 * The body of every error (the error handler's one shape). Named ErrorResponse, not Error: generators make a type of
 * each schema (`export type Error = ...`), which would shadow the language's own Error in the client's code.
 */
export const ERROR_SCHEMA_NAME = "ErrorResponse";
const ERROR_REF = { $ref: `#/components/schemas/${ERROR_SCHEMA_NAME}` };

/** Answers given by the shared mechanisms, not by the route: added to every route they apply to. */
const BODY_RESPONSES = {
  "400": "The body is not acceptable JSON: malformed, not UTF-8, duplicate or prototype keys, nested too deeply.",
  "413": "The body is larger than the configured limit (BODY_LIMIT_BYTES).",
  "415": "The body is not sent as `Content-Type: application/json`.",
} as const;
const VALIDATION_RESPONSE = "The request does not match the schema; `detail` names the first field at fault, never its value.";
/** Every change is one SQLite transaction: past the busy timeout, or on a full disk, nothing is written. */
const WRITE_UNAVAILABLE_RESPONSE =
  "Busy (the password-hashing queue is full, or the database is busy past its timeout) or the disk is full: nothing " +
  "was changed; try again as Retry-After says.";
const WRITING_METHODS = new Set(["post", "put", "patch", "delete"]);
const SERVER_ERROR_RESPONSE = "An unexpected failure; logged on the server with the request id, never described to the client.";

const DEFAULT_DESCRIPTIONS: Record<string, string> = {
  "200": "OK.",
  "201": "Created.",
  "204": "Done; no body.",
  "401": "Not signed in: no token, or an invalid, expired or revoked one.",
  "403": "Signed in, but not allowed.",
  "404": "No such account.",
  "409": "Conflicts with the current state.",
  "422": VALIDATION_RESPONSE,
  "429": "Too many attempts; wait as Retry-After says.",
  "503": "The server is busy; try again as Retry-After says.",
};

const OPERATION_FIELDS = ["operationId", "summary", "description", "tags", "security", "deprecated", "externalDocs"] as const;

/** The whole document for `routes`; `servers` is relative so it is right behind any host name. */
export function buildOpenApiDocument(routes: readonly RouteLike[], options: DocumentOptions): JsonObject {
  const names = new Map<string, string>();
  const plain: Record<string, Json> = {};
  for (const [name, schema] of Object.entries(options.schemas)) {
    plain[name] = toJsonSchema(schema);
    const key = canonical(plain[name]!);
    // Two names for one shape would make every reference to it ambiguous.
    if (names.has(key)) throw new Error(`schemas ${names.get(key)} and ${name} are the same shape`);
    names.set(key, name);
  }
  const named = (schema: Json): Json => referTo(schema, names, true);
  const schemas: JsonObject = {};
  for (const [name, schema] of Object.entries(plain)) schemas[name] = referTo(schema, names, false);

  const paths: Record<string, JsonObject> = {};
  const operationIds = new Map<string, string>();
  for (const route of routes) {
    const method = route.method.toLowerCase();
    const hooks = route.hooks ?? {};
    if (method === "options" || hooks.detail?.hide === true || options.exclude(route.path)) continue;
    const path = route.path.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, "{$1}");
    const operation = operationFor(route, path, named);
    // A client generator makes one function per operationId: two alike would make one of them unreachable.
    const id = operation.operationId as string;
    if (operationIds.has(id)) throw new Error(`operationId ${id} is used by ${operationIds.get(id)} and ${method.toUpperCase()} ${path}`);
    operationIds.set(id, `${method.toUpperCase()} ${path}`);
    (paths[path] ??= {})[method] = operation;
  }

  return {
    openapi: "3.1.0",
    info: options.info,
    servers: [{ url: "/", description: "This server" }],
    tags: options.tags,
    paths,
    components: {
      schemas,
      headers: RESPONSE_HEADERS as unknown as JsonObject,
      securitySchemes: options.securitySchemes,
    },
  };
}

function operationFor(route: RouteLike, path: string, named: (schema: Json) => Json): JsonObject {
  const hooks = route.hooks ?? {};
  const detail = hooks.detail ?? {};
  const operation: JsonObject = { operationId: derivedOperationId(route.method, path) };
  for (const field of OPERATION_FIELDS) if (detail[field] !== undefined) operation[field] = detail[field] as Json;
  // An open route says so with an empty list: there is no document-wide security for it to inherit.
  operation.security ??= [];

  const parameters: Json[] = [];
  const pathSchemas = ((hooks.params ? (toJsonSchema(hooks.params) as JsonObject).properties : undefined) ?? {}) as JsonObject;
  for (const [, name] of path.matchAll(/\{([^}]+)\}/g)) {
    parameters.push(parameter(name!, "path", true, named(pathSchemas[name!] ?? { type: "string" })));
  }
  if (hooks.query) {
    const query = toJsonSchema(hooks.query) as JsonObject;
    const required = new Set((query.required as string[] | undefined) ?? []);
    for (const [name, schema] of Object.entries((query.properties as JsonObject | undefined) ?? {})) {
      parameters.push(parameter(name, "query", required.has(name), named(schema)));
    }
  }
  if (parameters.length > 0) operation.parameters = parameters;

  if (hooks.body) {
    const body = toJsonSchema(hooks.body) as JsonObject;
    const media: JsonObject = { schema: named(body) };
    // The viewer fills "try it" with this; the schema keeps the full list.
    if (Array.isArray(body.examples) && body.examples.length > 0) media.example = body.examples[0]!;
    operation.requestBody = { required: true, content: { "application/json": media } };
  }

  const responses: Record<string, Json> = {};
  for (const [status, schema] of Object.entries(responseSchemas(hooks.response))) {
    responses[status] = responseFor(status, schema, named);
  }
  const fallback = (status: string, description: string) => {
    responses[status] ??= { description, content: { "application/json": { schema: ERROR_REF } } };
  };
  if (hooks.body) for (const [status, description] of Object.entries(BODY_RESPONSES)) fallback(status, description);
  if (hooks.body || hooks.query || hooks.params) fallback("422", VALIDATION_RESPONSE);
  if (WRITING_METHODS.has(route.method.toLowerCase()) && responses["503"] === undefined) {
    responses["503"] = {
      description: WRITE_UNAVAILABLE_RESPONSE,
      headers: { "Retry-After": headerRef("Retry-After") },
      content: { "application/json": { schema: ERROR_REF } },
    };
  }
  fallback("500", SERVER_ERROR_RESPONSE);
  for (const response of Object.values(responses) as JsonObject[]) {
    response.headers = { ...(response.headers as JsonObject | undefined), [EVERY_ANSWER_HEADER]: headerRef(EVERY_ANSWER_HEADER) };
  }
  operation.responses = Object.fromEntries(Object.entries(responses).sort(([a], [b]) => a.localeCompare(b)));
  return operation;
}

function headerRef(name: ResponseHeaderName): JsonObject {
  return { $ref: `#/components/headers/${name}` };
}

function parameter(name: string, where: "path" | "query", required: boolean, schema: Json): JsonObject {
  const { description, ...rest } = schema as JsonObject;
  return {
    name,
    in: where,
    required,
    ...(description !== undefined && { description }),
    schema: description === undefined ? schema : rest,
  };
}

/** A route's `response` option as status → schema (a lone schema is the 200). */
function responseSchemas(response: unknown): Record<string, TSchema> {
  if (!response || typeof response !== "object") return {};
  if (Kind in response) return { "200": response as unknown as TSchema };
  return response as Record<string, TSchema>;
}

function responseFor(status: string, schema: TSchema, named: (schema: Json) => Json): JsonObject {
  const documentation = (schema as { [RESPONSE_DOCUMENTATION]?: ResponseDocumentation })[RESPONSE_DOCUMENTATION] ?? {};
  const answer: JsonObject = {
    description: documentation.description ?? DEFAULT_DESCRIPTIONS[status] ?? `Status ${status}.`,
  };
  if (documentation.headers?.length) answer.headers = Object.fromEntries(documentation.headers.map((name) => [name, headerRef(name)]));
  // t.Void / t.Undefined: nothing is sent.
  const kind = schema[Kind];
  if (kind !== "Void" && kind !== "Undefined") {
    answer.content = { "application/json": { schema: named(toJsonSchema(schema)) } };
  }
  return answer;
}

/**
 * "GET /admin/users/{id}" → "getAdminUsersById", as stable as the path: for a route whose `detail` names no
 * operationId. Every route of moxie's names one (a client's function name: `listUsers`, not `getAdminUsers`);
 * test/openapi.test.ts holds them to it.
 */
export function derivedOperationId(method: string, path: string): string {
  const words = path
    .split("/")
    .filter(Boolean)
    .map((part) => (part.startsWith("{") ? `by ${part.slice(1, -1)}` : part))
    .flatMap((part) => part.split(/[^A-Za-z0-9]+/))
    .filter(Boolean);
  return method.toLowerCase() + words.map((word) => word[0]!.toUpperCase() + word.slice(1)).join("");
}

/** Keywords whose value is a map of name → schema, an array of schemas, or one schema. */
const SCHEMA_MAPS = new Set(["properties", "patternProperties", "$defs"]);
const SCHEMA_ARRAYS = new Set(["anyOf", "oneOf", "allOf", "prefixItems"]);
const SCHEMA_VALUES = new Set(["items", "not", "contains"]);
/**
 * Not part of the description: TypeBox's `error` (the validation sentence), OpenAPI 3.0's `nullable`, and
 * `additionalProperties`, which Elysia writes into a schema when it first compiles the route (so it would
 * come and go with the order of requests). Unknown body fields are ignored, and responses are cut to their schema.
 */
const DROPPED_KEYWORDS = new Set(["error", "nullable", "additionalProperties"]);

/**
 * A TypeBox schema (as Elysia holds it) as a JSON Schema 2020-12 object: symbol keys dropped, Elysia's
 * "integer or integer-looking string" (its query coercion) as the integer it is on the wire, unions of
 * literals as an enum, `X | null` as a type list.
 */
export function toJsonSchema(schema: unknown): Json {
  if (!schema || typeof schema !== "object" || Array.isArray(schema)) return schema as Json;
  const shown = (schema as { [DOCUMENTED_AS]?: JsonObject | false })[DOCUMENTED_AS];
  if (shown !== undefined) return shown;
  const source = schema as Record<string, unknown>;

  if (Array.isArray(source.anyOf)) {
    const integer = source.anyOf.find((branch) => (branch as JsonObject).type === "integer");
    const coercion = source.anyOf.find((branch) => (branch as JsonObject).type === "string" && (branch as JsonObject).format === "integer");
    if (source.anyOf.length === 2 && integer && coercion) return toJsonSchema(integer);
  }

  const out: JsonObject = {};
  for (const [key, value] of Object.entries(source)) {
    if (DROPPED_KEYWORDS.has(key)) continue;
    if (SCHEMA_MAPS.has(key) && value && typeof value === "object") {
      out[key] = Object.fromEntries(Object.entries(value).map(([name, child]) => [name, toJsonSchema(child)]));
    } else if (SCHEMA_ARRAYS.has(key) && Array.isArray(value)) {
      out[key] = value.map(toJsonSchema);
    } else if (SCHEMA_VALUES.has(key)) {
      out[key] = toJsonSchema(value);
    } else {
      out[key] = structuredClone(value) as Json;
    }
  }

  const branches = out.anyOf as JsonObject[] | undefined;
  if (branches && branches.length > 0) {
    const { anyOf: _anyOf, ...rest } = out;
    // "admin" | "agent" → enum, which every tool renders as a choice.
    const type = branches[0]!.type;
    if (branches.every((branch) => branch.const !== undefined && branch.type === type && Object.keys(branch).length === 2)) {
      return { ...rest, type: type!, enum: branches.map((branch) => branch.const!) };
    }
    // T | null → type: [T, "null"] when T is one plain type (an enum or const would have to list null too).
    const nonNull = branches.filter((branch) => !(branch.type === "null" && Object.keys(branch).length === 1));
    const only = nonNull[0];
    if (branches.length === 2 && nonNull.length === 1 && typeof only!.type === "string" && only!.enum === undefined && only!.const === undefined) {
      return { ...rest, ...only!, type: [only!.type, "null"] };
    }
  }
  return out;
}

/** `schema` with every subschema that is one of the named ones replaced by a $ref to it. */
function referTo(schema: Json, names: Map<string, string>, atTop: boolean): Json {
  if (!schema || typeof schema !== "object") return schema;
  if (Array.isArray(schema)) return schema.map((item) => referTo(item, names, true));
  if (atTop) {
    const name = names.get(canonical(schema));
    if (name) return { $ref: `#/components/schemas/${name}` };
  }
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(schema)) {
    if (SCHEMA_MAPS.has(key) && value && typeof value === "object" && !Array.isArray(value)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([name, child]) => [name, referTo(child, names, true)]));
    } else if (SCHEMA_ARRAYS.has(key) || SCHEMA_VALUES.has(key)) {
      out[key] = referTo(value, names, true);
    } else {
      out[key] = value;
    }
  }
  return out;
}

/** JSON with sorted keys: two schemas built the same way compare equal whatever their key order. */
function canonical(value: Json): string {
  if (!value || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  return `{${Object.keys(value)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${canonical(value[key]!)}`)
    .join(",")}}`;
}
