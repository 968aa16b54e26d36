// The composition root: createApp wires the modules to one database and one key. It never listens.
import { Elysia } from "elysia";
import { auditRoutes } from "./audit/routes.ts";
import { authGuard } from "./auth/guard.ts";
import { authRoutes } from "./auth/routes.ts";
import { LoginThrottle } from "./auth/throttle.ts";
import type { TokenService } from "./auth/tokens.ts";
import { consoleRoutes } from "./console/routes.ts";
import { readGeneration } from "./db/generation.ts";
import type { Db } from "./db/index.ts";
import { fastHealthRoute, healthRoutes, readinessRoutes } from "./health.ts";
import { jsonBodies } from "./http/body.ts";
import { clientAddress, type AddressOf } from "./http/client-address.ts";
import { corsFor, corsPolicy } from "./http/cors.ts";
import { apiDocs } from "./http/docs.ts";
import { errorHandling } from "./http/errors.ts";
import { requestIds, requestLog } from "./http/request-log.ts";
import { rootRoute } from "./http/root.ts";
import { SECURITY_HEADERS, securityHeaders } from "./http/security-headers.ts";
import { silentLogger, type Logger } from "./log.ts";
import type { Settings } from "./settings.ts";
import { adminUserRoutes } from "./users/routes.ts";

export interface AppDependencies {
  db: Db;
  settings: Settings;
  tokens: TokenService;
  log?: Logger;
}

export function createApp({ db, settings, tokens, log = silentLogger }: AppDependencies) {
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
  const idOf = requestIds();
  const cors = corsPolicy(settings.corsOrigins);
  // GET /health is answered by Bun's router with the same headers, ids and CORS as the hooks below give.
  return new Elysia({
    serve: { routes: fastHealthRoute({ headers: SECURITY_HEADERS, idOf, cors, log, logProbes: settings.logLevel === "debug" }) },
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
    .use(authRoutes({ db, tokens, guard, generation, throttle, addressOf, refusalWindowMs: settings.loginWindowSeconds * 1000 }))
    .use(adminUserRoutes({ db, guard, addressOf }))
    .use(auditRoutes({ db, guard }))
    .use(rootRoute(settings))
    .use(settings.console ? consoleRoutes() : new Elysia());
}

export type App = ReturnType<typeof createApp>;
