// `moxie serve`: listens until SIGINT/SIGTERM, then drains requests and closes the database cleanly.
import { createApp } from "../app.ts";
import { loadOrCreateSecretKey } from "../auth/secret.ts";
import { createTokenService } from "../auth/tokens.ts";
import type { Db } from "../db/index.ts";
import type { Logger } from "../log.ts";
import type { Settings } from "../settings.ts";
import { CommandError } from "./errors.ts";

/** How long in-flight requests get to finish after a stop signal. */
export const SHUTDOWN_GRACE_MS = 10_000;

export async function serve({ settings, db, log }: { settings: Settings; db: Db; log: Logger }): Promise<void> {
  const secret = settings.secretKey ?? loadOrCreateSecretKey(settings.databasePath, log);
  const app = createApp({ db, settings, tokens: createTokenService(secret), log });
  try {
    // Elysia defaults to reusePort, which lets a second moxie share the port silently; we want the error.
    app.listen({ hostname: settings.host, port: settings.port, reusePort: false, development: false });
  } catch (error) {
    const code = (error as { code?: string }).code;
    const reason = code === "EADDRINUSE" ? "the address is already in use" : (error as Error).message;
    throw new CommandError(`cannot listen on ${settings.host}:${settings.port}: ${reason}`);
  }
  const server = app.server!;
  log.info("moxie listening", { url: server.url.href.replace(/\/$/, ""), database: settings.databasePath });

  await new Promise<void>((resolve) => {
    const stop = async (signal: string) => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      log.info("stopping", { signal });
      const forced = setTimeout(() => server.stop(true), SHUTDOWN_GRACE_MS);
      await server.stop(false);
      clearTimeout(forced);
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  db.$client.run("PRAGMA wal_checkpoint(TRUNCATE)");
  db.$client.close();
  log.info("stopped");
}
