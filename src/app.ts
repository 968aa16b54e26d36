// The composition root: createApp wires the modules to one database and one key. It never listens.
import { Elysia } from "elysia";
import { authGuard } from "./auth/guard.ts";
import { authRoutes } from "./auth/routes.ts";
import type { TokenService } from "./auth/tokens.ts";
import type { Db } from "./db/index.ts";
import { healthRoutes } from "./health.ts";
import { corsFor } from "./http/cors.ts";
import { errorHandling } from "./http/errors.ts";
import { silentLogger, type Logger } from "./log.ts";
import type { Settings } from "./settings.ts";

export interface AppDependencies {
  db: Db;
  settings: Pick<Settings, "corsOrigins">;
  tokens: TokenService;
  log?: Logger;
}

export function createApp({ db, settings, tokens, log = silentLogger }: AppDependencies) {
  const guard = authGuard({ db, tokens });
  return new Elysia()
    .use(errorHandling(log))
    .use(corsFor(settings.corsOrigins))
    .use(healthRoutes())
    .use(authRoutes({ db, tokens, guard }));
}

export type App = ReturnType<typeof createApp>;
