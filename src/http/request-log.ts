// One JSON line per request: id, method, path (no query string), status, duration, user. Never headers or bodies.
import { Elysia } from "elysia";
import { authenticatedUserIdOf } from "../auth/guard.ts";
import type { Logger } from "../log.ts";

/** An incoming X-Request-Id is kept only if it cannot smuggle anything into a log line. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestLog(log: Logger) {
  const started = new WeakMap<Request, { id: string; at: number }>();
  // A random prefix per process and a counter: unique enough to find a request, far cheaper than a UUID each.
  const prefix = Buffer.from(crypto.getRandomValues(new Uint8Array(6))).toString("hex");
  let counter = 0;
  return new Elysia({ name: "request-log" })
    .onRequest(({ request, set }) => {
      const incoming = request.headers.get("x-request-id");
      const id = incoming !== null && SANE_REQUEST_ID.test(incoming) ? incoming : `${prefix}-${(++counter).toString(36)}`;
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
