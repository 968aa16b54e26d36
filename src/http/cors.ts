// CORS for the browser frontend: only the configured origins, with credentials, any method and header.
import { cors } from "@elysiajs/cors";
import { Elysia } from "elysia";

/** Sent on every response; a preflight gets exactly the headers it asks for (see below). */
const USUAL_REQUEST_HEADERS = "authorization, content-type, x-request-id";

export function corsFor(origins: string[]) {
  // An empty list would make @elysiajs/cors reflect every origin; match exact strings instead, and none.
  const allowed = new Set(origins);
  return (
    new Elysia({ name: "cors" })
      // With credentials a literal "*" is no wildcard to browsers, so "any header" means echoing what the
      // preflight asks for. @elysiajs/cors can echo too, but then it lists every request's own headers on
      // every response, which costs a header walk per request; doing it for preflights only is enough.
      .onRequest(({ request, set }) => {
        if (request.method !== "OPTIONS") return;
        const asked = request.headers.get("access-control-request-headers");
        if (asked) set.headers["access-control-allow-headers"] = asked;
      })
      .use(
        cors({
          origin: (request) => allowed.has(request.headers.get("origin") ?? ""),
          credentials: true,
          methods: true, // echoes the preflight's requested method
          allowedHeaders: USUAL_REQUEST_HEADERS,
          exposeHeaders: ["X-Total-Count", "X-Request-Id", "Retry-After"],
          maxAge: 600,
        }),
      )
  );
}
