// Liveness and readiness. /health never touches the database, so a stuck disk does not get a healthy
// process restarted; /ready checks the database is there, current and writable, and its disk has room.
import { Elysia, t } from "elysia";
import type { Db } from "../../db/index.ts";
import { documented } from "../openapi.ts";
import { readinessCheck } from "../../health/readiness.ts";
import { HEALTHY } from "../health-probe.ts";


export function healthRoutes() {
  // A handler, not the value itself: Elysia refuses a static value that has a response schema (422).
  return new Elysia().get("/health", () => HEALTHY, {
    response: { 200: t.Object({ status: t.Literal("ok") }) },
    detail: {
      operationId: "getHealth",
      summary: "Liveness",
      description:
        "Answers as long as the process serves HTTP; it never touches the database, so a slow disk does not get a " +
        "healthy process restarted. Use /ready to know whether requests can be served.",
      tags: ["health"],
    },
  });
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
        operationId: "getReadiness",
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
