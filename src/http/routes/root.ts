// GET /: someone who opens the server's address finds where to go instead of a bare 404.
// It names only what this server serves: no console or docs link when they are turned off.
import { Elysia, t } from "elysia";
import { CONSOLE_PATH } from "./console.ts";
import type { Settings } from "../../settings/index.ts";
import { DOCS_PATH, OPENAPI_PATH } from "../docs.ts";

const RootLinksModel = t.Object(
  {
    service: t.Literal("moxie"),
    console: t.Optional(t.String({ description: "The admin console (CONSOLE=true)." })),
    docs: t.Optional(t.String({ description: "The interactive API docs (DOCS=true)." })),
    openapi: t.Optional(t.String({ description: "This OpenAPI document (DOCS=true)." })),
    health: t.String({ description: "The liveness check." }),
  },
  { examples: [{ service: "moxie", console: "/console/", docs: "/docs", openapi: "/openapi.json", health: "/health" }] },
);

export function rootRoute(settings: Pick<Settings, "docs" | "console">) {
  const links = {
    service: "moxie" as const,
    ...(settings.console && { console: CONSOLE_PATH }),
    ...(settings.docs && { docs: DOCS_PATH, openapi: OPENAPI_PATH }),
    health: "/health",
  };
  return new Elysia().get("/", () => links, {
    response: { 200: RootLinksModel },
    detail: {
      operationId: "getServiceIndex",
      summary: "Where to go from the server's address",
      description:
        "Names this service and the paths a person opening the server's address is looking for: the admin console, " +
        "the API docs and this document, and the health check. Only what this server serves is listed: the console " +
        "and the docs are left out when CONSOLE=false or DOCS=false.",
      tags: ["health"],
    },
  });
}
