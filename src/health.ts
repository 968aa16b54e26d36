// Liveness: answers without touching the database, so a stuck disk does not restart a healthy process.
import { Elysia } from "elysia";

export function healthRoutes() {
  return new Elysia().get("/health", { status: "ok" as const });
}
