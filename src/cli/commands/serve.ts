// `moxie serve`: listens until SIGINT/SIGTERM, then drains requests and closes the database cleanly.
import { createApp } from "../../http/app.ts";
import { existsSync, rmSync } from "node:fs";
import { generatedSecretPath, loadOrCreateSecretKey } from "../../tokens/secret.ts";
import { hashingGate } from "../../passwords/hashing.ts";
import { createTokenService } from "../../tokens/tokens.ts";
import { pruneEvents } from "../../audit/service.ts";
import type { Db } from "../../db/index.ts";
import { stopWaitingForLocks, writeWithRetry } from "../../db/write.ts";
import type { Logger } from "../../lib/log.ts";
import type { Settings } from "../../settings/index.ts";
import { CommandError } from "../errors.ts";

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Binds `host:port` for a moment and lets go: called before the database or the key file is created, so a start
 * that cannot listen says why and leaves nothing on disk. (The real listen below still reports a late failure.)
 */
export function checkCanListen(host: string, port: number): void {
  try {
    const probe = Bun.serve({ hostname: host, port, reusePort: false, development: false, fetch: () => new Response(null) });
    probe.stop(true);
  } catch (error) {
    throw listenError(host, port, error);
  }
}

/** What went wrong, in words an operator can act on. */
function listenError(host: string, port: number, error: unknown): CommandError {
  const code = (error as { code?: string }).code;
  const where = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  let reason: string;
  if (code === "EADDRINUSE") {
    reason = `port ${port} is already in use (another moxie or another program listens there); stop it or choose another PORT`;
  } else if (code === "EADDRNOTAVAIL") {
    reason =
      `${host} is not an address of this machine; set HOST to 127.0.0.1 (this machine only), 0.0.0.0 (every ` +
      "interface) or one of the addresses `ip -brief address` lists";
  } else if (code === "EACCES" || code === "EPERM") {
    reason =
      port > 0 && port < 1024
        ? `permission denied: port ${port} is below 1024, which needs root or the CAP_NET_BIND_SERVICE capability; ` +
          "listen on a higher port (the default is 8000) behind a reverse proxy"
        : "permission denied: the system does not let this user listen there (a sandbox or security policy)";
  } else {
    reason = (error as Error).message ?? String(error);
  }
  return new CommandError(`cannot listen on ${where}: ${reason}`);
}

export async function serve({ settings, db, log, created = false }: { settings: Settings; db: Db; log: Logger; created?: boolean }): Promise<void> {
  const secretPath = generatedSecretPath(settings.databasePath);
  const secretExisted = existsSync(secretPath);
  const secret = settings.secretKey ?? loadOrCreateSecretKey(settings.databasePath, log);
  hashingGate.configure(settings.hashingConcurrency, settings.hashingQueue);
  const app = createApp({ db, settings, tokens: createTokenService(secret), log });
  try {
    // Elysia defaults to reusePort, which lets a second moxie share the port silently; we want the error.
    app.listen({ hostname: settings.host, port: settings.port, reusePort: false, development: false });
  } catch (error) {
    // Taken between checkCanListen and now: take back what this start created, as if it never ran.
    if (!secretExisted) rmSync(secretPath, { force: true });
    if (created) {
      db.$client.close();
      for (const suffix of ["", "-wal", "-shm"]) rmSync(settings.databasePath + suffix, { force: true });
    }
    throw listenError(settings.host, settings.port, error);
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
  // Requests cut at the grace period may still be waiting for another connection's lock: they give up now.
  stopWaitingForLocks(db.$client);
  // Fold the WAL back into the database file, so the file alone is a complete copy at rest. Another process's
  // lock is waited for a moment only: stopping must not take the whole busy timeout (the WAL is safe either way).
  db.$client.run("PRAGMA busy_timeout = 1000");
  db.$client.run("PRAGMA wal_checkpoint(TRUNCATE)");
  db.$client.close();
  log.info("stopped");
}

/**
 * With AUDIT_RETENTION_DAYS set, drops older audit events at start and once a day. A database busy (or full) for
 * longer than the busy timeout skips one pruning, logged; the next day's catches up.
 */
function scheduleAuditPruning(db: Db, days: number, log: Logger): ReturnType<typeof setInterval> | undefined {
  if (days <= 0) return undefined;
  const prune = async () => {
    try {
      const removed = await writeWithRetry(db, () => pruneEvents(db, days));
      if (removed > 0) log.info("pruned audit events", { removed, older_than_days: days });
    } catch (error) {
      log.warn("audit pruning skipped", { error: (error as Error).message });
    }
  };
  void prune();
  return setInterval(prune, DAY_MS).unref();
}
