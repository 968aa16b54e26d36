// moxie and the baseline as bench/run.ts runs them: one environment, started and awaited the same way, and the
// check that both answer one contract (bodies, each other's tokens, headers) before anything is measured.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { DEFAULT_ME_KEYS } from "../baseline.ts";
import { ADMIN, AGENT_PASSWORD, ORIGIN, SECRET, WRONG_PASSWORD } from "./plan.ts";
import { freePort, log, ROOT, spawn } from "./processes.ts";

export type ServerName = "baseline" | "moxie";

export interface Server {
  name: ServerName;
  port: number;
  proc: Subprocess;
  url: string;
  logFile: string;
}

/**
 * moxie's defaults, except that wrk counts as a trusted proxy: the flood then poses as many clients through
 * X-Forwarded-For, as a distributed attack would, so it exercises the hashing gate rather than the per-address
 * login throttle (which would answer a single address 429 after a few dozen failures).
 */
export function serverEnv(dbPath: string): Record<string, string | undefined> {
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

export async function startServer(
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

export async function call(url: string, init?: RequestInit): Promise<{ status: number; body: any; headers: Headers }> {
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
export const me = (server: Server, token: string) =>
  call(`${server.url}/auth/me`, { headers: { authorization: `Bearer ${token}`, origin: ORIGIN } });

/** Both servers must honour one contract and accept each other's tokens, or the comparison means nothing. */
export async function checkContract(baseline: Server, moxie: Server, meTokens: string[]): Promise<void> {
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
