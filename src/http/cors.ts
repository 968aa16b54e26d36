// CORS for the browser frontend: only the configured origins, with credentials, any method and header.
// One list of origins answers for every response: @elysiajs/cors for Elysia's routes, and the same rules in
// `corsPolicy` for the /health fast path (src/health.ts), which runs ahead of Elysia's hooks.
import { cors } from "@elysiajs/cors";
import { Elysia } from "elysia";

/** Named on a preflight that does not list the headers it wants. */
const USUAL_REQUEST_HEADERS = "authorization, content-type, x-request-id";
const EXPOSED_HEADERS = "X-Total-Count, X-Request-Id, Retry-After";
const PREFLIGHT_MAX_AGE_SECONDS = 600;

export interface CorsPolicy {
  /** Adds to `headers` exactly the CORS headers `corsFor` (@elysiajs/cors) gives a simple request. */
  apply(request: Request, headers: Record<string, string | number>): void;
}

/**
 * The /health fast path's CORS, the same answer @elysiajs/cors gives every other route (a test compares them):
 * Vary, and Access-Control-Allow-Origin for a listed origin only. The plugin also sends its static headers
 * (credentials, exposed and allowed headers, the method) to every origin; without Allow-Origin they grant nothing.
 */
export function corsPolicy(origins: string[]): CorsPolicy {
  // Exact strings only: no patterns, no "*", and an empty list allows no origin at all.
  const allowed = new Set(origins);
  return {
    apply(request, headers) {
      headers["access-control-allow-credentials"] = "true";
      headers["access-control-expose-headers"] = EXPOSED_HEADERS;
      headers["access-control-allow-headers"] = USUAL_REQUEST_HEADERS;
      headers["access-control-allow-methods"] = request.method;
      // Every answer depends on Origin, so caches must key on it, whether or not this one is allowed.
      headers.vary = "Origin";
      const origin = request.headers.get("origin");
      if (origin !== null && allowed.has(origin)) headers["access-control-allow-origin"] = origin;
    },
  };
}

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
