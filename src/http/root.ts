// GET /: someone who opens the server's address finds where to go instead of a bare 404.
// It names only what this server serves: no console or docs link when they are turned off.
import { Elysia } from "elysia";
import { CONSOLE_PATH } from "../console/routes.ts";
import type { Settings } from "../settings.ts";
import { DOCS_PATH, OPENAPI_PATH } from "./docs.ts";

export function rootRoute(settings: Pick<Settings, "docs" | "console">) {
  const links: Record<string, string> = { service: "moxie" };
  if (settings.console) links.console = CONSOLE_PATH;
  if (settings.docs) {
    links.docs = DOCS_PATH;
    links.openapi = OPENAPI_PATH;
  }
  links.health = "/health";
  return new Elysia().get("/", () => links, {
    detail: { summary: "Where to go: the console, the API docs and the health check (those enabled)", tags: ["health"] },
  });
}
