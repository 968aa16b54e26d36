// The HTTP server. It listens at once and answers GET /health, which needs nothing of the app, while the Elysia app
// (app.ts, and Elysia itself: most of a start's time) is loaded and built behind it; any other request that
// arrives meanwhile waits for the app. No Elysia is imported here.
import type { Server } from "bun";
import { silentLogger } from "../lib/log.ts";
import type { AppDependencies } from "./app.ts";
import { healthProbe } from "./health-probe.ts";
import { requestIds } from "./request-ids.ts";

type Handler = (request: Request) => Response | Promise<Response>;

export interface StartedServer {
  server: Server<unknown>;
  /** Resolves once the app answers every route; rejects with the reason when it could not be built. */
  ready: Promise<void>;
}

/**
 * Listens on `hostname:port` (throwing as Bun.serve throws when it cannot), with the options Elysia's own listen
 * used: no shared port (Elysia defaults to reusePort, which lets a second moxie share the port silently), no
 * development pages, 30 s idle timeout. The app is built after the server's first turn of the event loop, so a
 * probe that arrives with the start is answered first.
 */
export function startServer(dependencies: AppDependencies, { hostname, port }: { hostname: string; port: number }): StartedServer {
  const idOf = requestIds();
  const routes = healthProbe(dependencies.settings, dependencies.log ?? silentLogger, idOf);
  let built!: (handler: Handler) => void;
  let failed!: (error: unknown) => void;
  const app = new Promise<Handler>((resolve, reject) => {
    built = resolve;
    failed = reject;
  });
  const server = Bun.serve({
    hostname,
    port,
    reusePort: false,
    development: false,
    idleTimeout: 30,
    routes,
    fetch: (request) => app.then((handle) => handle(request)),
  });
  setTimeout(async () => {
    try {
      const { createApp } = await import("./app.ts");
      const elysia = createApp({ ...dependencies, idOf });
      // What Elysia's listen would have set: the server in each request's context (its requestIP is the client).
      elysia.server = server as unknown as typeof elysia.server;
      built(elysia.fetch); // the requests that waited
      server.reload({ routes, fetch: elysia.fetch }); // and every later one, straight to the app
    } catch (error) {
      failed(error);
    }
  }, 0);
  return { server, ready: app.then(() => undefined) };
}
