// One JSON line per request: id, method, path (no query string), status, duration, user. Never headers or bodies.
import { Elysia } from "elysia";
import { authenticatedUserIdOf } from "./guard.ts";
import type { Logger } from "../lib/log.ts";
import { requestIds, type RequestIds } from "./request-ids.ts";

/** The path of a request URL, without the query string (which may carry anything, tokens included). */
function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start === -1) return "/";
  const query = url.indexOf("?", start);
  return query === -1 ? url.slice(start) : url.slice(start, query);
}

/**
 * The request id is set in onRequest, so every answer carries it, errors included. The line is written by a
 * wrapper around Elysia's whole handler rather than in onAfterResponse: that hook costs a setImmediate and an
 * async closure on every request (a sizeable share of /auth/me's framework time, bench/README.md), and the
 * wrapper also sees answers given before any route runs (preflights, 404s). The status and id logged are
 * those of the Response the client gets. `wrap` is Elysia's own higher-order handler hook (marked internal;
 * elysia is pinned to an exact version in package.json, and test/operations.test.ts checks the line).
 */
export function requestLog(log: Logger, idOf: RequestIds = requestIds()) {
  const write = (request: Request, response: Response, at: number) => {
    log.info("request", {
      request_id: response.headers.get("x-request-id") ?? undefined,
      method: request.method,
      path: pathOf(request.url),
      status: response.status,
      duration_ms: Math.round((performance.now() - at) * 100) / 100,
      user_id: authenticatedUserIdOf(request),
    });
  };
  return new Elysia({ name: "request-log" })
    .onRequest(({ request, set }) => {
      set.headers["x-request-id"] = idOf(request);
    })
    .wrap((fn) => {
      const handle = fn as unknown as (request: Request) => Response | Promise<Response>;
      return (request: Request) => {
        const at = performance.now();
        const answer = handle(request);
        if (answer instanceof Response) {
          write(request, answer, at);
          return answer;
        }
        return answer.then((response) => {
          write(request, response, at);
          return response;
        });
      };
    });
}
