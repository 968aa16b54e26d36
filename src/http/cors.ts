// CORS for the browser frontend: only the configured origins, with credentials, any method and header.
// One policy object answers for every response: the Elysia hook below and the /health fast path (src/health.ts).
import { Elysia } from "elysia";

/** Named on a preflight that does not list the headers it wants. */
const USUAL_REQUEST_HEADERS = "authorization, content-type, x-request-id";
const EXPOSED_HEADERS = "X-Total-Count, X-Request-Id, Retry-After";
const PREFLIGHT_MAX_AGE_SECONDS = "600";

export interface CorsPolicy {
  /** Adds this request's CORS headers to `headers`: Vary always, the allow headers for a listed origin only. */
  apply(request: Request, headers: Record<string, string | number>): void;
  /** The 204 answer to a preflight (OPTIONS), on any path. */
  preflight(request: Request, headers: Record<string, string | number>): Response;
}

export function corsPolicy(origins: string[]): CorsPolicy {
  // Exact strings only: no patterns, no "*", and an empty list allows no origin at all.
  const allowed = new Set(origins);
  const apply: CorsPolicy["apply"] = (request, headers) => {
    // Every answer depends on Origin, so caches must key on it, whether or not this one is allowed.
    headers.vary = "Origin";
    const origin = request.headers.get("origin");
    if (origin === null || !allowed.has(origin)) return;
    headers["access-control-allow-origin"] = origin;
    headers["access-control-allow-credentials"] = "true";
    headers["access-control-expose-headers"] = EXPOSED_HEADERS;
  };
  return {
    apply,
    preflight(request, headers) {
      apply(request, headers);
      if (headers["access-control-allow-origin"] !== undefined) {
        // With credentials a literal "*" is no wildcard to browsers: "any method and header" means echoing
        // what the preflight asks for.
        headers["access-control-allow-methods"] = request.headers.get("access-control-request-method") ?? "GET";
        headers["access-control-allow-headers"] = request.headers.get("access-control-request-headers") ?? USUAL_REQUEST_HEADERS;
        headers["access-control-max-age"] = PREFLIGHT_MAX_AGE_SECONDS;
      }
      return new Response(null, { status: 204, headers: headers as Record<string, string> });
    },
  };
}

/**
 * The policy as an Elysia hook. A plain function rather than @elysiajs/cors: that plugin also wrote
 * Access-Control-Allow-Methods and three static CORS headers on every response, allowed or not, which cost
 * a measurable share of a request (bench/README.md) and told nothing to a caller without an allowed origin.
 */
export function corsFor(policy: CorsPolicy) {
  return new Elysia({ name: "cors" }).onRequest(({ request, set }) => {
    if (request.method === "OPTIONS") return policy.preflight(request, set.headers);
    policy.apply(request, set.headers);
  });
}
