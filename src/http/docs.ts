// The API description: /openapi.json (OpenAPI 3.1, built from the routes themselves) and an interactive
// page at /docs, as the original had. The viewer is a pinned Swagger UI embedded in the binary, so /docs
// works on a host without internet; its pages carry their own Content-Security-Policy (this origin only).
// docs/docs.css and docs/init.js are moxie's own: contrast, sizes and names Swagger UI lacks, and the token.
import { Elysia } from "elysia";
import packageJson from "../../package.json" with { type: "json" };
import { AuditEventListModel, AuditEventModel } from "./models/audit.ts";
import { LoginModel, TokenModel } from "./models/auth.ts";
import {
  AccountChangesModel,
  NewAccountModel,
  PublicUserModel,
  RoleModel,
  SetPasswordModel,
  UserListModel,
} from "./models/accounts.ts";
import { ChangeOwnPasswordModel } from "./models/auth.ts";
import { ErrorModel } from "./models/common.ts";
import { EndedSessionsModel, SessionListModel, SessionModel } from "./models/sessions.ts";
import { buildOpenApiDocument, ERROR_SCHEMA_NAME, type RouteLike } from "./openapi.ts";
import { etagOf, sendStaticFile, type StaticFile } from "./static-file.ts";
import viewerScriptPath from "swagger-ui-dist/swagger-ui-bundle.js" with { type: "file" };
import viewerStylePath from "swagger-ui-dist/swagger-ui.css" with { type: "file" };
import pageHtmlText from "./docs/index.html" with { type: "text" };
import startScriptPath from "./docs/init.js" with { type: "file" };
import themePath from "./docs/docs.css" with { type: "file" };

// bun-types declares every *.html import as an HTMLBundle; with `type: "text"` Bun gives the file's text.
const pageHtml = pageHtmlText as unknown as string;

export const OPENAPI_PATH = "/openapi.json";
export const DOCS_PATH = "/docs";

/**
 * Swagger UI sets element styles from script (allowed by style-src 'self': they are not markup) and shows
 * its icons as data: images. Nothing else is loaded from anywhere but this origin; "try it" calls this API.
 */
export const DOCS_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

const DESCRIPTION = `Accounts and sign-in for the leasing team.

Sign in with \`POST /auth/login\`; send the \`access_token\` it returns as \`Authorization: Bearer <token>\`.
Tokens last \`expires_in\` seconds. Each sign-in is a session (one per device; \`GET /auth/sessions\` lists yours):
\`POST /auth/logout\` ends this session only (\`?scope=others\` the account's other sessions, \`?scope=global\` all of
them and every token of the account), and a password change ends every other session.
The \`/admin\` routes need an account with the admin role.

Request bodies are JSON (\`Content-Type: application/json\`). Every error answer is \`{"detail": "<one sentence>"}\`,
which never repeats a submitted value. Lists are paged with \`limit\` and \`offset\` and give the number of matches
in \`X-Total-Count\`. Times are ISO 8601 in UTC with a \`Z\`, e.g. \`2026-11-30T05:53:04.778Z\`. Every answer carries an
\`X-Request-Id\` (yours, if you sent a well-formed one), also written to the server log.`;

/** The shapes the document names; wherever a route uses one, the document refers to it. */
const NAMED_SCHEMAS = {
  User: PublicUserModel,
  UserList: UserListModel,
  Role: RoleModel,
  NewUser: NewAccountModel,
  UserChanges: AccountChangesModel,
  SetPassword: SetPasswordModel,
  ChangeOwnPassword: ChangeOwnPasswordModel,
  Login: LoginModel,
  Token: TokenModel,
  AuditEvent: AuditEventModel,
  AuditEventList: AuditEventListModel,
  Session: SessionModel,
  SessionList: SessionListModel,
  EndedSessions: EndedSessionsModel,
  [ERROR_SCHEMA_NAME]: ErrorModel,
};

/** The OpenAPI document for these routes (the app's own, at request time). */
export function openApiDocument(routes: readonly RouteLike[]) {
  return buildOpenApiDocument(routes, {
    info: { title: "moxie", version: packageJson.version, description: DESCRIPTION },
    tags: [
      { name: "auth", description: "Sign in, the signed-in account, your own password, your sessions, sign out." },
      { name: "admin", description: "The admin runs the team's accounts and reads the audit trail." },
      { name: "health", description: "Liveness and readiness probes for the process supervisor." },
    ],
    schemas: NAMED_SCHEMAS,
    securitySchemes: {
      bearer: {
        type: "http",
        scheme: "bearer",
        bearerFormat: "JWT",
        description: "The access_token from POST /auth/login.",
      },
    },
    exclude: (path) => path === OPENAPI_PATH || path === DOCS_PATH || path.startsWith(`${DOCS_PATH}/`),
  });
}

async function fileAsset(path: string, contentType: string): Promise<StaticFile> {
  const bytes = await Bun.file(path).bytes();
  return { body: new Blob([bytes], { type: contentType }), contentType, etag: etagOf(bytes) };
}

const hidden = { detail: { hide: true } };

/**
 * Every route of the app this plugin is part of. Elysia points a plugin's getGlobalRoutes at its parent's
 * when the plugin is used (its own openapi plugin reads the routes the same way); the method is protected
 * in the types only.
 */
function everyRoute(plugin: Elysia<any, any, any, any, any, any, any>): RouteLike[] {
  return (plugin as unknown as { getGlobalRoutes(): RouteLike[] }).getGlobalRoutes();
}

export function apiDocs() {
  // Built on first request, when every route is registered; the routes do not change after start.
  let document: string | undefined;
  // The viewer is 2 MB: read from the binary's embedded files on first use, not at every start.
  const assets = new Map<string, Promise<StaticFile>>();
  const asset = (path: string, contentType: string) => {
    let loaded = assets.get(path);
    if (!loaded) assets.set(path, (loaded = fileAsset(path, contentType)));
    return loaded;
  };

  const docs = new Elysia({ name: "api-docs" });
  const serve = async (load: Promise<StaticFile>, set: { headers: Record<string, unknown>; status?: unknown }, ifNoneMatch: string | undefined) =>
    sendStaticFile(await load, DOCS_CONTENT_SECURITY_POLICY, set, ifNoneMatch);

  return docs
    .get(
      OPENAPI_PATH,
      ({ set }) => {
        document ??= JSON.stringify(openApiDocument(everyRoute(docs)));
        set.headers["content-type"] = "application/json; charset=utf-8";
        return document;
      },
      hidden,
    )
    // Elysia answers /docs and /docs/ alike; the page names its files by absolute path, so both work.
    .get(
      DOCS_PATH,
      ({ set }) => {
        set.headers["content-type"] = "text/html; charset=utf-8";
        set.headers["content-security-policy"] = DOCS_CONTENT_SECURITY_POLICY;
        return pageHtml;
      },
      hidden,
    )
    .get(
      `${DOCS_PATH}/swagger-ui-bundle.js`,
      ({ set, headers }) => serve(asset(viewerScriptPath, "text/javascript; charset=utf-8"), set, headers["if-none-match"]),
      hidden,
    )
    .get(
      `${DOCS_PATH}/swagger-ui.css`,
      ({ set, headers }) => serve(asset(viewerStylePath, "text/css; charset=utf-8"), set, headers["if-none-match"]),
      hidden,
    )
    .get(
      `${DOCS_PATH}/docs.css`,
      ({ set, headers }) => serve(asset(themePath, "text/css; charset=utf-8"), set, headers["if-none-match"]),
      hidden,
    )
    .get(
      `${DOCS_PATH}/init.js`,
      ({ set, headers }) => serve(asset(startScriptPath, "text/javascript; charset=utf-8"), set, headers["if-none-match"]),
      hidden,
    );
}
