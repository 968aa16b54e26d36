// `moxie serve`: listens until SIGINT/SIGTERM, then drains requests and closes the database cleanly.
import { createApp } from "../app.ts";
import { loadOrCreateSecretKey } from "../auth/secret.ts";
import { hashingGate } from "../auth/password.ts";
import { createTokenService } from "../auth/tokens.ts";
import { pruneEvents } from "../audit/service.ts";
import type { Db } from "../db/index.ts";
import type { Logger } from "../log.ts";
import type { Settings } from "../settings.ts";
import { CommandError } from "./errors.ts";

const DAY_MS = 24 * 60 * 60 * 1000;

export async function serve({ settings, db, log }: { settings: Settings; db: Db; log: Logger }): Promise<void> {
  const secret = settings.secretKey ?? loadOrCreateSecretKey(settings.databasePath, log);
  hashingGate.configure(settings.hashingConcurrency, settings.hashingQueue);
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
  const pruning = scheduleAuditPruning(db, settings.auditRetentionDays, log);

  await new Promise<void>((resolve) => {
    const stop = async (signal: string) => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      log.info("stopping", { signal });
      clearInterval(pruning);
      // Stop accepting, let in-flight requests finish; past the grace period, cut the rest.
      const forced = setTimeout(() => server.stop(true), settings.shutdownGraceSeconds * 1000);
      await server.stop(false);
      clearTimeout(forced);
      await new Promise((settled) => setImmediate(settled)); // let the last requests' log lines out first
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  // Fold the WAL back into the database file, so the file alone is a complete copy at rest.
  db.$client.run("PRAGMA wal_checkpoint(TRUNCATE)");
  db.$client.close();
  log.info("stopped");
}

/** With AUDIT_RETENTION_DAYS set, drops older audit events at start and once a day. */
function scheduleAuditPruning(db: Db, days: number, log: Logger): ReturnType<typeof setInterval> | undefined {
  if (days <= 0) return undefined;
  const prune = () => {
    const removed = pruneEvents(db, days);
    if (removed > 0) log.info("pruned audit events", { removed, older_than_days: days });
  };
  prune();
  return setInterval(prune, DAY_MS).unref();
}
