// GET /health as Bun.serve's own route, ahead of Elysia: the liveness probe, answered from the moment the server
// listens (server.ts), before the Elysia app is built. No Elysia here.
import type { Logger } from "../lib/log.ts";
import type { Settings } from "../settings/index.ts";
import { corsPolicy, type CorsPolicy } from "./cors-policy.ts";
import { SECURITY_HEADERS } from "./headers.ts";
import type { RequestIds } from "./request-ids.ts";

export const HEALTHY = { status: "ok" as const };

/**
 * GET /health for Bun.serve's own router, ahead of Elysia: liveness probes are frequent and this answer
 * never changes, so it skips Elysia's per-request work (about three times the cost, bench/README.md) but
 * not the edge's contract: the same security headers, X-Request-Id and CORS as every other answer (the
 * headers and id from what the Elysia hooks use, CORS from `corsPolicy`, which a test holds to
 * @elysiajs/cors's answers). Probes are logged at debug level only, so a probe every few seconds does not
 * bury the request log. The Elysia route (routes/health.ts) answers everything else (HEAD, app.handle in tests);
 * OPTIONS (preflight) goes to @elysiajs/cors as on any path.
 */
export function fastHealthRoute(options: {
  headers: Record<string, string>;
  idOf: RequestIds;
  cors: CorsPolicy;
  log: Logger;
  /** LOG_LEVEL is debug: only then is a line built at all. */
  logProbes: boolean;
}) {
  const { idOf, cors, log, logProbes } = options;
  const body = JSON.stringify(HEALTHY);
  const base = { ...options.headers, "content-type": "application/json;charset=utf-8" };
  return {
    "/health": {
      GET: (request: Request) => {
        const id = idOf(request);
        // Vary is in the literal so the object keeps one shape; cors.apply sets it again and adds the rest.
        const responseHeaders: Record<string, string> = { ...base, "x-request-id": id, vary: "Origin" };
        cors.apply(request, responseHeaders);
        if (logProbes) log.debug("request", { request_id: id, method: request.method, path: "/health", status: 200 });
        return new Response(body, { headers: responseHeaders });
      },
    },
  };
}

/** The /health route for these settings: the security headers, the request ids `idOf` gives, CORS for CORS_ORIGINS. */
export function healthProbe(settings: Pick<Settings, "corsOrigins" | "logLevel">, log: Logger, idOf: RequestIds) {
  return fastHealthRoute({ headers: SECURITY_HEADERS, idOf, cors: corsPolicy(settings.corsOrigins), log, logProbes: settings.logLevel === "debug" });
}
