// CORS as the /health probe answers it, without Elysia: the same origins and the same answers @elysiajs/cors gives every
// other route (cors.ts); a test holds the two to each other.

/** Named on a preflight that does not list the headers it wants. */
export const USUAL_REQUEST_HEADERS = "authorization, content-type, x-request-id";
export const EXPOSED_HEADERS = "X-Total-Count, X-Request-Id, Retry-After";
export const PREFLIGHT_MAX_AGE_SECONDS = 600;

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
