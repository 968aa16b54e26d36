// Liveness and readiness. /health never touches the database, so a stuck disk does not get a healthy
// process restarted; /ready checks the database is there, current and writable, and its disk has room.
import { Elysia, t } from "elysia";
import type { Db } from "../../db/index.ts";
import type { CorsPolicy } from "../cors.ts";
import { documented } from "../openapi.ts";
import type { RequestIds } from "../request-log.ts";
import type { Logger } from "../../lib/log.ts";
import { readinessCheck } from "../../health/readiness.ts";

const HEALTHY = { status: "ok" as const };

export function healthRoutes() {
  // A handler, not the value itself: Elysia refuses a static value that has a response schema (422).
  return new Elysia().get("/health", () => HEALTHY, {
    response: { 200: t.Object({ status: t.Literal("ok") }) },
    detail: {
      summary: "Liveness",
      description:
        "Answers as long as the process serves HTTP; it never touches the database, so a slow disk does not get a " +
        "healthy process restarted. Use /ready to know whether requests can be served.",
      tags: ["health"],
    },
  });
}

/**
 * GET /health for Bun.serve's own router, ahead of Elysia: liveness probes are frequent and this answer
 * never changes, so it skips Elysia's per-request work (about three times the cost, bench/README.md) but
 * not the edge's contract: the same security headers, X-Request-Id and CORS as every other answer (the
 * headers and id from what the Elysia hooks use, CORS from `corsPolicy`, which a test holds to
 * @elysiajs/cors's answers). Probes are logged at debug level only, so a probe every few seconds does not
 * bury the request log. The Elysia route above answers everything else (HEAD, app.handle in tests);
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

export function readinessRoutes({ db, path }: { db: Db; path: string }) {
  const databaseProblem = readinessCheck(db, path);
  return new Elysia().get(
    "/ready",
    async ({ status }) => {
      const problem = await databaseProblem();
      return problem ? status(503, { status: "unavailable" as const, detail: problem }) : { status: "ready" as const };
    },
    {
      response: {
        200: t.Object({ status: t.Literal("ready") }),
        503: documented(t.Object({ status: t.Literal("unavailable"), detail: t.String() }), {
          description:
            "Not ready: the database is missing, replaced, locked or read-only, full, or behind this binary's migrations; " +
            "`detail` says which. A probe asks again on its own schedule.",
        }),
      },
      detail: {
        summary: "Readiness",
        description:
          "200 when the database file is the one opened at start, answers, has every migration applied, can take " +
          "the write lock within 200 ms and its filesystem has at least 64 KiB free (read with statfs; nothing is " +
          "written); otherwise 503 with the reason in words (no paths, no SQL).",
        tags: ["health"],
      },
    },
  );
}
