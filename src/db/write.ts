// Writes that wait for another connection's write lock without stopping the server. bun:sqlite is synchronous:
// SQLite's own busy handler would sleep inside the call, up to the whole busy timeout, and every request (even
// /health) would wait with it. Here each attempt gives up at once and the wait happens between attempts.
import type { Database } from "bun:sqlite";
import type { Db } from "./index.ts";
import { translateDatabaseError } from "./errors.ts";

/** Pauses between attempts while the lock is held elsewhere (ms): short at first, then every 100 ms. */
const BACKOFF_MS = [5, 10, 25, 50, 100];

/**
 * Runs `attempt`, a synchronous write on `db` (one transaction, or one statement), until it gets the write lock
 * or the connection's busy timeout (BUSY_TIMEOUT_MS) is spent; meanwhile other requests are served. Past the
 * budget it throws DatabaseBusyError, a full disk DatabaseFullError, both with nothing written. `attempt` may run
 * more than once, so whatever it changes besides the database must change only after its writes succeeded.
 */
export async function writeWithRetry<T>(db: Db, attempt: () => T): Promise<T> {
  const client = db.$client;
  try {
    return await retryWhileLocked(client, attempt, busyTimeoutOf(client));
  } catch (error) {
    throw translateDatabaseError(error);
  }
}

/**
 * `attempt` again and again, each with SQLite's busy timeout at 0, while it fails for another connection's lock
 * and `budgetMs` lasts; the last error is rethrown as SQLite raised it. The wait is the awaited pause between
 * attempts, never inside SQLite.
 */
export async function retryWhileLocked<T>(client: Database, attempt: () => T, budgetMs: number): Promise<T> {
  const deadline = performance.now() + budgetMs;
  const timeout = busyTimeoutOf(client);
  for (let tries = 0; ; tries++) {
    try {
      return withoutBusyWait(client, attempt, timeout);
    } catch (error) {
      const left = deadline - performance.now();
      if (!isLocked(error) || left <= 0) throw error;
      await Bun.sleep(Math.min(BACKOFF_MS[Math.min(tries, BACKOFF_MS.length - 1)]!, left));
      // The server stopped waiting for requests (shutdown past its grace) and closes the database: give up
      // as busy, nothing written, rather than touch a closed connection.
      if (closing.has(client)) throw error;
    }
  }
}

/** Connections about to be closed: writes still waiting for the lock give up instead of trying again. */
const closing = new WeakSet<Database>();

/** Called before the database is closed at shutdown. */
export function stopWaitingForLocks(client: Database): void {
  closing.add(client);
}

/**
 * `attempt` with the connection's busy timeout at 0, put back to `timeout` (its setting) afterwards. Safe to share the connection this way:
 * the attempt is synchronous, so nothing else runs on it until the timeout is back.
 */
function withoutBusyWait<T>(client: Database, attempt: () => T, timeout: number): T {
  client.run("PRAGMA busy_timeout = 0");
  try {
    return attempt();
  } finally {
    client.run(`PRAGMA busy_timeout = ${timeout}`);
  }
}

/** The connection's busy timeout in ms: what a write may wait in all. */
function busyTimeoutOf(client: Database): number {
  return (client.query("PRAGMA busy_timeout").get() as { timeout: number }).timeout;
}

function isLocked(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED"));
}
