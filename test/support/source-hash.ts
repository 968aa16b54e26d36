// Which compiled binary the sources make: shared by the binary cache (test/support/binary.ts) and by
// `bun run mutate`, which removes the binary each mutation made. Imports nothing from bun:test or src/.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

const ROOT = join(import.meta.dir, "..", "..");
const HASHED_DIRS = ["src", "drizzle"];
const HASHED_FILES = ["package.json", "bun.lock", "tsconfig.json"];
/** The cache directories' common start: tests that look for leaked temp paths check for it too. */
export const BINARY_CACHE_PREFIX = join(tmpdir(), "moxie-compiled-");

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(path));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

/** sha256 over the names and bytes of every input of the build. */
export function sourceHash(): string {
  const hash = createHash("sha256");
  const files = [
    ...HASHED_DIRS.flatMap((dir) => listFiles(join(ROOT, dir))),
    ...HASHED_FILES.map((file) => join(ROOT, file)).filter((file) => existsSync(file)),
  ].sort();
  for (const file of files) {
    hash.update(relative(ROOT, file)).update("\0").update(readFileSync(file)).update("\0");
  }
  return hash.digest("hex");
}

/** Where the binary built from sources hashing to `hash` is cached. */
export function cacheDirFor(hash: string): string {
  return `${BINARY_CACHE_PREFIX}${hash.slice(0, 24)}`;
}
