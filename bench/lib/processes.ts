// Every process bench/run.ts starts goes through here, so it can stop them all (at the end, on error, on
// Ctrl-C, at the time limit); also the /proc readings the rounds need: CPU, RSS, machine load.
import { closeSync, openSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";

export const ROOT = join(import.meta.dir, "..", "..");
const CLOCK_TICKS = 100;

const started = new Set<Subprocess>();
const tempDirs: string[] = [];
const t0 = performance.now();
/** Seconds since the benchmark started (this module is loaded first). */
export const secondsSinceStart = () => (performance.now() - t0) / 1000;
export const elapsed = () => secondsSinceStart().toFixed(1) + "s";
export const log = (line: string) => console.error(`[${elapsed().padStart(6)}] ${line}`);
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Counts a process among those to stop, until it exits. */
export function track(proc: Subprocess): void {
  started.add(proc);
  void proc.exited.then(() => started.delete(proc));
}

/** A directory removed with everything else. */
export function trackDir(dir: string): void {
  tempDirs.push(dir);
}

export function spawn(cmd: string[], options: { cwd?: string; env?: Record<string, string | undefined>; logFile?: string; pipe?: boolean } = {}) {
  let fd: number | undefined;
  if (options.logFile) fd = openSync(options.logFile, "a");
  const proc = Bun.spawn(cmd, {
    cwd: options.cwd ?? ROOT,
    env: options.env ?? process.env,
    stdin: "ignore",
    stdout: options.pipe ? "pipe" : (fd ?? "ignore"),
    stderr: options.pipe ? "pipe" : (fd ?? "ignore"),
  });
  if (fd !== undefined) closeSync(fd);
  track(proc);
  return proc;
}

export async function stop(proc: Subprocess, graceMs = 3000): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill("SIGTERM");
  const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
  await proc.exited;
  clearTimeout(timer);
}

export function killEverything(): void {
  for (const proc of started) {
    try {
      proc.kill("SIGKILL");
    } catch {}
  }
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
}

export async function run(cmd: string[], options: { cwd?: string; env?: Record<string, string | undefined>; timeoutMs: number }) {
  const proc = spawn(cmd, { ...options, pipe: true });
  const timer = setTimeout(() => proc.kill("SIGKILL"), options.timeoutMs);
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout as ReadableStream).text(),
    new Response(proc.stderr as ReadableStream).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  return { stdout, stderr, code };
}

export function freePort(): number {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = probe.port;
  void probe.stop(true);
  if (port === undefined) throw new Error("could not find a free port");
  return port;
}

/** CPU seconds (user + system) a process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS; // utime and stime are fields 14 and 15
}

/** Busy and total CPU ticks of the whole machine, from /proc/stat. */
export function machineTicks(): { busy: number; total: number } {
  const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait };
}

/** CPU ticks used by this process, its reaped children (every wrk) and the given live processes. */
export function ownTicks(pids: number[]): number {
  const self = readFileSync("/proc/self/stat", "utf8");
  const f = self.slice(self.lastIndexOf(")") + 2).split(" ");
  const mine = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  return mine + pids.reduce((sum, pid) => sum + cpuSeconds(pid) * CLOCK_TICKS, 0);
}

/**
 * Waits (at most `maxMs`) until the server has been nearly idle for 200 ms. A login run ends with hashes still
 * queued (wrk leaves, the server still verifies them), and they would otherwise run into the next measurement.
 */
export async function waitIdle(pid: number, maxMs = 15_000): Promise<number> {
  const start = performance.now();
  while (performance.now() - start < maxMs) {
    const before = cpuSeconds(pid);
    await sleep(200);
    if (cpuSeconds(pid) - before <= 0.02) break; // ≤ 10% of one core
  }
  return performance.now() - start;
}

/** The median of the finite values (NaN when there are none). */
export const median = (values: number[]) => {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
