// `<database>.serve.lock`: says which process serves a database, so `restore` does not swap the file under it
// and a second `serve` on the same file says so. An idle server holds no SQLite lock; this file is the signal.
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { CommandError } from "./errors.ts";

export function serveLockPath(databasePath: string): string {
  return `${databasePath}.serve.lock`;
}

/**
 * Takes the lock for `databasePath` and returns its release (idempotent; removes the file only while it is
 * still ours). A lock left by a process that is gone, or written before the last reboot, is replaced.
 * Throws CommandError when a live process holds it.
 */
export function acquireServeLock(databasePath: string): () => void {
  const path = serveLockPath(databasePath);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const content = `${process.pid}\n${bootId() ?? ""}\n`;
  for (let attempt = 0; attempt < 5; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, "wx", 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") {
        throw new CommandError(`cannot create the lock file ${path}: ${(error as Error).message}`);
      }
      const holder = liveHolder(path);
      if (holder !== null && holder !== process.pid) {
        throw new CommandError(`another moxie server (pid ${holder}) is using ${databasePath}; stop it first`);
      }
      // Stale (or our own from an earlier call): remove it and try again.
      try {
        unlinkSync(path);
      } catch (unlinkError) {
        if ((unlinkError as NodeJS.ErrnoException).code !== "ENOENT") {
          throw new CommandError(`cannot remove the stale lock file ${path}: ${(unlinkError as Error).message}`);
        }
      }
      continue;
    }
    try {
      writeSync(fd, content);
    } finally {
      closeSync(fd);
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      try {
        if (readFileSync(path, "utf8") === content) unlinkSync(path);
      } catch {
        // Already gone: nothing to release.
      }
    };
  }
  throw new CommandError(`cannot take the lock file ${path}: it keeps reappearing`);
}

/** The pid of the live process holding the lock for `databasePath`, or null when nobody does. */
export function serveLockHolder(databasePath: string): number | null {
  return liveHolder(serveLockPath(databasePath));
}

function liveHolder(lockPath: string): number | null {
  let text: string;
  try {
    text = readFileSync(lockPath, "utf8");
  } catch {
    return null;
  }
  const [pidLine = "", bootLine = ""] = text.split("\n");
  const pid = Number(pidLine.trim());
  if (!Number.isSafeInteger(pid) || pid <= 0) return null;
  // A pid from before a reboot may now belong to an unrelated process.
  const boot = bootLine.trim();
  const current = bootId();
  if (boot !== "" && current !== undefined && boot !== current) return null;
  return isAlive(pid) ? pid : null;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function bootId(): string | undefined {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}
