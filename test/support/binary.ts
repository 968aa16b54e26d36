// The compiled moxie, as `bun run build` makes it (the package.json "build" script with only --outfile changed),
// built once per state of its sources and shared by every test file and every test process that asks.
//
// The cache is os.tmpdir()/moxie-compiled-<hash>/moxie, where <hash> covers everything that goes into the build
// (src/, drizzle/, package.json, bun.lock, tsconfig.json). One process builds under a lock file in that directory,
// into a private subdirectory, and renames the result into place; any other process waits for it. Cache entries
// not used for ten minutes are removed when a new one is made.
import { chmodSync, closeSync, copyFileSync, existsSync, constants as fsConstants, linkSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, tempDir } from "../helpers.ts";
import { cleanEnv } from "./processes.ts";
import { BINARY_CACHE_PREFIX, cacheDirFor, sourceHash } from "./source-hash.ts";

export { BINARY_CACHE_PREFIX, sourceHash };

/** What older versions of this suite cached under; pruned by the same rule. */
const LEGACY_PREFIXES = ["moxie-sec-bin-", "moxie-sec-build-"];
/** Cache entries not used for this long are removed when a new one is made. */
const CACHE_STALE_MS = 10 * 60 * 1000;
/** A build lock older than this is abandoned (a build takes well under a minute). */
const LOCK_STALE_MS = 5 * 60 * 1000;

/** The package.json build command with only its output path changed. */
function buildCommand(script: string, outfile: string): string[] {
  const args = script.trim().split(/\s+/);
  if (args[0] !== "bun" || args[1] !== "build") throw new Error(`unexpected build script: ${script}`);
  const at = args.indexOf("--outfile");
  if (at !== -1 && at + 1 < args.length) {
    args[at + 1] = outfile;
  } else {
    const inline = args.findIndex((arg) => arg.startsWith("--outfile="));
    if (inline === -1) throw new Error(`build script has no --outfile: ${script}`);
    args[inline] = `--outfile=${outfile}`;
  }
  return [process.execPath, ...args.slice(1)];
}

async function buildOnce(outfile: string): Promise<void> {
  // Read now, not at import: the hash that names the cache entry covers this file as it is now.
  const script = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: { build: string } }).scripts.build;
  for (const flag of ["--compile", "--no-compile-autoload-bunfig", "--no-compile-autoload-dotenv"]) {
    if (!script.includes(flag)) throw new Error(`the build script lost ${flag}: ${script}`);
  }
  const build = Bun.spawn(buildCommand(script, outfile), {
    cwd: ROOT,
    env: cleanEnv(),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(build.stdout).text(),
    new Response(build.stderr).text(),
    build.exited,
  ]);
  if (code !== 0 || !existsSync(outfile)) throw new Error(`build failed (${code}):\n${stdout}\n${stderr}`);
}

function pruneStaleBuilds(keep: string): void {
  const prefixes = [BINARY_CACHE_PREFIX, ...LEGACY_PREFIXES.map((prefix) => join(tmpdir(), prefix))];
  for (const name of readdirSync(tmpdir())) {
    const path = join(tmpdir(), name);
    if (path === keep || !prefixes.some((prefix) => path.startsWith(prefix))) continue;
    try {
      if (Date.now() - statSync(path).mtimeMs > CACHE_STALE_MS) rmSync(path, { recursive: true, force: true });
    } catch {
      // another run removed it first
    }
  }
}

/** True when the lock's builder is gone: its pid no longer runs, or the lock is older than any build. */
function lockIsStale(lock: string): boolean {
  try {
    if (Date.now() - statSync(lock).mtimeMs > LOCK_STALE_MS) return true;
    const pid = Number(readFileSync(lock, "utf8"));
    if (!Number.isInteger(pid) || pid <= 0) return false; // just created; the pid is being written
    process.kill(pid, 0);
    return false;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === "ESRCH" || code === "ENOENT";
  }
}

interface CacheEntry {
  dir: string;
  binary: string;
}

function cacheEntry(hash: string): CacheEntry {
  const dir = cacheDirFor(hash);
  return { dir, binary: join(dir, "moxie") };
}

/**
 * Makes `entry.binary` unless it is there, or waits while another process makes it. False when the sources no
 * longer hash to `hash` after the build: that binary is thrown away, never cached under a hash it may not match.
 */
async function buildInto(entry: CacheEntry, hash: string): Promise<boolean> {
  mkdirSync(entry.dir, { recursive: true, mode: 0o700 });
  const lock = join(entry.dir, "build.lock");
  for (;;) {
    if (existsSync(entry.binary)) return true;
    let fd: number;
    try {
      fd = openSync(lock, "wx");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      if (lockIsStale(lock)) rmSync(lock, { force: true });
      else await Bun.sleep(100);
      continue;
    }
    const work = join(entry.dir, `.building-${process.pid}-${Math.random().toString(36).slice(2)}`);
    try {
      writeSync(fd, String(process.pid));
      closeSync(fd);
      if (existsSync(entry.binary)) return true; // finished between the check and taking the lock
      mkdirSync(work, { mode: 0o700 });
      const outfile = join(work, "moxie");
      await buildOnce(outfile);
      if (sourceHash() !== hash) return false;
      renameSync(outfile, entry.binary); // atomic: a reader sees no binary or the whole one
      pruneStaleBuilds(entry.dir);
      return true;
    } finally {
      rmSync(work, { recursive: true, force: true });
      rmSync(lock, { force: true });
    }
  }
}

/** This process's builds in progress, by source hash, so that concurrent callers share one. */
const building = new Map<string, Promise<boolean>>();

/** Path of a compiled moxie matching the current sources; built at most once per state of the sources. */
export async function compiledBinary(): Promise<string> {
  // src/ is edited concurrently by others: build until the sources did not change during the build.
  for (let attempt = 0; attempt < 3; attempt++) {
    const hash = sourceHash();
    const entry = cacheEntry(hash);
    if (!existsSync(entry.binary)) {
      let build = building.get(hash);
      if (!build) {
        build = buildInto(entry, hash).finally(() => building.delete(hash));
        building.set(hash, build);
      }
      if (!(await build)) continue;
    }
    const now = new Date();
    utimesSync(entry.dir, now, now); // in use: not stale for the next ten minutes
    return entry.binary;
  }
  throw new Error("src/ kept changing during three builds; cannot build a consistent binary");
}

/** Copies the compiled binary, alone, into `dir` (a fresh temp directory unless given); returns its path. */
export async function binaryAloneIn(dir = tempDir("moxie-bin-")): Promise<string> {
  const built = await compiledBinary();
  const binary = join(dir, "moxie");
  try {
    // A hard link is the same file under a new name: alone in its directory, without another 110 MB.
    linkSync(built, binary);
  } catch {
    copyFileSync(built, binary, fsConstants.COPYFILE_FICLONE);
    chmodSync(binary, 0o755);
  }
  return binary;
}
