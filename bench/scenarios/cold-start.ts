// Cold start as a user sees it, beside the floors measured in the same run, interleaved:
//   - an empty compiled Bun binary (spawn to exit): the floor for a command,
//   - `moxie --version` (spawn to exit: nothing to do but print),
//   - `moxie users` on a copy of the seeded database cut to the office's 8 accounts (spawn to exit: open the
//     file, print the accounts), and on the whole seeded database (no target: the listing grows with accounts),
//   - a compiled raw Bun.serve answering /health (spawn to first 200, polling every millisecond): the floor for
//     any Bun server,
//   - `moxie serve` on a copy of the seeded database (spawn to first 200).
// It also times `moxie serve` and `--version` the way the first bench/run.ts did (fetch, then a 2 ms sleep
// between polls; `--version` through piped stdout/stderr read to the end), so the report can say where
// that benchmark's 95 ms came from. bench/cold-start.ts runs this alone.
import { Database } from "bun:sqlite";
import { closeSync, copyFileSync, mkdirSync, openSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, median, stop } from "../lib/processes.ts";
import { firstOkByFetch } from "../lib/servers.ts";
import { COLD_TARGETS } from "../lib/targets.ts";

export interface ColdStartResult {
  runs: number;
  /** ms per run, in run order */
  samples: Record<ColdKind, number[]>;
  medians: Record<ColdKind, number>;
}

export type ColdKind = "empty" | "version" | "users" | "usersAll" | "rawServe" | "moxieServe" | "moxieServeOldPolling" | "versionOldPipes";

/** The team: seven agents and the admin. `users` is timed on a file this size, as the office runs it. */
export const OFFICE_ACCOUNTS = 8;

export const COLD_LABELS: Record<ColdKind, string> = {
  empty: "empty compiled Bun binary, spawn → exit",
  version: "`moxie --version`, spawn → exit",
  users: `\`moxie users\` on the seeded database cut to the office's ${OFFICE_ACCOUNTS} accounts, spawn → exit`,
  usersAll: "`moxie users` on the whole seeded database, spawn → exit (grows with the accounts listed; no target)",
  rawServe: "compiled raw `Bun.serve`, spawn → first 200 on /health (the floor)",
  moxieServe: "`moxie serve`, spawn → first 200 on /health",
  moxieServeOldPolling: "`moxie serve`, the first harness's way (fetch + 2 ms sleep between polls, log file)",
  versionOldPipes: "`moxie --version`, the first harness's way (stdout/stderr piped and read)",
};

export interface ColdCheck {
  key: "serve" | "version" | "users";
  /** What is timed, and the floor it is measured against. */
  what: string;
  floorName: string;
  floorMs: number;
  ms: number;
  overFloorMs: number;
  targetMs: number;
  pass: boolean;
}

/** Each command against its floor, medians of the same run (targets in bench/lib/targets.ts). */
export function coldChecks(medians: Record<ColdKind, number>): ColdCheck[] {
  const check = (key: ColdCheck["key"], what: string, kind: ColdKind, floor: "empty" | "rawServe", targetMs: number): ColdCheck => {
    const overFloorMs = medians[kind] - medians[floor];
    const floorName = floor === "empty" ? "empty compiled binary" : "compiled raw Bun.serve";
    return { key, what, floorName, floorMs: medians[floor], ms: medians[kind], overFloorMs, targetMs, pass: overFloorMs <= targetMs };
  };
  return [
    check("serve", "`moxie serve`, spawn → first 200 on /health", "moxieServe", "rawServe", COLD_TARGETS.serveOverRawMs),
    check("version", "`moxie --version`, spawn → exit", "version", "empty", COLD_TARGETS.versionOverEmptyMs),
    check("users", `\`moxie users\` (${OFFICE_ACCOUNTS} accounts), spawn → exit`, "users", "empty", COLD_TARGETS.usersOverEmptyMs),
  ];
}

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

/** A copy of `seeded` keeping only its first `accounts` accounts (and their audit events), checkpointed. */
function cutTo(seeded: string, copy: string, accounts: number): void {
  copyFileSync(seeded, copy);
  const db = new Database(copy);
  try {
    db.run("DELETE FROM users WHERE id NOT IN (SELECT id FROM users ORDER BY id LIMIT ?)", [accounts]);
    db.run("DELETE FROM audit_events WHERE user_id IS NOT NULL AND user_id NOT IN (SELECT id FROM users)");
    db.run("PRAGMA wal_checkpoint(TRUNCATE)");
  } finally {
    db.close();
  }
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
  const kinds: ColdKind[] = ["empty", "version", "users", "usersAll", "rawServe", "moxieServe", "moxieServeOldPolling", "versionOldPipes"];
  const officeDb = join(workDir, "cold-office.db");
  cutTo(seededDb, officeDb, OFFICE_ACCOUNTS);
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
        case "users":
        case "usersAll": {
          // On a copy of its own, as serve runs: the seeded file stays exactly as it was for every later spawn.
          const db = join(dir, "moxie.db");
          copyFileSync(kind === "users" ? officeDb : seededDb, db);
          const start = performance.now();
          const code = await spawn([binary, "users"], dir, { env: env(db) }).exited;
          const took = performance.now() - start;
          if (code !== 0) {
            // Timed with its output discarded, like the others; asked again only to say why it failed.
            const again = Bun.spawnSync([binary, "users"], { cwd: dir, env: env(db), stdout: "ignore", stderr: "pipe" });
            throw new Error(`moxie users exited with ${code}: ${again.stderr.toString().trim()}`);
          }
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
  rmSync(officeDb, { force: true });
  const medians = Object.fromEntries(kinds.map((k) => [k, median(samples[k])])) as Record<ColdKind, number>;
  options.log?.(
    "cold start medians: " + kinds.map((k) => `${k} ${medians[k].toFixed(1)} ms`).join(", "),
  );
  return { runs, samples, medians };
}
