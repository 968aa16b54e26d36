// `moxie serve`: takes the server's lock, opens (creating and migrating) the database, says what opening changed,
// listens until SIGINT/SIGTERM, then drains requests and closes the database cleanly.
import { existsSync, rmSync } from "node:fs";
import { pruneEvents } from "../../audit/service.ts";
import { DatabaseOpenError, type Db } from "../../db/index.ts";
import { acquireServeLock } from "../../db/serve-lock.ts";
import { stopWaitingForLocks, writeWithRetry } from "../../db/write.ts";
import { startServer, type StartedServer } from "../../http/server.ts";
import type { Logger } from "../../lib/log.ts";
import { hashingGate } from "../../passwords/hashing.ts";
import type { Settings } from "../../settings/index.ts";
import { parseHost, parsePort } from "../../settings/values.ts";
import { PRUNE_BATCH, pruneExpiredSessions } from "../../sessions/store.ts";
import { generatedSecretPath, loadOrCreateSecretKey } from "../../tokens/secret.ts";
import { createTokenService } from "../../tokens/tokens.ts";
import { parsedOption } from "../args.ts";
import { bootstrap, type Running } from "../bootstrap.ts";
import type { Command } from "../command.ts";
import { settingsFor } from "../dbfile.ts";
import { UsageError } from "../errors.ts";
import { checkCanListen, listenError } from "../listen.ts";

const DAY_MS = 24 * 60 * 60 * 1000;
/** Expired sessions are pruned this often, and first this long after start (off the path of the first requests). */
const SESSION_PRUNING_EVERY_MS = 60 * 60 * 1000;
const SESSION_PRUNING_FIRST_MS = 1000;
/** One pruning pass deletes at most this many batches (of PRUNE_BATCH), pausing between them; the next pass goes on. */
const SESSION_PRUNING_BATCHES = 20;

export const serveCommand: Command = {
  usage: "moxie serve [--host HOST] [--port PORT]",
  options: { host: { type: "string" }, port: { type: "string" } },
  async run(context) {
    const { values, where } = context;
    // The flags go through the same checks as HOST and PORT: `--host ''` must not mean every interface.
    const overrides: Partial<Settings> = {};
    const host = parsedOption(values, "host", parseHost);
    const port = parsedOption(values, "port", parsePort);
    if (host !== undefined) overrides.host = host;
    if (port !== undefined) overrides.port = port;
    const chosen = settingsFor(where, true);
    const settings = { ...chosen.settings, ...overrides };
    // Before anything is written: a start that cannot listen leaves no database or key file behind.
    checkCanListen(settings.host, settings.port);
    // One server per database (restore and a second serve check this lock), taken before the database is
    // opened: a refused second start must not migrate or rewrite the file the first one serves.
    let release: () => void;
    try {
      release = acquireServeLock(settings.databasePath);
    } catch (error) {
      if (error instanceof DatabaseOpenError) throw new UsageError(`DATABASE_URL: ${error.message} (${chosen.databaseChoice})`);
      throw error;
    }
    try {
      await serveLocked(bootstrap(context, { create: true, listening: true, overrides, announce: false }));
    } finally {
      release();
    }
  },
};

/** serve, once the lock is held and the database open: says what opening changed, then listens until a signal. */
async function serveLocked(running: Running): Promise<void> {
  if (running.created) {
    running.log.info("created a new database", { path: running.settings.databasePath, chosen_by: running.chosen.databaseChoice });
  }
  if (running.migration.adopted) {
    running.log.info("adopted the Python moxie's database", {
      database: running.settings.databasePath,
      baseline: running.migration.baseline,
      applied: running.migration.applied,
      alembic_version: running.migration.alembic,
    });
  } else if (!running.created && running.migration.applied.length > 0) {
    running.log.info("applied migrations", { database: running.settings.databasePath, applied: running.migration.applied });
  }
  if (running.emails.length > 0) {
    // What moxie changed in the accounts' rows, said where the operator looks, not only in the audit trail.
    running.log.info("rewrote stored emails to their one spelling", { count: running.emails.length, emails: running.emails });
  }
  await serve(running);
}

async function serve({ settings, db, log, created = false }: { settings: Settings; db: Db; log: Logger; created?: boolean }): Promise<void> {
  const secretPath = generatedSecretPath(settings.databasePath);
  const secretExisted = existsSync(secretPath);
  const secret = settings.secretKey ?? loadOrCreateSecretKey(settings.databasePath, log);
  hashingGate.configure(settings.hashingConcurrency, settings.hashingQueue);
  let started: StartedServer;
  try {
    started = startServer({ db, settings, tokens: createTokenService(secret), log }, { hostname: settings.host, port: settings.port });
  } catch (error) {
    // Taken between checkCanListen and now: take back what this start created, as if it never ran.
    if (!secretExisted) rmSync(secretPath, { force: true });
    if (created) {
      db.$client.close();
      for (const suffix of ["", "-wal", "-shm"]) rmSync(settings.databasePath + suffix, { force: true });
    }
    throw listenError(settings.host, settings.port, error);
  }
  const server = started.server;
  log.info("moxie listening", { url: server.url.href.replace(/\/$/, ""), database: settings.databasePath });
  const pruning = scheduleAuditPruning(db, settings.auditRetentionDays, log);
  const stopSessionPruning = scheduleSessionPruning(db, log);

  let failure: unknown;
  await new Promise<void>((resolve) => {
    const stop = async (signal: string) => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      log.info("stopping", { signal });
      clearInterval(pruning);
      stopSessionPruning();
      // Stop accepting, let in-flight requests finish; past the grace period, cut the rest.
      const forced = setTimeout(() => server.stop(true), settings.shutdownGraceSeconds * 1000);
      await server.stop(false);
      clearTimeout(forced);
      await new Promise((settled) => setImmediate(settled)); // let the last requests' log lines out first
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
    // The app is built after the server listens (src/http/server.ts): one that cannot be built is no server.
    started.ready.catch((error: unknown) => {
      failure = error;
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      clearInterval(pruning);
      stopSessionPruning();
      void server.stop(true);
      resolve();
    });
  });
  // Requests cut at the grace period may still be waiting for another connection's lock: they give up now.
  stopWaitingForLocks(db.$client);
  // Fold the WAL back into the database file, so the file alone is a complete copy at rest. Another process's
  // lock is waited for a moment only: stopping must not take the whole busy timeout (the WAL is safe either way).
  db.$client.run("PRAGMA busy_timeout = 1000");
  db.$client.run("PRAGMA wal_checkpoint(TRUNCATE)");
  db.$client.close();
  if (failure !== undefined) throw failure;
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

/**
 * Deletes expired sessions a second after start and then every hour, a batch at a time with a pause between batches
 * (so requests and other writers go first) and at most SESSION_PRUNING_BATCHES batches a pass. They are refused
 * anyway (the guard reads expires_at); this keeps the table small. A busy database skips the rest of a pass,
 * logged; the next one catches up.
 */
function scheduleSessionPruning(db: Db, log: Logger): () => void {
  let running = false;
  const prune = async () => {
    if (running) return;
    running = true;
    let removed = 0;
    try {
      for (let batch = 0; batch < SESSION_PRUNING_BATCHES; batch++) {
        const gone = await writeWithRetry(db, () => pruneExpiredSessions(db));
        removed += gone;
        if (gone < PRUNE_BATCH) break;
        await new Promise((resolve) => setImmediate(resolve));
      }
    } catch (error) {
      log.warn("session pruning skipped", { error: (error as Error).message });
    } finally {
      running = false;
      if (removed > 0) log.info("pruned expired sessions", { removed });
    }
  };
  const first = setTimeout(prune, SESSION_PRUNING_FIRST_MS).unref();
  const every = setInterval(prune, SESSION_PRUNING_EVERY_MS).unref();
  return () => {
    clearTimeout(first);
    clearInterval(every);
  };
}
