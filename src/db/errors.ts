// SQLite's "busy" and "full" as errors the edge can say in words.

/** Another connection held the write lock for longer than the busy timeout; nothing was written. */
export class DatabaseBusyError extends Error {
  override name = "DatabaseBusyError";
  constructor() {
    super("The database is busy; nothing was changed, try again shortly");
  }
}

/** The disk (or the database's page limit) is full; the transaction was rolled back, nothing was written. */
export class DatabaseFullError extends Error {
  override name = "DatabaseFullError";
  constructor() {
    super("The server's disk is full; nothing was changed. An operator must free space");
  }
}

/**
 * The error to raise for `error` thrown by a write: busy and full become the errors above; anything else is
 * returned unchanged. (/ready reads the filesystem's free space itself.)
 */
export function translateDatabaseError(error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string") return error;
  if (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED")) return new DatabaseBusyError();
  if (code.startsWith("SQLITE_FULL")) return new DatabaseFullError();
  return error;
}
