// CORS for the browser frontend: only the configured origins, with credentials, any method and header.
import { cors } from "@elysiajs/cors";

export function corsFor(origins: string[]) {
  // An empty list would make @elysiajs/cors reflect every origin; match exact strings instead, and none.
  const allowed = new Set(origins);
  return cors({
    origin: (request) => allowed.has(request.headers.get("origin") ?? ""),
    credentials: true,
    // true reflects what the preflight asks for: with credentials a literal "*" is not a wildcard to browsers.
    methods: true,
    allowedHeaders: true,
    exposeHeaders: ["X-Total-Count", "X-Request-Id", "Retry-After"],
    maxAge: 600,
  });
}
