// The two binaries bench/run.ts compares: ./moxie as `bun run build` makes it, and the baseline compiled with
// the same flags, each run from a private copy in the run's work directory.
import { closeSync, copyFileSync, fsyncSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { BENCH_DIR } from "./plan.ts";
import { log, ROOT, run } from "./processes.ts";

/**
 * The baseline compiled the way `bun run build` compiles moxie (the same flags, read from package.json), so
 * both run as users run moxie and the memory and start figures compare like with like: run from source
 * (`bun bench/baseline.ts`) the baseline idles about 3 MB lower (34.5 vs 37.7 MB here).
 */
export async function buildBaseline(work: string): Promise<string> {
  const script = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: { build: string } }).scripts.build;
  const flags = script.split(/\s+/).filter((arg) => arg.startsWith("--") && arg !== "--outfile");
  const binary = join(work, "baseline");
  const result = await run(["bun", "build", join(BENCH_DIR, "baseline.ts"), ...flags, "--outfile", binary], { timeoutMs: 120_000 });
  if (result.code !== 0) throw new Error(`compiling the baseline failed:\n${result.stdout}\n${result.stderr}`);
  return binary;
}

export async function buildMoxie(work: string): Promise<string> {
  log("building ./moxie (bun run build)");
  const result = await run(["bun", "run", "build"], { timeoutMs: 120_000 });
  if (result.code !== 0) throw new Error(`bun run build failed:\n${result.stdout}\n${result.stderr}`);
  // Run a private copy, so a concurrent rebuild of ./moxie cannot change the binary under the benchmark.
  const binary = join(work, "moxie");
  copyFileSync(join(ROOT, "moxie"), binary);
  Bun.spawnSync(["chmod", "0755", binary]);
  // Flushed to disk before anything is timed, so the copy's writeback never overlaps a measurement.
  const fd = openSync(binary, "r");
  fsyncSync(fd);
  closeSync(fd);
  return binary;
}
