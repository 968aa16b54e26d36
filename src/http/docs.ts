// The API description: /openapi.json (OpenAPI 3) and an interactive page at /docs, as the original had.
import { openapi } from "@elysiajs/openapi";
import packageJson from "../../package.json" with { type: "json" };

export const OPENAPI_PATH = "/openapi.json";
export const DOCS_PATH = "/docs";

export function apiDocs() {
  return openapi({
    path: DOCS_PATH,
    specPath: OPENAPI_PATH,
    documentation: {
      info: {
        title: "moxie",
        version: packageJson.version,
        description: "Accounts and sign-in for the leasing team. Every error body is an object with one field, detail.",
      },
      tags: [
        { name: "auth", description: "Sign in, the current account, own password" },
        { name: "admin", description: "Account management (admin role)" },
        { name: "health", description: "Liveness" },
      ],
      components: {
        securitySchemes: { bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT" } },
      },
    },
    exclude: { paths: [DOCS_PATH, OPENAPI_PATH] },
  });
}
