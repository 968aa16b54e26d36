// /console/: the admin console, one HTML page with its script and stylesheet, all embedded at build time.
// Its responses carry their own Content-Security-Policy (scripts, styles and fetches from this origin only);
// every other response keeps the API's policy from security-headers.ts.
import { Elysia } from "elysia";
import { etagOf, sendStaticFile, type StaticFile } from "../static-file.ts";
import { consoleScript, consoleStylesheet } from "../../console/bundle.ts" with { type: "macro" };
import pageHtmlText from "../../console/index.html" with { type: "text" };

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

function staticFile(body: string, contentType: string): StaticFile {
  return { body, contentType, etag: etagOf(body) };
}

export function consoleRoutes() {
  // Macros: each call is replaced by its text when this file is bundled or transpiled. Each file's ETag is computed
  // at its first request, not at start.
  let code: StaticFile | undefined;
  let style: StaticFile | undefined;
  const script = () => (code ??= staticFile(consoleScript(), "text/javascript; charset=utf-8"));
  const stylesheet = () => (style ??= staticFile(consoleStylesheet(), "text/css; charset=utf-8"));

  return new Elysia()
    .get("/console/", ({ request, set, redirect }) => {
      // Elysia matches /console and /console/ alike; /console/ is the one address of the page.
      if (!new URL(request.url).pathname.endsWith("/")) return redirect(CONSOLE_PATH, 308);
      // The page itself is not kept (no-store); its script and stylesheet are revalidated by ETag.
      set.headers["content-type"] = "text/html; charset=utf-8";
      set.headers["content-security-policy"] = CONSOLE_CONTENT_SECURITY_POLICY;
      set.headers["cache-control"] = "no-store";
      return pageHtml;
    }, hidden)
    .get("/console/app.js", ({ set, headers }) => sendStaticFile(script(), CONSOLE_CONTENT_SECURITY_POLICY, set, headers["if-none-match"]), hidden)
    .get("/console/app.css", ({ set, headers }) => sendStaticFile(stylesheet(), CONSOLE_CONTENT_SECURITY_POLICY, set, headers["if-none-match"]), hidden);
}
