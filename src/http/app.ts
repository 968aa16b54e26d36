// The composition root: createApp wires the modules to one database and one key. It never listens.
import { Elysia } from "elysia";
import { auditRoutes } from "./routes/audit.ts";
import { authGuard } from "./guard.ts";
import { authRoutes } from "./routes/auth.ts";
import { LoginThrottle } from "../sign-in/throttle.ts";
import type { TokenService } from "../tokens/tokens.ts";
import { consoleRoutes } from "./routes/console.ts";
import { readGeneration } from "../db/generation.ts";
import type { Db } from "../db/index.ts";
import { healthProbe } from "./health-probe.ts";
import { healthRoutes, readinessRoutes } from "./routes/health.ts";
import { jsonBodies } from "./body.ts";
import { clientAddress, type AddressOf } from "./client-address.ts";
import { corsFor } from "./cors.ts";
import { apiDocs } from "./docs.ts";
import { errorHandling } from "./errors.ts";
import { requestIds, type RequestIds } from "./request-ids.ts";
import { requestLog } from "./request-log.ts";
import { rootRoute } from "./routes/root.ts";
import { securityHeaders } from "./security-headers.ts";
import { silentLogger, type Logger } from "../lib/log.ts";
import type { Settings } from "../settings/index.ts";
import { adminUserRoutes } from "./routes/admin-users.ts";
import { sessionRoutes } from "./routes/sessions.ts";

export interface AppDependencies {
  db: Db;
  settings: Settings;
  tokens: TokenService;
  log?: Logger;
  /** The request ids of a /health probe that answered before the app was built (server.ts): one source per process. */
  idOf?: RequestIds;
}

export function createApp({ db, settings, tokens, log = silentLogger, idOf = requestIds() }: AppDependencies) {
  // Read once: nothing changes the generation of a database a server has open (see authGuard).
  const generation = readGeneration(db.$client);
  const guard = authGuard({ db, tokens, generation });
  const throttle = new LoginThrottle({
    maxFailuresPerPair: settings.loginMaxFailures,
    maxFailuresPerAddress: settings.loginMaxFailuresPerAddress,
    maxFailuresPerAccount: settings.loginMaxFailuresPerAccount,
    windowMs: settings.loginWindowSeconds * 1000,
    ipv6PrefixLength: settings.loginIpv6PrefixLength,
  });
  const addressOf: AddressOf = (request, server) => clientAddress(request, server, settings.trustedProxy);
  // GET /health is answered by Bun's router with the same headers, ids and CORS as the hooks below give.
  return new Elysia({
    serve: { routes: healthProbe(settings, log, idOf) },
    // Responses are still checked against their schemas and stripped to them; only TypeBox's Encode pass is
    // skipped. Our response schemas have no transforms of their own (t.Integer's is for decoding strings), and
    // that pass was about a tenth of /auth/me's time in the framework (bench/README.md).
    encodeSchema: false,
  })
    .use(requestLog(log, idOf))
    .use(securityHeaders())
    .use(errorHandling(log))
    .use(jsonBodies({ maxBytes: settings.bodyLimitBytes }))
    .use(corsFor(settings.corsOrigins))
    .use(settings.docs ? apiDocs() : new Elysia())
    .use(healthRoutes())
    .use(readinessRoutes({ db, path: settings.databasePath }))
    .use(
      authRoutes({
        db,
        tokens,
        guard,
        generation,
        throttle,
        addressOf,
        refusalWindowMs: settings.loginWindowSeconds * 1000,
        maxSessionsPerAccount: settings.maxSessionsPerAccount,
      }),
    )
    .use(sessionRoutes({ db, guard, addressOf }))
    .use(adminUserRoutes({ db, guard, addressOf }))
    .use(auditRoutes({ db, guard }))
    .use(rootRoute(settings))
    .use(settings.console ? consoleRoutes() : new Elysia());
}

export type App = ReturnType<typeof createApp>;
