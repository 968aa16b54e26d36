// Liveness and readiness. /health never touches the database, so a stuck disk does not get a healthy
// process restarted; /ready checks the database is there, current and writable, and its disk has room.
import { accessSync, constants, statfsSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { Elysia, t } from "elysia";
import type { Db } from "./db/index.ts";
import type { CorsPolicy } from "./http/cors.ts";
import { documented } from "./http/openapi.ts";
import type { RequestIds } from "./http/request-log.ts";
import type { Logger } from "./log.ts";
import { EMBEDDED_MIGRATIONS } from "./db/migrations.ts";
import { retryWhileLocked } from "./db/write.ts";

/** How long the readiness write probe waits for another writer's lock. */
const READY_LOCK_WAIT_MS = 200;

/**
 * Below this much free space on the database's filesystem, /ready says the disk is full. A change and its audit
 * event append a handful of 4 KB pages to the WAL (each with a 24-byte header); with less than 16 such pages
 * left, the next write that has to grow a file fails. (A WAL already grown by earlier writes may still have
 * room to reuse for a while; the disk is full all the same, and an operator must free space.)
 */
export const READY_MIN_FREE_BYTES = 64 * 1024;

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

/** Why the database is not ready for traffic, in words fit for any caller (no paths, no SQL), or null. */
export async function databaseProblem(db: Db, path: string, opened: { dev: number; ino: number }): Promise<string | null> {
  try {
    const now = statSync(path);
    if (now.dev !== opened.dev || now.ino !== opened.ino) return "database file was moved or replaced";
  } catch {
    return "database file is missing";
  }
  try {
    accessSync(path, constants.R_OK | constants.W_OK);
    accessSync(dirname(path), constants.W_OK);
  } catch {
    return "database is not writable";
  }
  const client = db.$client;
  try {
    client.query("SELECT 1").get();
    const applied = client.query("SELECT count(*) AS n FROM __drizzle_migrations").get() as { n: number };
    if (applied.n !== EMBEDDED_MIGRATIONS.length) return "database schema is not current";
  } catch {
    return "database cannot be read";
  }
  // Take and give back the write lock, waiting only briefly (and like every write, between attempts rather
  // than inside SQLite, so the wait holds up no other request): a long-held lock means writes would stall.
  try {
    await retryWhileLocked(
      client,
      () => {
        client.run("BEGIN IMMEDIATE");
        client.run("ROLLBACK");
      },
      READY_LOCK_WAIT_MS,
    );
  } catch {
    if (client.inTransaction) client.run("ROLLBACK");
    return "database is locked or read-only";
  }
  if (freeBytes(dirname(path)) < READY_MIN_FREE_BYTES) return "database disk is full";
  return null;
}

/**
 * Free space for this process on the filesystem holding `dir`, as the kernel counts it (statfs: one system call,
 * nothing written, so a probe every few seconds costs nothing). Root may also use the blocks a filesystem keeps
 * in reserve. Infinity when the filesystem cannot say.
 */
function freeBytes(dir: string): number {
  try {
    const fs = statfsSync(dir);
    return (process.geteuid?.() === 0 ? fs.bfree : fs.bavail) * fs.bsize;
  } catch {
    return Infinity;
  }
}

export function readinessRoutes({ db, path }: { db: Db; path: string }) {
  const opened = statSync(path);
  const identity = { dev: opened.dev, ino: opened.ino };
  return new Elysia().get(
    "/ready",
    async ({ status }) => {
      const problem = await databaseProblem(db, path, identity);
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
