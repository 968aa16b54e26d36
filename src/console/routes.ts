// /console/: the admin console, one HTML page with its script and stylesheet, all embedded at build time.
// Its responses carry their own Content-Security-Policy (scripts, styles and fetches from this origin only);
// every other response keeps the API's policy from security-headers.ts.
import { Elysia } from "elysia";
import { consoleScript } from "./bundle.ts" with { type: "macro" };
import pageHtmlText from "./index.html" with { type: "text" };
import stylesheet from "./app.css" with { type: "text" };

// bun-types declares every *.html import as an HTMLBundle (for Bun.serve); with `type: "text"` Bun gives
// the file's text instead, which TypeScript cannot see from the import attribute.
const pageHtml = pageHtmlText as unknown as string;

export const CONSOLE_PATH = "/console/";
/** The console is a client of the API, not part of it: /openapi.json does not list its files. */
const hidden = { detail: { hide: true } };

export const CONSOLE_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

interface Asset {
  body: string;
  contentType: string;
  cacheControl: string;
  etag: string;
}

function asset(body: string, contentType: string, cacheControl: string): Asset {
  return { body, contentType, cacheControl, etag: `"${Bun.hash(body).toString(36)}"` };
}

/** True when the request's If-None-Match names `etag` (a list, or `*`). */
function notModified(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch
    .split(",")
    .map((tag) => tag.trim().replace(/^W\//, ""))
    .some((tag) => tag === etag || tag === "*");
}

export function consoleRoutes() {
  // consoleScript() is a macro: this call is replaced by the script's text when this file is bundled or transpiled.
  const code = asset(consoleScript(), "text/javascript; charset=utf-8", "no-cache");
  const page = asset(pageHtml, "text/html; charset=utf-8", "no-store");
  const style = asset(stylesheet, "text/css; charset=utf-8", "no-cache");

  const serve = (file: Asset, set: { headers: Record<string, unknown>; status?: unknown }, ifNoneMatch?: string) => {
    set.headers["content-type"] = file.contentType;
    set.headers["content-security-policy"] = CONSOLE_CONTENT_SECURITY_POLICY;
    set.headers["cache-control"] = file.cacheControl;
    if (file.cacheControl === "no-store") return file.body;
    set.headers.etag = file.etag;
    if (notModified(ifNoneMatch, file.etag)) {
      set.status = 304;
      return "";
    }
    return file.body;
  };

  return new Elysia()
    .get("/console/", ({ request, set, redirect }) => {
      // Elysia matches /console and /console/ alike; /console/ is the one address of the page.
      if (!new URL(request.url).pathname.endsWith("/")) return redirect(CONSOLE_PATH, 308);
      return serve(page, set);
    }, hidden)
    .get("/console/app.js", ({ set, headers }) => serve(code, set, headers["if-none-match"]), hidden)
    .get("/console/app.css", ({ set, headers }) => serve(style, set, headers["if-none-match"]), hidden);
}
