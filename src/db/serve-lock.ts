// `<database>.serve.lock`: says which process serves a database, so `restore` does not swap the file under it
// and a second `serve` on the same file says so. An idle server holds no SQLite lock; this file is the signal.
//
// The lock is flock(2) on the file, held on an open descriptor for the life of the process: the kernel lets go
// when the process ends however it ends (exit, crash, kill -9, power cut), so a lock cannot outlive its server
// and nothing has to guess whether a recorded pid is still the same process. (The pid and boot id this file held
// before could: systemd's ProcSubset=pid hides /proc/sys/kernel/random/boot_id, and a crash's pid reused after a
// reboot then kept the service from starting for good.) flock rather than SQLite's POSIX lock on a lock file:
// POSIX locks belong to the process and are dropped when it closes *any* descriptor of the file (reading the pid
// would release it), while flock belongs to the one open descriptor. The pid written into the file is only for
// the message; the lock decides.
import { dlopen, FFIType, read } from "bun:ffi";
import { closeSync, constants, fstatSync, ftruncateSync, mkdirSync, openSync, readSync, statSync, unlinkSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseOpenError } from "./index.ts";

/** The lock could not be taken: another live server holds it, or the lock file cannot be opened or written. */
export class ServeLockError extends Error {
  override name = "ServeLockError";
}

export function serveLockPath(databasePath: string): string {
  return `${databasePath}.serve.lock`;
}

/** The process serving a database; its pid is unknown only in the instant between taking the lock and writing it. */
export interface ServeLockHolder {
  pid: number | undefined;
}

/** " (pid N)" for a message, or nothing when the pid is not known. */
export function pidNote(holder: ServeLockHolder): string {
  return holder.pid === undefined ? "" : ` (pid ${holder.pid})`;
}

/** A server that had the lock a moment ago may be letting it go, and `doctor` may be looking (a shared lock, briefly). */
const CONTENDED_TRIES = 20;
const CONTENDED_PAUSE_MS = 10;

/**
 * Takes the lock for `databasePath` and returns its release (idempotent): the file is removed and the lock let
 * go. A file left by a process that is gone, however it ended, is not locked and is simply taken over.
 * Throws ServeLockError when a live process holds it.
 */
export function acquireServeLock(databasePath: string): () => void {
  const path = serveLockPath(databasePath);
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  } catch (error) {
    // The database's directory cannot be made: the setting's fault, said as opening the database would say it.
    throw new DatabaseOpenError(`cannot open database ${databasePath}: ${(error as Error).message}`);
  }
  for (let attempt = 0; attempt < CONTENDED_TRIES; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o600);
    } catch (error) {
      throw new ServeLockError(`cannot open the lock file ${path}: ${(error as Error).message}`);
    }
    let locked: boolean;
    try {
      locked = tryLock(fd, LOCK_EX);
    } catch (error) {
      closeSync(fd);
      throw new ServeLockError(`cannot lock ${path}: ${(error as Error).message}`);
    }
    if (!locked) {
      closeSync(fd);
      if (attempt + 1 < CONTENDED_TRIES) {
        Bun.sleepSync(CONTENDED_PAUSE_MS);
        continue;
      }
      const holder = serveLockHolder(databasePath) ?? { pid: undefined };
      throw new ServeLockError(`another moxie server${pidNote(holder)} is using ${databasePath}; stop it first`);
    }
    // A server letting go removes the file before it unlocks: the lock we hold may be on that removed file.
    if (!isStillAt(fd, path)) {
      closeSync(fd);
      continue;
    }
    try {
      ftruncateSync(fd, 0);
      writeSync(fd, `${process.pid}\n`, 0);
    } catch (error) {
      closeSync(fd);
      throw new ServeLockError(`cannot write the lock file ${path}: ${(error as Error).message}`);
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      try {
        // Removed while still locked, so nobody can take a lock on a file that is about to vanish and believe it.
        if (isStillAt(fd, path)) unlinkSync(path);
      } catch {
        // Already gone: nothing to remove.
      }
      closeSync(fd); // lets go of the lock
    };
  }
  throw new ServeLockError(`cannot take the lock file ${path}: it keeps being replaced`);
}

/** The process holding the lock for `databasePath` (a live server, or a restore under way), or null when none does. */
export function serveLockHolder(databasePath: string): ServeLockHolder | null {
  const path = serveLockPath(databasePath);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY);
  } catch {
    return null; // no file: nobody has it
  }
  try {
    // A shared lock for an instant: granted only when no server holds the exclusive one.
    if (tryLock(fd, LOCK_SH)) {
      unlock(fd);
      return null;
    }
    return { pid: pidIn(fd) };
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

function pidIn(fd: number): number | undefined {
  // The holder writes its pid right after taking the lock; read again for a moment if it is not there yet.
  for (let attempt = 0; attempt < CONTENDED_TRIES; attempt++) {
    const buffer = Buffer.alloc(32);
    const length = readSync(fd, buffer, 0, buffer.length, 0);
    const pid = Number(buffer.toString("utf8", 0, length).trim());
    if (Number.isSafeInteger(pid) && pid > 0) return pid;
    Bun.sleepSync(CONTENDED_PAUSE_MS);
  }
  return undefined;
}

function isStillAt(fd: number, path: string): boolean {
  try {
    const open = fstatSync(fd);
    const named = statSync(path);
    return open.ino === named.ino && open.dev === named.dev;
  } catch {
    return false;
  }
}

// flock(2) through libc: Bun and Node have no file lock of their own. Loaded at the first use, so commands that
// never look at the lock do not load it.
const LOCK_SH = 1;
const LOCK_EX = 2;
const LOCK_NB = 4;
const LOCK_UN = 8;
const EWOULDBLOCK = process.platform === "darwin" ? 35 : 11;
const EINTR = 4;

interface Libc {
  flock(fd: number, operation: number): number;
  errno(): number;
}

let libc: Libc | undefined;

function loadLibc(): Libc {
  if (libc) return libc;
  const names = process.platform === "darwin" ? ["libSystem.B.dylib"] : ["libc.so.6", `libc.musl-${muslArch()}.so.1`];
  const errnoSymbol = process.platform === "darwin" ? "__error" : "__errno_location";
  const failures: string[] = [];
  for (const name of names) {
    try {
      const { symbols } = dlopen(name, {
        flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
        [errnoSymbol]: { args: [], returns: FFIType.ptr },
      });
      const errnoPointer = symbols[errnoSymbol] as () => ReturnType<typeof read.ptr>;
      libc = {
        flock: (fd, operation) => symbols.flock(fd, operation) as number,
        errno: () => read.i32(errnoPointer() as never, 0),
      };
      return libc;
    } catch (error) {
      failures.push(`${name}: ${(error as Error).message}`);
    }
  }
  throw new Error(`file locks need the C library, which could not be loaded (${failures.join("; ")})`);
}

function muslArch(): string {
  return process.arch === "arm64" ? "aarch64" : "x86_64";
}

/** True when the lock was taken, false when another descriptor holds a conflicting one; throws on anything else. */
function tryLock(fd: number, kind: typeof LOCK_SH | typeof LOCK_EX): boolean {
  const c = loadLibc();
  for (;;) {
    if (c.flock(fd, kind | LOCK_NB) === 0) return true;
    const errno = c.errno();
    if (errno === EWOULDBLOCK) return false;
    if (errno !== EINTR) throw new Error(`flock failed (errno ${errno})`);
  }
}

function unlock(fd: number): void {
  loadLibc().flock(fd, LOCK_UN);
}
