// One JSON line per request: id, method, path (no query string), status, duration, user. Never headers or bodies.
import { Elysia } from "elysia";
import { authenticatedUserIdOf } from "../auth/guard.ts";
import type { Logger } from "../log.ts";

/** An incoming X-Request-Id is kept only if it cannot smuggle anything into a log line. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The X-Request-Id of a request: the caller's if sane, else a new one. */
export type RequestIds = (request: Request) => string;

/** One source of request ids per app, shared by the request log and the /health fast path (src/health.ts). */
export function requestIds(): RequestIds {
  // A random prefix per process and a counter: unique enough to find a request, far cheaper than a UUID each.
  const prefix = Buffer.from(crypto.getRandomValues(new Uint8Array(6))).toString("hex") + "-";
  let counter = 0;
  return (request) => {
    const incoming = request.headers.get("x-request-id");
    return incoming !== null && SANE_REQUEST_ID.test(incoming) ? incoming : prefix + (++counter).toString(36);
  };
}

export function requestLog(log: Logger, idOf: RequestIds = requestIds()) {
  const started = new WeakMap<Request, { id: string; at: number }>();
  return new Elysia({ name: "request-log" })
    .onRequest(({ request, set }) => {
      const id = idOf(request);
      set.headers["x-request-id"] = id;
      started.set(request, { id, at: performance.now() });
    })
    .onAfterResponse({ as: "global" }, ({ request, path, set }) => {
      const start = started.get(request);
      log.info("request", {
        request_id: start?.id,
        method: request.method,
        path,
        status: typeof set.status === "number" ? set.status : 200,
        duration_ms: start ? Math.round((performance.now() - start.at) * 100) / 100 : undefined,
        user_id: authenticatedUserIdOf(request),
      });
    });
}
