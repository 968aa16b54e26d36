// `bun run bench` (or `bun bench/run.ts [--quick]`): moxie against a raw Bun.serve baseline (bench/baseline.ts)
// on the same seeded SQLite file, driven by wrk over loopback only.
//
// Full run: 1000 users, cold start (15 interleaved spawns of each kind, bench/cold-start.ts), 3 interleaved
// rounds of 10 s per endpoint and server, a 10 s login flood: about 4 minutes on 2 cores plus ~3 minutes of
// seeding the first time, hard-stopped at 9. --quick: 200 users, 5 cold-start spawns, 1 round of 3 s runs, a 3 s flood.
// Writes bench/results/latest.json and bench/results/latest.md (latest-quick.* with --quick).
//
// Seeding 1000 argon2id hashes costs 1-4 minutes here, so the seeded database is kept in bench/.cache,
// keyed by the migrations and the argon2id cost; --fresh-seed ignores it. If seeding leaves too little of
// the 6 minutes for every round, fewer rounds run and the report says so.
import { Database } from "bun:sqlite";
import { closeSync, copyFileSync, existsSync, fsyncSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { ARGON2_MEMORY_KIB, ARGON2_TIME_COST } from "../src/passwords/hashing.ts";
import { openDatabase } from "../src/db/index.ts";
import { createUser } from "../src/accounts/service.ts";
import { DEFAULT_ME_KEYS, signToken } from "./baseline.ts";
import { COLD_LABELS, firstOkByFetch, measureColdStart, type ColdStartResult } from "./cold-start.ts";
import { cyclingScript, healthRequest, loginRequest, meRequest, parseWrk, type WrkResult } from "./wrk.ts";

const ROOT = join(import.meta.dir, "..");
const RESULTS_DIR = join(import.meta.dir, "results");
const CACHE_DIR = join(import.meta.dir, ".cache");
const QUICK = Bun.argv.includes("--quick");
const FRESH_SEED = Bun.argv.includes("--fresh-seed");
const CONFIG = QUICK
  ? { rounds: 1, seconds: 3, users: 200, floodSeconds: 3, warmupSeconds: 1, coldRuns: 5, deadlineSeconds: 240 }
  : { rounds: 3, seconds: 10, users: 1000, floodSeconds: 10, warmupSeconds: 2, coldRuns: 15, deadlineSeconds: 540 };
const SECRET = "bench-secret-key-0123456789abcdef-0123456789abcdef";
const ADMIN = { email: "admin@bench.test", name: "Bench Admin", password: "bench-admin-password" };
const AGENT_PASSWORD = "bench-agent-password";
const WRONG_PASSWORD = "definitely-not-the-password";
const SEED_CONCURRENCY = 4; // moxie's hashing gate runs one argon2 per core; 4 keeps it busy without hitting its queue bound
const ME_TOKENS = 100;
/** Connections sending wrong-password logins in the flood; `--flood-clients=200` for the hardening figure. */
const FLOOD_CLIENTS = Number(Bun.argv.find((arg) => arg.startsWith("--flood-clients="))?.split("=")[1] ?? 32);
const FLOOD_ADDRESSES = 250; // the flood poses as this many clients (X-Forwarded-For 127.77.x.y via TRUSTED_PROXY)
const CLOCK_TICKS = 100;
/** The frontend's origin: both servers allow it, and /health and /auth/me are measured with it (CORS path on). */
const ORIGIN = "http://localhost:3000";

const TARGETS = {
  healthRatio: 0.9,
  meRatio: 0.8,
  loginRatio: 0.95,
  floodP99Ms: 15,
  /** RSS after the flood, moxie / baseline in the same run (both hold two 64 MiB argon2 buffers then). */
  rssAfterFloodRatio: 1.15,
  idleRssRatio: 1.6,
  /** `moxie serve` spawn → first 200 on /health, minus a compiled raw Bun.serve's, medians of the same run. */
  coldStartOverFloorMs: 25,
};

type ServerName = "baseline" | "moxie";

// ---------------------------------------------------------------- process bookkeeping

const started = new Set<Subprocess>();
const tempDirs: string[] = [];
const t0 = performance.now();
const elapsed = () => ((performance.now() - t0) / 1000).toFixed(1) + "s";
const log = (line: string) => console.error(`[${elapsed().padStart(6)}] ${line}`);

function spawn(cmd: string[], options: { cwd?: string; env?: Record<string, string | undefined>; logFile?: string; pipe?: boolean } = {}) {
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
  started.add(proc);
  void proc.exited.then(() => started.delete(proc));
  return proc;
}

async function stop(proc: Subprocess, graceMs = 3000): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill("SIGTERM");
  const timer = setTimeout(() => proc.kill("SIGKILL"), graceMs);
  await proc.exited;
  clearTimeout(timer);
}

function killEverything(): void {
  for (const proc of started) {
    try {
      proc.kill("SIGKILL");
    } catch {}
  }
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    log(`${signal}: stopping every process the benchmark started`);
    killEverything();
    process.exit(130);
  });
}
const watchdog = setTimeout(() => {
  log(`time limit of ${CONFIG.deadlineSeconds}s reached: stopping`);
  killEverything();
  process.exit(124);
}, CONFIG.deadlineSeconds * 1000);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function run(cmd: string[], options: { cwd?: string; env?: Record<string, string | undefined>; timeoutMs: number }) {
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

function freePort(): number {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = probe.port;
  void probe.stop(true);
  if (port === undefined) throw new Error("could not find a free port");
  return port;
}

function rssMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
  return { rss: kb("VmRSS") / 1024, peak: kb("VmHWM") / 1024 };
}

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS; // utime and stime are fields 14 and 15
}

/** Busy and total CPU ticks of the whole machine, from /proc/stat. */
function machineTicks(): { busy: number; total: number } {
  const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait };
}

/** CPU ticks used by this process, its reaped children (every wrk) and the given live processes. */
function ownTicks(pids: number[]): number {
  const self = readFileSync("/proc/self/stat", "utf8");
  const f = self.slice(self.lastIndexOf(")") + 2).split(" ");
  const mine = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  return mine + pids.reduce((sum, pid) => sum + cpuSeconds(pid) * CLOCK_TICKS, 0);
}

/**
 * Waits (at most `maxMs`) until the server has been nearly idle for 200 ms. A login run ends with hashes still
 * queued (wrk leaves, the server still verifies them), and they would otherwise run into the next measurement.
 */
async function waitIdle(pid: number, maxMs = 15_000): Promise<number> {
  const start = performance.now();
  while (performance.now() - start < maxMs) {
    const before = cpuSeconds(pid);
    await sleep(200);
    if (cpuSeconds(pid) - before <= 0.02) break; // ≤ 10% of one core
  }
  return performance.now() - start;
}

const median = (values: number[]) => {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

// ---------------------------------------------------------------- wrk

async function wrk(url: string, connections: number, seconds: number, script?: string): Promise<WrkResult> {
  const cmd = ["wrk", "-t1", `-c${connections}`, `-d${seconds}s`, "--timeout", "10s", "--latency"];
  if (script) {
    // wrk only warns about a script it cannot read and then sends plain GETs: never let that pass.
    if (!existsSync(script)) throw new Error(`wrk script ${script} is gone (was the work directory removed?)`);
    cmd.push("-s", script);
  }
  cmd.push(url);
  const result = await run(cmd, { timeoutMs: (seconds + 20) * 1000 });
  if (result.code !== 0 || result.stderr.trim() !== "") {
    throw new Error(`wrk failed (exit ${result.code}): ${result.stderr || result.stdout}`);
  }
  return parseWrk(result.stdout);
}

async function ensureWrk(): Promise<void> {
  if (Bun.which("wrk")) return;
  if (process.getuid?.() !== 0) {
    throw new Error("wrk is not installed and this is not root: install it (e.g. `sudo apt-get install -y wrk`) and rerun");
  }
  log("wrk not found: apt-get update && apt-get install -y wrk");
  const update = await run(["apt-get", "update"], { timeoutMs: 120_000 });
  if (update.code !== 0) throw new Error(`apt-get update failed:\n${update.stderr}`);
  const install = await run(["apt-get", "install", "-y", "wrk"], {
    timeoutMs: 120_000,
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
  if (install.code !== 0 || !Bun.which("wrk")) throw new Error(`apt-get install -y wrk failed:\n${install.stderr}`);
}

// ---------------------------------------------------------------- steps

/**
 * The baseline compiled the way `bun run build` compiles moxie (the same flags, read from package.json), so
 * both run as users run moxie and the memory and start figures compare like with like: run from source
 * (`bun bench/baseline.ts`) the baseline idles about 3 MB lower (34.5 vs 37.7 MB here).
 */
async function buildBaseline(work: string): Promise<string> {
  const script = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: { build: string } }).scripts.build;
  const flags = script.split(/\s+/).filter((arg) => arg.startsWith("--") && arg !== "--outfile");
  const binary = join(work, "baseline");
  const result = await run(["bun", "build", join(import.meta.dir, "baseline.ts"), ...flags, "--outfile", binary], { timeoutMs: 120_000 });
  if (result.code !== 0) throw new Error(`compiling the baseline failed:\n${result.stdout}\n${result.stderr}`);
  return binary;
}

async function build(work: string): Promise<string> {
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

/**
 * moxie's defaults, except that wrk counts as a trusted proxy: the flood then poses as many clients through
 * X-Forwarded-For, as a distributed attack would, so it exercises the hashing gate rather than the per-address
 * login throttle (which would answer a single address 429 after a few dozen failures).
 */
function serverEnv(dbPath: string): Record<string, string | undefined> {
  return {
    ...process.env,
    DATABASE_URL: dbPath,
    SECRET_KEY: SECRET,
    HOST: "127.0.0.1",
    PORT: undefined,
    TRUSTED_PROXY: "127.0.0.1",
    CORS_ORIGINS: ORIGIN,
    LOG_LEVEL: "info",
  };
}

/**
 * A key for the cached seed: what decides the stored data (the migrations, the argon2id cost) and the seed's
 * own inputs. Other code changes do not invalidate it; moxie migrates an older file on open anyway.
 */
function seedKey(): string {
  const hasher = new Bun.CryptoHasher("sha256");
  hasher.update(JSON.stringify({ users: CONFIG.users, ADMIN, AGENT_PASSWORD, ARGON2_MEMORY_KIB, ARGON2_TIME_COST, version: 1 }));
  for (const file of Array.from(new Bun.Glob("drizzle/*.sql").scanSync({ cwd: ROOT })).sort()) {
    hasher.update(file).update(readFileSync(join(ROOT, file)));
  }
  return hasher.digest("hex").slice(0, 16);
}

async function seededDatabase(binary: string, work: string, dbPath: string): Promise<{ ids: number[]; source: string }> {
  const cached = join(CACHE_DIR, `seed-${CONFIG.users}-${seedKey()}.db`);
  if (!FRESH_SEED && existsSync(cached)) {
    copyFileSync(cached, dbPath);
    const db = new Database(dbPath);
    const ids = (db.query("SELECT id FROM users ORDER BY id").all() as { id: number }[]).map((row) => row.id);
    db.close();
    if (ids.length === CONFIG.users) {
      const made = statSync(cached).mtime.toISOString();
      log(`reusing the seeded database ${cached.slice(ROOT.length + 1)} (made through create-admin/createUser at ${made}; --fresh-seed rebuilds it)`);
      return { ids, source: `cache ${cached.slice(ROOT.length + 1)} from ${made}` };
    }
    rmSync(dbPath, { force: true });
  }
  const started = performance.now();
  const { ids } = await seed(binary, work, dbPath);
  mkdirSync(CACHE_DIR, { recursive: true });
  for (const old of new Bun.Glob(`seed-${CONFIG.users}-*.db`).scanSync({ cwd: CACHE_DIR })) rmSync(join(CACHE_DIR, old));
  copyFileSync(dbPath, cached);
  return { ids, source: `seeded now in ${((performance.now() - started) / 1000).toFixed(0)} s` };
}

async function seed(binary: string, work: string, dbPath: string): Promise<{ ids: number[] }> {
  log(`seeding ${CONFIG.users} users: the admin through ./moxie create-admin`);
  const admin = await run([binary, "create-admin", "--email", ADMIN.email, "--name", ADMIN.name, "--password", ADMIN.password], {
    cwd: work,
    env: serverEnv(dbPath),
    timeoutMs: 60_000,
  });
  if (admin.code !== 0) throw new Error(`moxie create-admin failed (${admin.code}):\n${admin.stdout}${admin.stderr}`);

  const agents = CONFIG.users - 1;
  log(`seeding ${agents} agents through createUser (real argon2id hashing, ${SEED_CONCURRENCY} at once)`);
  const db = openDatabase(dbPath);
  const seedStart = performance.now();
  let next = 1;
  let done = 0;
  const progressEvery = Math.max(1, Math.floor(agents / 10));
  await Promise.all(
    Array.from({ length: SEED_CONCURRENCY }, async () => {
      while (next <= agents) {
        const n = next++;
        await createUser(db, { name: `Agent ${n}`, email: `agent${n}@bench.test`, password: AGENT_PASSWORD });
        done++;
        if (done % progressEvery === 0 || done === agents) {
          const rate = done / ((performance.now() - seedStart) / 1000);
          log(`  ${done}/${agents} agents (${rate.toFixed(1)}/s)`);
        }
      }
    }),
  );
  const ids = (db.$client.query("SELECT id FROM users ORDER BY id").all() as { id: number }[]).map((row) => row.id);
  db.$client.run("PRAGMA wal_checkpoint(TRUNCATE)");
  db.$client.close();
  if (ids.length !== CONFIG.users) throw new Error(`expected ${CONFIG.users} users, found ${ids.length}`);
  return { ids };
}

async function coldStarts(binary: string, work: string, seededDb: string): Promise<ColdStartResult> {
  log(`cold start: ${CONFIG.coldRuns} interleaved spawns each of an empty binary, a raw Bun.serve, moxie --version and moxie serve`);
  const result = await measureColdStart({
    binary,
    seededDb,
    workDir: work,
    cacheDir: CACHE_DIR,
    runs: CONFIG.coldRuns,
    env: serverEnv,
    onSpawn: (proc) => {
      started.add(proc);
      void proc.exited.then(() => started.delete(proc));
    },
    log,
  });
  return result;
}

interface Server {
  name: ServerName;
  port: number;
  proc: Subprocess;
  url: string;
  logFile: string;
}

async function startServer(
  name: ServerName,
  binary: string,
  work: string,
  dbPath: string,
  meKeys: string[] = DEFAULT_ME_KEYS,
): Promise<Server> {
  const port = freePort();
  const logFile = join(work, `${name}.log`);
  const cmd =
    name === "moxie"
      ? [binary, "serve", "--port", String(port)]
      : [
          binary,
          ...["--db", dbPath, "--port", String(port), "--secret", SECRET, "--cors-origins", ORIGIN, "--me-keys", meKeys.join(",")],
        ];
  const proc = spawn(cmd, { cwd: name === "moxie" ? work : ROOT, env: serverEnv(dbPath), logFile });
  try {
    await firstOkByFetch(port, proc, performance.now(), 15_000);
  } catch (error) {
    throw new Error(`${(error as Error).message}\n--- ${name} log ---\n${readFileSync(logFile, "utf8").slice(-2000)}`);
  }
  return { name, port, proc, url: `http://127.0.0.1:${port}`, logFile };
}

async function call(url: string, init?: RequestInit): Promise<{ status: number; body: any; headers: Headers }> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: response.status, body, headers: response.headers };
}

/** Header names and values that must match between the servers (the date, length and request id vary). */
function comparableHeaders(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  headers.forEach((value, name) => {
    if (!["date", "content-length", "x-request-id"].includes(name)) out[name] = value;
  });
  if (!/^[A-Za-z0-9-]+$/.test(headers.get("x-request-id") ?? "")) out["x-request-id"] = "missing or malformed";
  return out;
}

const login = (server: Server, email: string, password: string) =>
  call(`${server.url}/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email, password }) });
const me = (server: Server, token: string) =>
  call(`${server.url}/auth/me`, { headers: { authorization: `Bearer ${token}`, origin: ORIGIN } });

/** Both servers must honour one contract and accept each other's tokens, or the comparison means nothing. */
async function checkContract(baseline: Server, moxie: Server, meTokens: string[]): Promise<void> {
  log("checking both servers answer the same contract and accept each other's tokens");
  const fail = (what: string, detail: unknown) => {
    throw new Error(`contract check failed: ${what}: ${JSON.stringify(detail)}`);
  };
  for (const server of [baseline, moxie]) {
    const health = await call(`${server.url}/health`);
    if (health.status !== 200 || JSON.stringify(health.body) !== '{"status":"ok"}') fail(`${server.name} /health`, health);
    const wrong = await login(server, ADMIN.email, WRONG_PASSWORD);
    if (wrong.status !== 401) fail(`${server.name} wrong password`, wrong);
    const anonymous = await call(`${server.url}/auth/me`);
    if (anonymous.status !== 401) fail(`${server.name} /auth/me without token`, anonymous);
  }
  const fromMoxie = await login(moxie, ADMIN.email.toUpperCase(), ADMIN.password);
  if (fromMoxie.status !== 200 || typeof fromMoxie.body?.access_token !== "string") fail("moxie admin login", fromMoxie);
  const fromBaseline = await login(baseline, "agent1@bench.test", AGENT_PASSWORD);
  if (fromBaseline.status !== 200 || typeof fromBaseline.body?.access_token !== "string") fail("baseline agent login", fromBaseline);
  for (const token of [fromMoxie.body.access_token as string, fromBaseline.body.access_token as string, meTokens[0]!]) {
    const [b, m] = await Promise.all([me(baseline, token), me(moxie, token)]);
    if (b.status !== 200 || m.status !== 200) fail("/auth/me with a shared token", { baseline: b, moxie: m });
    if (!Bun.deepEquals(b.body, m.body)) fail("/auth/me bodies differ", { baseline: b.body, moxie: m.body });
  }
  // The same headers too: a baseline that sent fewer would be measuring less work.
  const answers: Array<[string, (server: Server) => Promise<{ headers: Headers }>]> = [
    ["GET /health from the allowed origin", (server) => call(`${server.url}/health`, { headers: { origin: ORIGIN } })],
    ["GET /health from another origin", (server) => call(`${server.url}/health`, { headers: { origin: "https://elsewhere.example" } })],
    ["GET /auth/me 200", (server) => me(server, meTokens[0]!)],
    ["GET /auth/me 401", (server) => call(`${server.url}/auth/me`, { headers: { origin: ORIGIN } })],
  ];
  for (const [what, ask] of answers) {
    const [b, m] = await Promise.all([ask(baseline), ask(moxie)]);
    const [bh, mh] = [comparableHeaders(b.headers), comparableHeaders(m.headers)];
    if (!Bun.deepEquals(bh, mh)) fail(`${what}: headers differ`, { baseline: bh, moxie: mh });
  }
}

interface EndpointSpec {
  key: "health" | "login" | "me";
  label: string;
  path: string;
  connections: number;
  script?: string;
}

interface EndpointResult {
  label: string;
  connections: number;
  rounds: Record<ServerName, WrkResult[]>;
  baselineRps: number;
  moxieRps: number;
  ratio: number;
  baselineP50: number;
  baselineP99: number;
  moxieP50: number;
  moxieP99: number;
  target: number;
  pass: boolean;
}

interface FloodResult {
  login: WrkResult;
  me: WrkResult;
  rss: number;
  peakRss: number;
  cpuPercent: number;
}

async function main(): Promise<void> {
  // Inside bench/.cache rather than /tmp, where a sweep of /tmp/moxie-* by a test run once removed the wrk
  // scripts mid-benchmark (the servers kept their open files and answered plain GETs with 401s).
  mkdirSync(CACHE_DIR, { recursive: true });
  for (const stale of new Bun.Glob("run-*").scanSync({ cwd: CACHE_DIR, onlyFiles: false })) {
    // Left by a run that was SIGKILLed; no run lives longer than the time limit.
    const path = join(CACHE_DIR, stale);
    if (Date.now() - statSync(path).mtimeMs > 2 * CONFIG.deadlineSeconds * 1000) rmSync(path, { recursive: true, force: true });
  }
  const work = mkdtempSync(join(CACHE_DIR, "run-"));
  tempDirs.push(work);
  log(`${QUICK ? "QUICK " : ""}benchmark in ${work}: ${CONFIG.users} users, ${CONFIG.rounds} round(s) of ${CONFIG.seconds}s runs`);

  await ensureWrk();
  const binary = await build(work);
  const baselineBinary = await buildBaseline(work);
  const dbPath = join(work, "moxie.db");
  const { ids, source: seedSource } = await seededDatabase(binary, work, dbPath);
  const seededCopy = join(work, "seeded.db");
  copyFileSync(dbPath, seededCopy);

  const cold = await coldStarts(binary, work, seededCopy);

  // Scripts: logins cycle through every agent, /auth/me through tokens of 100 accounts.
  const agents = Array.from({ length: CONFIG.users - 1 }, (_, i) => `agent${i + 1}@bench.test`);
  const meTokens = ids.slice(0, ME_TOKENS).map((id) => signToken(SECRET, id, 0));
  const loginScript = join(work, "login.lua");
  const meScript = join(work, "me.lua");
  const healthScript = join(work, "health.lua");
  writeFileSync(healthScript, cyclingScript([healthRequest(ORIGIN)], false));
  const floodScript = join(work, "flood.lua");
  const fakeClient = (i: number) => `127.77.${Math.floor(i / 250) % 250}.${(i % 250) + 1}`;
  writeFileSync(loginScript, cyclingScript(agents.map((email) => loginRequest(email, AGENT_PASSWORD)), false));
  writeFileSync(meScript, cyclingScript(meTokens.map((token) => meRequest(token, ORIGIN)), false));
  writeFileSync(
    floodScript,
    cyclingScript(agents.map((email, i) => loginRequest(email, WRONG_PASSWORD, fakeClient(i % FLOOD_ADDRESSES))), true),
  );

  log("starting moxie and the baseline");
  const moxie = await startServer("moxie", binary, work, dbPath);
  await sleep(1000);
  const moxieIdle = rssMb(moxie.proc.pid);
  // The baseline answers /auth/me with exactly the fields moxie answers (moxie's wire shape can grow).
  const meKeys = Object.keys((await me(moxie, meTokens[0]!)).body ?? {});
  if (meKeys.length === 0) throw new Error("moxie's /auth/me answered no fields for a seeded token");
  const baseline = await startServer("baseline", baselineBinary, work, dbPath, meKeys);
  await sleep(1000);
  const baselineIdle = rssMb(baseline.proc.pid);
  log(`idle RSS: moxie ${moxieIdle.rss.toFixed(1)} MB, baseline ${baselineIdle.rss.toFixed(1)} MB`);
  const servers: Record<ServerName, Server> = { baseline, moxie };

  try {
    await checkContract(baseline, moxie, meTokens);

    const endpoints: EndpointSpec[] = [
      { key: "health", label: "GET /health", path: "/health", connections: 50, script: healthScript },
      { key: "login", label: "POST /auth/login", path: "/auth/login", connections: 8, script: loginScript },
      { key: "me", label: "GET /auth/me", path: "/auth/me", connections: 50, script: meScript },
    ];

    log(`warm-up: ${CONFIG.warmupSeconds}s of /health and /auth/me on each server`);
    for (const server of [baseline, moxie]) {
      await wrk(`${server.url}/health`, 50, CONFIG.warmupSeconds, healthScript);
      await wrk(`${server.url}/auth/me`, 50, CONFIG.warmupSeconds, meScript);
      await waitIdle(server.proc.pid);
    }

    // Fit the rounds into what is left of the time limit, keeping room for the flood and the report.
    const perRound = endpoints.length * 2 * (CONFIG.seconds + 0.5) + 2 * 3; // + draining the login runs
    const reserve = 2 * (CONFIG.floodSeconds + 3) + 15;
    const left = CONFIG.deadlineSeconds - (performance.now() - t0) / 1000 - reserve;
    const rounds = Math.max(1, Math.min(CONFIG.rounds, Math.floor(left / perRound)));
    const roundsNote =
      rounds < CONFIG.rounds
        ? `only ${rounds} of ${CONFIG.rounds} rounds fit in the ${CONFIG.deadlineSeconds}s limit after seeding (${seedSource}); rerun to use the cached seed`
        : undefined;
    if (roundsNote) log(roundsNote);

    const pids = [moxie.proc.pid, baseline.proc.pid];
    const machineBefore = machineTicks();
    const ownBefore = ownTicks(pids);
    const byRound: Record<EndpointSpec["key"], Record<ServerName, WrkResult[]>> = {
      health: { baseline: [], moxie: [] },
      login: { baseline: [], moxie: [] },
      me: { baseline: [], moxie: [] },
    };
    for (let round = 0; round < rounds; round++) {
      const order: ServerName[] = round % 2 === 0 ? ["baseline", "moxie"] : ["moxie", "baseline"];
      for (const endpoint of endpoints) {
        for (const name of order) {
          const pid = servers[name].proc.pid;
          const cpuBefore = cpuSeconds(pid);
          const result = await wrk(`${servers[name].url}${endpoint.path}`, endpoint.connections, CONFIG.seconds, endpoint.script);
          result.serverCpuMsPer1k = result.requests > 0 ? ((cpuSeconds(pid) - cpuBefore) * 1e6) / result.requests : NaN;
          // Every request in the rounds should succeed; a run with more than 1% failures measured something else.
          result.invalid = result.non2xx + result.socketErrors > result.requests * 0.01;
          byRound[endpoint.key][name].push(result);
          const errors =
            result.non2xx + result.socketErrors > 0
              ? `  non-2xx ${result.non2xx}, socket errors ${result.socketErrors}${result.invalid ? " → run EXCLUDED" : ""}`
              : "";
          log(
            `round ${round + 1}/${rounds} ${endpoint.label.padEnd(16)} ${name.padEnd(8)} ` +
              `${result.rps.toFixed(1).padStart(9)} req/s  p50 ${result.p50.toFixed(2)} ms  p99 ${result.p99.toFixed(2)} ms  ` +
              `server CPU ${result.serverCpuMsPer1k.toFixed(1)} ms/1k req${errors}`,
          );
          const waited = await waitIdle(pid);
          if (waited > 1000) log(`  (${name} busy for ${(waited / 1000).toFixed(1)} s after the run: queued work drained)`);
        }
      }
    }
    const afterLoad = { moxie: rssMb(moxie.proc.pid), baseline: rssMb(baseline.proc.pid) }; // both idle again
    log(`RSS after load: moxie ${afterLoad.moxie.rss.toFixed(1)} MB, baseline ${afterLoad.baseline.rss.toFixed(1)} MB`);

    const results = {} as Record<EndpointSpec["key"], EndpointResult>;
    const targetFor = { health: TARGETS.healthRatio, login: TARGETS.loginRatio, me: TARGETS.meRatio };
    for (const endpoint of endpoints) {
      const all = byRound[endpoint.key];
      const r = { baseline: all.baseline.filter((x) => !x.invalid), moxie: all.moxie.filter((x) => !x.invalid) };
      const baselineRps = median(r.baseline.map((x) => x.rps));
      const moxieRps = median(r.moxie.map((x) => x.rps));
      const ratio = moxieRps / baselineRps;
      results[endpoint.key] = {
        label: endpoint.label,
        connections: endpoint.connections,
        rounds: all,
        baselineRps,
        moxieRps,
        ratio,
        baselineP50: median(r.baseline.map((x) => x.p50)),
        baselineP99: median(r.baseline.map((x) => x.p99)),
        moxieP50: median(r.moxie.map((x) => x.p50)),
        moxieP99: median(r.moxie.map((x) => x.p99)),
        target: targetFor[endpoint.key],
        pass: Number.isFinite(ratio) && ratio >= targetFor[endpoint.key],
      };
    }

    // The flood: FLOOD_CLIENTS (default 32) connections of wrong-password logins, and 4 connections measuring /auth/me meanwhile.
    const flood = {} as Record<ServerName, FloodResult>;
    for (const name of ["baseline", "moxie"] as const) {
      const server = servers[name];
      log(`login flood on ${name}: wrk -c${FLOOD_CLIENTS} wrong passwords + wrk -c4 /auth/me for ${CONFIG.floodSeconds}s`);
      const cpuBefore = cpuSeconds(server.proc.pid);
      const floodStart = performance.now();
      const [floodResult, meResult] = await Promise.all([
        wrk(`${server.url}/auth/login`, FLOOD_CLIENTS, CONFIG.floodSeconds, floodScript),
        wrk(`${server.url}/auth/me`, 4, CONFIG.floodSeconds, meScript),
      ]);
      if (!floodResult.statuses) throw new Error(`the flood script reported no status counts:\n${JSON.stringify(floodResult)}`);
      const cpuPercent = ((cpuSeconds(server.proc.pid) - cpuBefore) / ((performance.now() - floodStart) / 1000)) * 100;
      const memory = rssMb(server.proc.pid);
      flood[name] = { login: floodResult, me: meResult, rss: memory.rss, peakRss: memory.peak, cpuPercent };
      log(
        `  ${name}: /auth/me p50 ${meResult.p50.toFixed(2)} ms p99 ${meResult.p99.toFixed(2)} ms (${meResult.rps.toFixed(0)} req/s); ` +
          `logins ${JSON.stringify(floodResult.statuses)}, socket errors ${floodResult.socketErrors}; ` +
          `server CPU ${cpuPercent.toFixed(0)}%; RSS ${memory.rss.toFixed(1)} MB (peak ${memory.peak.toFixed(1)})`,
      );
      await waitIdle(server.proc.pid); // let queued argon2 work drain before the next server is flooded
    }

    // Anything else running on the machine (another test suite, a build) skews every number above.
    const machineAfter = machineTicks();
    const foreign = machineAfter.busy - machineBefore.busy - (ownTicks(pids) - ownBefore);
    const otherLoadPercent = Math.max(0, (foreign / (machineAfter.total - machineBefore.total)) * 100);
    log(`other processes used ${otherLoadPercent.toFixed(0)}% of the machine's CPU while the benchmark ran`);

    const report = buildReport({ results, cold, moxieIdle, baselineIdle, afterLoad, flood, rounds, roundsNote, seedSource, otherLoadPercent });
    console.log("\n" + report.markdown);
    mkdirSync(RESULTS_DIR, { recursive: true });
    const stem = (QUICK ? "latest-quick" : "latest") + (FLOOD_CLIENTS === 32 ? "" : `-flood${FLOOD_CLIENTS}`);
    writeFileSync(join(RESULTS_DIR, `${stem}.json`), JSON.stringify(report.json, null, 2) + "\n");
    writeFileSync(join(RESULTS_DIR, `${stem}.md`), report.markdown + "\n");
    log(`wrote bench/results/${stem}.json and bench/results/${stem}.md`);
    if (!QUICK && FLOOD_CLIENTS === 32) {
      updateReadme(report.readme);
      log("rewrote the figures between the bench markers in README.md");
    }
  } finally {
    await Promise.all([stop(moxie.proc), stop(baseline.proc)]);
  }
}

// ---------------------------------------------------------------- report

const README = join(ROOT, "README.md");
const README_START = /<!-- bench:start[^>]*-->\n/;
const README_END = "<!-- bench:end -->";

/** Replaces what lies between the bench markers in README.md; leaves the file alone without them. */
function updateReadme(block: string): void {
  const text = readFileSync(README, "utf8");
  const start = README_START.exec(text);
  const end = text.indexOf(README_END);
  if (!start || end < start.index) {
    log("README.md has no bench markers: not updated");
    return;
  }
  writeFileSync(README, text.slice(0, start.index + start[0].length) + block + "\n" + text.slice(end));
}

function buildReport(data: {
  results: Record<"health" | "login" | "me", EndpointResult>;
  cold: ColdStartResult;
  moxieIdle: { rss: number };
  baselineIdle: { rss: number };
  afterLoad: Record<ServerName, { rss: number; peak: number }>;
  flood: Record<ServerName, FloodResult>;
  rounds: number;
  roundsNote?: string;
  seedSource: string;
  otherLoadPercent: number;
}) {
  const { results, cold, moxieIdle, baselineIdle, afterLoad, flood, rounds, roundsNote, seedSource, otherLoadPercent } = data;
  const f = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");
  const verdict = (pass: boolean) => (pass ? "PASS" : "**FAIL**");
  const coldOverFloor = cold.medians.moxieServe - cold.medians.rawServe;
  const idleRatio = moxieIdle.rss / baselineIdle.rss;
  const floodRssRatio = flood.moxie.rss / flood.baseline.rss;
  const checks = {
    health: results.health.pass,
    login: results.login.pass,
    me: results.me.pass,
    floodP99: flood.moxie.me.p99 <= TARGETS.floodP99Ms,
    rssAfterFlood: floodRssRatio <= TARGETS.rssAfterFloodRatio,
    coldStart: coldOverFloor <= TARGETS.coldStartOverFloorMs,
    idleRss: idleRatio <= TARGETS.idleRssRatio,
  };
  const rows: string[][] = [];
  for (const key of ["health", "login", "me"] as const) {
    const r = results[key];
    rows.push([
      `${r.label} req/s (-c${r.connections})`,
      f(r.baselineRps),
      f(r.moxieRps),
      f(r.ratio, 2),
      `${f(r.baselineP50, 2)} / ${f(r.baselineP99, 2)}`,
      `${f(r.moxieP50, 2)} / ${f(r.moxieP99, 2)}`,
      key === "login"
        ? ""
        : `${f(median(r.rounds.baseline.filter((x) => !x.invalid).map((x) => x.serverCpuMsPer1k ?? NaN)))} / ` +
          `${f(median(r.rounds.moxie.filter((x) => !x.invalid).map((x) => x.serverCpuMsPer1k ?? NaN)))}`,
      `ratio ≥ ${r.target.toFixed(2)}`,
      verdict(r.pass),
    ]);
  }
  rows.push([
    `cold start: spawn → first 200 on /health, ms (median of ${cold.runs}; baseline = compiled raw Bun.serve)`,
    f(cold.medians.rawServe),
    f(cold.medians.moxieServe),
    `+${f(coldOverFloor)} ms`,
    "",
    "",
    `≤ floor + ${TARGETS.coldStartOverFloorMs} ms`,
    verdict(checks.coldStart),
  ]);
  rows.push(["idle RSS MB", f(baselineIdle.rss), f(moxieIdle.rss), f(idleRatio, 2), "", "", `ratio ≤ ${TARGETS.idleRssRatio}`, verdict(checks.idleRss)]);
  rows.push(["RSS after load MB", f(afterLoad.baseline.rss), f(afterLoad.moxie.rss), "", "", "", "", ""]);
  rows.push([
    "RSS after flood MB (peak)",
    `${f(flood.baseline.rss)} (${f(flood.baseline.peakRss)})`,
    `${f(flood.moxie.rss)} (${f(flood.moxie.peakRss)})`,
    f(floodRssRatio, 2),
    "",
    "",
    `ratio ≤ ${TARGETS.rssAfterFloodRatio}`,
    verdict(checks.rssAfterFlood),
  ]);
  rows.push([
    "/auth/me p99 during login flood ms",
    f(flood.baseline.me.p99, 2),
    f(flood.moxie.me.p99, 2),
    "",
    `${f(flood.baseline.me.p50, 2)} / ${f(flood.baseline.me.p99, 2)}`,
    `${f(flood.moxie.me.p50, 2)} / ${f(flood.moxie.me.p99, 2)}`,
    `≤ ${TARGETS.floodP99Ms} (moxie)`,
    verdict(checks.floodP99),
  ]);
  rows.push(["/auth/me req/s during login flood (-c4)", f(flood.baseline.me.rps), f(flood.moxie.me.rps), f(flood.moxie.me.rps / flood.baseline.me.rps, 2), "", "", "", ""]);
  const statuses = (s?: Record<string, number>) =>
    s ? `${s["2xx"] ?? 0}/${s["401"] ?? 0}/${s["429"] ?? 0}/${s["503"] ?? 0}/${s.other ?? 0}` : "n/a";
  rows.push(["flood logins 2xx/401/429/503/other", statuses(flood.baseline.login.statuses), statuses(flood.moxie.login.statuses), "", "", "", "", ""]);
  rows.push(["server CPU during flood %", f(flood.baseline.cpuPercent, 0), f(flood.moxie.cpuPercent, 0), "", "", "", "", ""]);

  const header = ["metric", "baseline", "moxie", "moxie/baseline", "baseline p50 / p99 ms", "moxie p50 / p99 ms", "server CPU µs/req baseline / moxie", "target", "result"];
  for (const row of rows) if (row.length === 8) row.splice(6, 0, "");
  const table = [
    `| ${header.join(" | ")} |`,
    `| ${header.map((_, i) => (i === 0 ? "---" : "---:")).join(" | ")} |`,
    ...rows.map((row) => `| ${row.join(" | ")} |`),
  ].join("\n");

  const cpuModel = /^model name\s*:\s*(.*)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1]?.trim() ?? "unknown";
  const nproc = Number(Bun.spawnSync(["nproc"]).stdout.toString().trim()) || availableParallelism();
  const machine = { nproc, cpuModel, bun: Bun.version };
  const date = new Date().toISOString();
  const problems: string[] = [];
  for (const key of ["health", "login", "me"] as const) {
    for (const name of ["baseline", "moxie"] as const) {
      const bad = results[key].rounds[name].filter((r) => r.non2xx > 0 || r.socketErrors > 0);
      for (const r of bad) {
        problems.push(
          `${results[key].label} on ${name}: ${r.non2xx} non-2xx, ${r.socketErrors} socket errors of ${r.requests}` +
            (r.invalid ? " (run excluded from the medians)" : ""),
        );
      }
    }
  }
  const failed = Object.values(checks).filter((v) => !v).length;
  const markdown = [
    `## moxie vs raw Bun.serve baseline${QUICK ? " (QUICK run: not comparable to a full run)" : ""}`,
    "",
    `${date} · ${nproc} cores, ${cpuModel} · Bun ${Bun.version} · ${CONFIG.users} users (${seedSource}) · ` +
      `${rounds} round(s) of ${CONFIG.seconds}s per endpoint and server, order alternating (wrk -t1; medians) · flood ${CONFIG.floodSeconds}s`,
    "",
    table,
    "",
    ...(otherLoadPercent > 5
      ? [`⚠ Other processes used ${otherLoadPercent.toFixed(0)}% of the machine's CPU during the measurements: throughput and latency are skewed; server CPU per request is the steadier comparison.`, ""]
      : []),
    `Overall: ${failed === 0 ? "all targets PASS" : `${failed} of ${Object.keys(checks).length} targets FAIL`}.`,
    "",
    `Cold start, medians of ${cold.runs} interleaved spawns each (bench/cold-start.ts; polling every 1 ms over a raw socket):`,
    "",
    "| what | median ms | runs ms |",
    "| --- | ---: | --- |",
    ...(Object.keys(COLD_LABELS) as Array<keyof typeof COLD_LABELS>).map(
      (kind) => `| ${COLD_LABELS[kind]} | ${f(cold.medians[kind])} | ${cold.samples[kind].map((v) => f(v, 0)).join(" ")} |`,
    ),
    "",
    `Both servers send the same headers (checked before the rounds): security headers, X-Request-Id, and CORS for ${ORIGIN}, ` +
      "which every /health and /auth/me request of the rounds carries as Origin.",
    "",
    `Flood: ${FLOOD_CLIENTS} connections of wrong-password logins (posing as ${FLOOD_ADDRESSES} clients via X-Forwarded-For; moxie runs with ` +
      "TRUSTED_PROXY=127.0.0.1) while 4 connections measure /auth/me. moxie answers 503 + Retry-After when its hashing queue " +
      "is full; the baseline queues every hash. Memory is VmRSS in MiB.",
    ...(roundsNote ? ["", `Note: ${roundsNote}.`] : []),
    ...(problems.length > 0 ? ["", "Unexpected errors during the rounds:", ...problems.map((p) => `- ${p}`)] : []),
  ].join("\n");

  const group = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US").replaceAll(",", " ") : "n/a");
  const mark = (pass: boolean) => (pass ? "✓" : "✗");
  const cpu = (key: "health" | "me", name: ServerName) =>
    f(median(results[key].rounds[name].filter((x) => !x.invalid).map((x) => x.serverCpuMsPer1k ?? NaN)));
  const readme = [
    `Last full run: ${date.slice(0, 16).replace("T", " ")} UTC, ${nproc} cores (${cpuModel}), Bun ${Bun.version}, ` +
      `${rounds} rounds × ${CONFIG.seconds} s (\`bench/results/latest.md\`).` +
      (otherLoadPercent > 5
        ? ` **The machine was shared with other work (other processes took ${otherLoadPercent.toFixed(0)} % of its CPU during ` +
          "the rounds), so req/s, latency and login are skewed; server CPU per request is the steadier figure. " +
          "Rerun on a quiet machine.**"
        : ` Other processes took ${otherLoadPercent.toFixed(0)} % of the machine's CPU during the rounds.`),
    "",
    "| metric | baseline | moxie | ratio | target |",
    "|---|---:|---:|---:|---|",
    `| \`GET /health\` req/s (server CPU µs/req) | ${group(results.health.baselineRps)} (${cpu("health", "baseline")}) | ` +
      `${group(results.health.moxieRps)} (${cpu("health", "moxie")}) | ${f(results.health.ratio, 2)} | ≥ ${TARGETS.healthRatio.toFixed(2)} ${mark(checks.health)} |`,
    `| \`POST /auth/login\` req/s (argon2-bound) | ${f(results.login.baselineRps)} | ${f(results.login.moxieRps)} | ` +
      `${f(results.login.ratio, 2)} | ≥ ${TARGETS.loginRatio.toFixed(2)} ${mark(checks.login)} |`,
    `| \`GET /auth/me\` req/s (server CPU µs/req) | ${group(results.me.baselineRps)} (${cpu("me", "baseline")}) | ` +
      `${group(results.me.moxieRps)} (${cpu("me", "moxie")}) | ${f(results.me.ratio, 2)} | ≥ ${TARGETS.meRatio.toFixed(2)} ${mark(checks.me)} |`,
    `| \`/auth/me\` p99 during a ${FLOOD_CLIENTS}-client login flood | ${f(flood.baseline.me.p99)} ms | ${f(flood.moxie.me.p99)} ms | | ` +
      `≤ ${TARGETS.floodP99Ms} ms ${mark(checks.floodP99)} |`,
    `| cold start: spawn → first 200 on \`/health\` (median of ${cold.runs}) | ${f(cold.medians.rawServe)} ms (raw \`Bun.serve\`) | ` +
      `${f(cold.medians.moxieServe)} ms | +${f(coldOverFloor)} ms | ≤ +${TARGETS.coldStartOverFloorMs} ms ${mark(checks.coldStart)} |`,
    `| idle RSS | ${f(baselineIdle.rss)} MB | ${f(moxieIdle.rss)} MB | ${f(idleRatio, 2)} | ≤ ${TARGETS.idleRssRatio} ${mark(checks.idleRss)} |`,
    `| RSS right after the login flood | ${f(flood.baseline.rss)} MB | ${f(flood.moxie.rss)} MB | ${f(floodRssRatio, 2)} | ` +
      `≤ ${TARGETS.rssAfterFloodRatio} ${mark(checks.rssAfterFlood)} |`,
    "",
    `Cold start in the same run: an empty compiled binary exits after ${f(cold.medians.empty)} ms, \`moxie --version\` after ` +
      `${f(cold.medians.version)} ms.`,
  ].join("\n");

  const json = {
    date,
    quick: QUICK,
    machine,
    config: { ...CONFIG, roundsRun: rounds, seed: seedSource },
    targets: TARGETS,
    endpoints: results,
    coldStartMs: { ...cold, moxieOverFloor: coldOverFloor },
    rssRatios: { idle: idleRatio, afterFlood: floodRssRatio },
    rssMb: {
      idle: { moxie: moxieIdle.rss, baseline: baselineIdle.rss },
      afterLoad: { moxie: afterLoad.moxie.rss, baseline: afterLoad.baseline.rss },
      afterFlood: { moxie: flood.moxie.rss, baseline: flood.baseline.rss },
      peakAfterFlood: { moxie: flood.moxie.peakRss, baseline: flood.baseline.peakRss },
    },
    flood,
    checks,
    allPass: failed === 0,
    problems,
    otherLoadPercent,
    notes: roundsNote ? [roundsNote] : [],
  };
  return { markdown, json, readme };
}

try {
  await main();
  log(`done in ${elapsed()}`);
} catch (error) {
  console.error(`\nbenchmark failed: ${(error as Error).stack ?? error}`);
  process.exitCode = 1;
} finally {
  clearTimeout(watchdog);
  killEverything();
}
