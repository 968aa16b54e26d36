// CORS for the browser frontend: only the configured origins, with credentials, any method and header.
// One list of origins answers for every response: @elysiajs/cors for Elysia's routes, and the same rules in
// `corsPolicy` (cors-policy.ts) for the /health probe, which runs ahead of Elysia's hooks.
import { cors } from "@elysiajs/cors";
import { Elysia } from "elysia";
import { EXPOSED_HEADERS, PREFLIGHT_MAX_AGE_SECONDS, USUAL_REQUEST_HEADERS } from "./cors-policy.ts";

/**
 * The policy for Elysia's routes, through @elysiajs/cors. `corsPolicy` above answers the /health fast path,
 * which runs ahead of Elysia, from the same list; a test holds the two to the same answers.
 */
export function corsFor(origins: string[]) {
  // An empty list would make @elysiajs/cors reflect every origin; match exact strings instead, and none.
  const allowed = new Set(origins);
  return (
    new Elysia({ name: "cors" })
      // With credentials a literal "*" is no wildcard to browsers, so "any header" means echoing what the
      // preflight asks for. @elysiajs/cors can echo too, but then it lists every request's own headers on
      // every response, which costs a header walk per request; doing it for preflights only is enough.
      .onRequest(({ request, set }) => {
        if (request.method !== "OPTIONS") return;
        const asked = request.headers.get("access-control-request-headers");
        if (asked) set.headers["access-control-allow-headers"] = asked;
      })
      .use(
        cors({
          origin: (request) => allowed.has(request.headers.get("origin") ?? ""),
          credentials: true,
          methods: true, // echoes the preflight's requested method
          allowedHeaders: USUAL_REQUEST_HEADERS,
          exposeHeaders: EXPOSED_HEADERS,
          maxAge: PREFLIGHT_MAX_AGE_SECONDS,
        }),
      )
  );
}
