// Spawning moxie as an operator would: the CLI from source or the compiled binary, with an explicit
// environment, a temp working directory, and servers that are always killed when a test ends.
import { Database } from "bun:sqlite";
import { expect } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../helpers.ts";

export type Env = Record<string, string>;

/**
 * The source CLI. `--no-env-file` stops Bun itself from loading ./.env, as the compiled binary (built with
 * --no-compile-autoload-dotenv) does not either: any .env effect seen is moxie's own reader.
 */
export const SOURCE_CLI = [process.execPath, "--no-env-file", join(ROOT, "src/main.ts")];
const RUN_TIMEOUT_MS = 20_000;

/**
 * What a trimmed environment still carries: the search path, the home, and the clock a run under Debian's
 * `faketime` set (`LD_PRELOAD` and libfaketime's own variables), so a child's clock is the test's clock.
 */
const KEPT = /^(PATH|HOME|LD_PRELOAD|FAKETIME\w*|DONT_FAKE_MONOTONIC|NO_FAKE_STAT)$/;

/** Only what the test names: SECRET_KEY/DATABASE_URL/PORT from the developer's shell never leak in. */
export function cleanEnv(extra: Env = {}): Env {
  const env: Env = {};
  for (const [name, value] of Object.entries(process.env)) if (KEPT.test(name) && value !== undefined) env[name] = value;
  return { ...env, ...extra };
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface SpawnOptions {
  cwd: string;
  /** Added to cleanEnv(): PATH and HOME plus these. */
  env?: Env;
  /** What runs, before the arguments: the source CLI unless given (e.g. `[binary]` or `["./moxie"]`). */
  command?: string[];
}

/** Runs a command to completion (killed after `timeoutMs`, 20 s unless given). `command` defaults to the source CLI. */
export async function runCli(
  args: string[],
  options: SpawnOptions & { stdin?: "ignore" | Blob; timeoutMs?: number },
): Promise<RunResult> {
  const proc = Bun.spawn([...(options.command ?? SOURCE_CLI), ...args], {
    cwd: options.cwd,
    env: cleanEnv(options.env),
    stdin: options.stdin ?? "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), options.timeoutMs ?? RUN_TIMEOUT_MS);
  try {
    const [stdout, stderr, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    return { code, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}

export interface ServerProcess {
  proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
  stdout(): string;
  stderr(): string;
  /** The JSON log lines printed so far. */
  logs(): Array<Record<string, unknown>>;
  /** Settles once both output pipes have been read to their end (after the process exits). */
  drained: Promise<void>;
}

const live = new Set<ServerProcess>();

/**
 * SIGKILLs every server startServe() started that is still running. test/setup.ts (a bunfig preload) runs it
 * after every test of every file: an afterEach here would only be registered for the first file that imports
 * this module when files share one module registry.
 */
export async function killLiveServers(): Promise<void> {
  for (const server of [...live]) {
    server.proc.kill("SIGKILL");
    await server.proc.exited;
    live.delete(server);
  }
}

function collect(stream: ReadableStream<Uint8Array>, append: (text: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  return (async () => {
    for await (const chunk of stream) append(decoder.decode(chunk, { stream: true }));
  })().catch(() => {});
}

/** Starts `serve` in the background with its output collected; stopping it is the caller's business. */
export function spawnServe(args: string[], options: SpawnOptions): ServerProcess {
  const proc = Bun.spawn([...(options.command ?? SOURCE_CLI), "serve", ...args], {
    cwd: options.cwd,
    env: cleanEnv(options.env),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let out = "";
  let err = "";
  const drained = Promise.all([collect(proc.stdout, (text) => (out += text)), collect(proc.stderr, (text) => (err += text))]).then(() => {});
  const server: ServerProcess = {
    proc,
    drained,
    stdout: () => out,
    stderr: () => err,
    logs: () =>
      out
        .split("\n")
        .filter((line) => line.trim() !== "")
        .map((line) => {
          try {
            return JSON.parse(line) as Record<string, unknown>;
          } catch {
            return { unparsed: line };
          }
        }),
  };
  return server;
}

/** Starts `serve` in the background; it is SIGKILLed after the test if still running. */
export function startServe(args: string[], options: SpawnOptions): ServerProcess {
  const server = spawnServe(args, options);
  live.add(server);
  return server;
}

export async function waitUntil<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await Bun.sleep(25);
  }
}

/** Waits for the "moxie listening" line and then for /health to answer; returns the base URL. */
export async function listeningUrl(server: ServerProcess): Promise<string> {
  const url = await waitUntil("the 'moxie listening' log line", () => {
    if (server.proc.exitCode !== null) {
      throw new Error(`serve exited with ${server.proc.exitCode}: ${server.stderr()} ${server.stdout()}`);
    }
    const line = server.logs().find((entry) => entry.msg === "moxie listening");
    return typeof line?.url === "string" ? line.url : undefined;
  });
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  await waitUntil("GET /health", async () => {
    try {
      return (await fetch(`${url}/health`)).ok ? true : undefined;
    } catch {
      return undefined;
    }
  });
  return url;
}

/** Sends `signal` and returns the exit code; fails if the process does not stop within `ms`. */
export async function stopServer(server: ServerProcess, signal: "SIGTERM" | "SIGINT" | "SIGKILL" = "SIGTERM", ms = 12_000): Promise<number> {
  server.proc.kill(signal);
  const code = await Promise.race([server.proc.exited, Bun.sleep(ms).then(() => "timeout" as const)]);
  live.delete(server);
  if (code === "timeout") {
    server.proc.kill("SIGKILL");
    await server.proc.exited;
    throw new Error(`serve did not stop within ${ms} ms of ${signal}`);
  }
  // What it printed last can still be in the pipe when it exits: read it all before anyone looks at the output.
  await Promise.race([server.drained, Bun.sleep(2000)]);
  return code;
}

/** A port nothing listens on right now (bound by us and released). */
export function freePort(): number {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("") });
  const port = probe.port;
  probe.stop(true);
  if (port === undefined) throw new Error("no port");
  return port;
}

export async function login(url: string, email: string, password: string): Promise<Response> {
  return fetch(`${url}/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
}

/** A row of the users table as the file stores it (the foundation release's columns). */
export interface UserRow {
  id: number;
  name: string;
  email: string;
  password_hash: string;
  role: string;
  is_active: number;
  created_at: string;
}

/** Runs `read` on a separate read-only connection to the file; undefined when there is no file. */
export function readDb<T>(dbPath: string, read: (db: Database) => T): T | undefined {
  if (!existsSync(dbPath)) return undefined;
  return readExistingDb(dbPath, read);
}

/** Runs `read` on a separate read-only connection to the file, which must exist. */
export function readExistingDb<T>(dbPath: string, read: (db: Database) => T): T {
  const db = new Database(dbPath, { readonly: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

/** A one-line `moxie: ...` on stderr (moxie's own words, never a runtime's "Error:") and no stack frames. */
export function expectOneLineError(stderr: string): void {
  expect(stderr.trim().split("\n")).toHaveLength(1);
  expect(stderr).toStartWith("moxie: ");
  expect(stderr).not.toMatch(/^\s+at\s/m);
}
