// Cold start as a user sees it: from spawn to the first 200 on GET /health, polling every millisecond, beside
// the floors measured in the same run, interleaved:
//   - an empty compiled Bun binary (spawn to exit),
//   - `moxie --version` (spawn to exit: the bundle loads, nothing else runs),
//   - a compiled raw Bun.serve answering /health (spawn to first 200: the floor for any Bun server),
//   - `moxie serve` on a copy of the seeded database (spawn to first 200).
// It also times `moxie serve` and `--version` the way the first bench/run.ts did (fetch, then a 2 ms sleep
// between polls; `--version` through piped stdout/stderr read to the end), so the report can say where
// that benchmark's 95 ms came from.
//
//   bun bench/cold-start.ts --binary ./moxie --db seeded.db [--runs 15]      (standalone: about 20 s)
import { closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

export interface ColdStartResult {
  runs: number;
  /** ms per run, in run order */
  samples: Record<ColdKind, number[]>;
  medians: Record<ColdKind, number>;
}

export type ColdKind = "empty" | "version" | "rawServe" | "moxieServe" | "moxieServeOldPolling" | "versionOldPipes";

export const COLD_LABELS: Record<ColdKind, string> = {
  empty: "empty compiled Bun binary, spawn → exit",
  version: "`moxie --version`, spawn → exit",
  rawServe: "compiled raw `Bun.serve`, spawn → first 200 on /health (the floor)",
  moxieServe: "`moxie serve`, spawn → first 200 on /health",
  moxieServeOldPolling: "`moxie serve`, the first harness's way (fetch + 2 ms sleep between polls, log file)",
  versionOldPipes: "`moxie --version`, the first harness's way (stdout/stderr piped and read)",
};

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** Compiles the two floor programs once per Bun version into `cacheDir`, as `bun run build` compiles moxie. */
export async function floorBinaries(cacheDir: string): Promise<{ empty: string; raw: string }> {
  const dir = join(cacheDir, `floors-bun-${Bun.version}`);
  mkdirSync(dir, { recursive: true });
  const sources = {
    empty: "// nothing: the cost of starting a compiled Bun binary\n",
    raw:
      "const server = Bun.serve({ hostname: '127.0.0.1', port: Number(process.env.PORT), development: false,\n" +
      "  routes: { '/health': { GET: () => Response.json({ status: 'ok' }) } }, fetch: () => new Response(null, { status: 404 }) });\n" +
      "process.on('SIGTERM', () => { server.stop(true); process.exit(0); });\n",
  };
  const out: Record<string, string> = {};
  for (const [name, source] of Object.entries(sources)) {
    const binary = join(dir, name);
    out[name] = binary;
    if (await Bun.file(binary).exists()) continue;
    const entry = join(dir, `${name}.ts`);
    writeFileSync(entry, source);
    const build = Bun.spawnSync(
      ["bun", "build", entry, "--compile", "--bytecode", "--format=esm", "--no-compile-autoload-bunfig", "--no-compile-autoload-dotenv", "--minify-whitespace", "--minify-syntax", "--outfile", binary],
      { stdout: "pipe", stderr: "pipe" },
    );
    if (build.exitCode !== 0) throw new Error(`compiling the ${name} floor failed:\n${build.stderr.toString()}`);
  }
  return out as { empty: string; raw: string };
}

function freePort(): number {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = probe.port!;
  void probe.stop(true);
  return port;
}

/**
 * One GET /health with a raw socket and a 1 ms poll: Bun.connect fails at once on a closed port, and the
 * answer's first line is enough. Resolves with the ms from `start` to the first 200.
 */
async function firstOk(port: number, proc: { exitCode: number | null }, start: number, timeoutMs: number): Promise<number> {
  const request = new TextEncoder().encode(`GET /health HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
  while (performance.now() - start < timeoutMs) {
    if (proc.exitCode !== null) throw new Error(`server exited with code ${proc.exitCode} before answering`);
    const status = await new Promise<number>((resolve) => {
      let text = "";
      Bun.connect({
        hostname: "127.0.0.1",
        port,
        socket: {
          open: (socket) => void socket.write(request),
          data: (socket, data) => {
            text += data.toString();
            const line = /^HTTP\/1\.1 (\d{3})/.exec(text);
            if (line) {
              resolve(Number(line[1])); // before end(): end() calls close, which would resolve 0 first
              socket.end();
            }
          },
          close: () => resolve(0),
          error: () => resolve(0),
          connectError: () => resolve(0),
        },
      }).catch(() => resolve(0));
    });
    if (status === 200) return performance.now() - start;
    await Bun.sleep(1);
  }
  throw new Error(`no 200 on /health within ${timeoutMs} ms`);
}

/**
 * fetch, and a 2 ms sleep after each failure: the first bench/run.ts's timing loop, and still how bench/run.ts
 * waits for a server to be ready (it does not time that wait).
 */
export async function firstOkByFetch(port: number, proc: { exitCode: number | null }, start: number, timeoutMs: number): Promise<number> {
  while (performance.now() - start < timeoutMs) {
    if (proc.exitCode !== null) throw new Error(`server exited with code ${proc.exitCode}`);
    try {
      const response = await fetch(`http://127.0.0.1:${port}/health`);
      if (response.status === 200) {
        await response.arrayBuffer();
        return performance.now() - start;
      }
    } catch {}
    await Bun.sleep(2);
  }
  throw new Error(`no 200 on /health within ${timeoutMs} ms`);
}

async function stop(proc: ReturnType<typeof Bun.spawn>) {
  if (proc.exitCode !== null) return;
  proc.kill("SIGTERM");
  const timer = setTimeout(() => proc.kill("SIGKILL"), 3000);
  await proc.exited;
  clearTimeout(timer);
}

export async function measureColdStart(options: {
  binary: string;
  seededDb: string;
  workDir: string;
  cacheDir: string;
  runs: number;
  env: (dbPath: string) => Record<string, string | undefined>;
  onSpawn?: (proc: ReturnType<typeof Bun.spawn>) => void;
  log?: (line: string) => void;
}): Promise<ColdStartResult> {
  const { binary, seededDb, workDir, runs, env } = options;
  const floors = await floorBinaries(options.cacheDir);
  const kinds: ColdKind[] = ["empty", "version", "rawServe", "moxieServe", "moxieServeOldPolling", "versionOldPipes"];
  const samples = Object.fromEntries(kinds.map((k) => [k, [] as number[]])) as Record<ColdKind, number[]>;
  const spawn = (cmd: string[], cwd: string, extra: Parameters<typeof Bun.spawn>[1] = {}) => {
    const proc = Bun.spawn(cmd, { cwd, stdin: "ignore", stdout: "ignore", stderr: "ignore", ...extra });
    options.onSpawn?.(proc);
    return proc;
  };

  async function once(kind: ColdKind, run: number): Promise<number> {
    const dir = join(workDir, `cold-${kind}-${run}`);
    mkdirSync(dir, { recursive: true });
    try {
      switch (kind) {
        case "empty":
        case "version": {
          const cmd = kind === "empty" ? [floors.empty] : [binary, "--version"];
          const start = performance.now();
          const proc = spawn(cmd, dir);
          const code = await proc.exited;
          const took = performance.now() - start;
          if (code !== 0) throw new Error(`${cmd.join(" ")} exited with ${code}`);
          return took;
        }
        case "versionOldPipes": {
          const start = performance.now();
          const proc = spawn([binary, "--version"], dir, { stdout: "pipe", stderr: "pipe" });
          await Promise.all([new Response(proc.stdout as ReadableStream).text(), new Response(proc.stderr as ReadableStream).text(), proc.exited]);
          return performance.now() - start;
        }
        case "rawServe": {
          const port = freePort();
          const start = performance.now();
          const proc = spawn([floors.raw], dir, { env: { ...process.env, PORT: String(port) } });
          try {
            return await firstOk(port, proc, start, 10_000);
          } finally {
            await stop(proc);
          }
        }
        case "moxieServe":
        case "moxieServeOldPolling": {
          const db = join(dir, "moxie.db");
          copyFileSync(seededDb, db);
          const port = freePort();
          const old = kind === "moxieServeOldPolling";
          const logFd = old ? openSync(join(dir, "log"), "a") : undefined;
          const start = performance.now();
          const proc = spawn([binary, "serve", "--port", String(port)], dir, {
            env: env(db),
            ...(logFd !== undefined && { stdout: logFd, stderr: logFd }),
          });
          if (logFd !== undefined) closeSync(logFd);
          try {
            return await (old ? firstOkByFetch : firstOk)(port, proc, start, 10_000);
          } finally {
            await stop(proc);
          }
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  // One unmeasured pass first, so every binary's pages are in the page cache (as for a service that restarts).
  for (const kind of kinds) await once(kind, -1);
  for (let run = 0; run < runs; run++) {
    // Rotate the order each run, so no kind always follows the same one.
    for (let i = 0; i < kinds.length; i++) {
      const kind = kinds[(i + run) % kinds.length]!;
      samples[kind].push(await once(kind, run));
    }
  }
  const medians = Object.fromEntries(kinds.map((k) => [k, median(samples[k])])) as Record<ColdKind, number>;
  options.log?.(
    "cold start medians: " + kinds.map((k) => `${k} ${medians[k].toFixed(1)} ms`).join(", "),
  );
  return { runs, samples, medians };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Bun.argv.slice(2),
    options: { binary: { type: "string" }, db: { type: "string" }, runs: { type: "string", default: "15" } },
  });
  if (!values.binary || !values.db) {
    console.error("usage: bun bench/cold-start.ts --binary ./moxie --db SEEDED.db [--runs 15]");
    process.exit(2);
  }
  const cacheDir = join(import.meta.dir, ".cache");
  mkdirSync(cacheDir, { recursive: true });
  const work = mkdtempSync(join(cacheDir, "cold-"));
  try {
    const result = await measureColdStart({
      binary: resolve(values.binary),
      seededDb: resolve(values.db),
      workDir: work,
      cacheDir,
      runs: Number(values.runs),
      env: (db) => ({ ...process.env, DATABASE_URL: db, SECRET_KEY: "cold-start-secret-0123456789abcdef-0123456789abcdef", PORT: undefined }),
    });
    for (const [kind, label] of Object.entries(COLD_LABELS)) {
      const samples = result.samples[kind as ColdKind].map((v) => v.toFixed(1)).join(" ");
      console.log(`${label}: median ${result.medians[kind as ColdKind].toFixed(1)} ms  [${samples}]`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
