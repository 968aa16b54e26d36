// wrk for bench/run.ts: running it (installing it when missing), parsing its --latency output, and the run's Lua
// scripts, which cycle prebuilt requests.
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AGENT_PASSWORD, FLOOD_ADDRESSES, ORIGIN, WRONG_PASSWORD } from "./plan.ts";
import { log, run } from "./processes.ts";

export interface WrkResult {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  non2xx: number;
  socketErrors: number;
  statuses?: Record<string, number>;
  /** Server CPU time per 1000 requests, filled in by the rounds. */
  serverCpuMsPer1k?: number;
  /** Set by the rounds when too many requests failed for the run to count. */
  invalid?: boolean;
}

function toMs(value: string, unit: string): number {
  const n = Number(value);
  switch (unit) {
    case "us":
      return n / 1000;
    case "ms":
      return n;
    case "s":
      return n * 1000;
    case "m":
      return n * 60_000;
    case "h":
      return n * 3_600_000;
    default:
      throw new Error(`unknown wrk time unit '${unit}'`);
  }
}

export function parseWrk(output: string): WrkResult {
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(output);
  if (!rps) throw new Error(`unexpected wrk output:\n${output}`);
  const percentile = (p: string) => {
    const match = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m|h)\\s*$`, "m").exec(output);
    return match ? toMs(match[1]!, match[2]!) : NaN;
  };
  const sockets = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const statusLine = /^STATUS (.*)$/m.exec(output);
  return {
    rps: Number(rps[1]),
    p50: percentile("50"),
    p99: percentile("99"),
    requests: Number(/(\d+) requests in/.exec(output)?.[1] ?? 0),
    non2xx: Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(output)?.[1] ?? 0),
    socketErrors: sockets ? sockets.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0,
    statuses: statusLine
      ? Object.fromEntries(statusLine[1]!.trim().split(/\s+/).map((pair) => pair.split("=") as [string, string]).map(([k, v]) => [k, Number(v)]))
      : undefined,
  };
}

const lua = (value: string) => JSON.stringify(value); // our strings are plain ASCII: a JSON string is a Lua string

/** A script that cycles through prebuilt requests, so wrk does no per-request formatting beyond a table read. */
export function cyclingScript(requests: string[], countStatuses: boolean): string {
  const lines = [
    "local requests = {}",
    "local n = 0",
    "local i = 0",
    "local threads = {}",
    "function setup(thread) table.insert(threads, thread) end",
    "function init(args)",
    `  local raw = { ${requests.join(",\n    ")} }`,
    "  for k, r in ipairs(raw) do requests[k] = r end",
    "  n = #requests",
    "  i = math.random(0, n - 1)",
    "  c2xx, c401, c429, c503, cother = 0, 0, 0, 0, 0",
    "end",
    "function request()",
    "  i = (i % n) + 1",
    "  return requests[i]",
    "end",
  ];
  if (countStatuses) {
    lines.push(
      "function response(status, headers, body)",
      "  if status >= 200 and status < 300 then c2xx = c2xx + 1",
      "  elseif status == 401 then c401 = c401 + 1",
      "  elseif status == 429 then c429 = c429 + 1",
      "  elseif status == 503 then c503 = c503 + 1",
      "  else cother = cother + 1 end",
      "end",
      "function done(summary, latency, requests)",
      "  local a, b, c, d, e = 0, 0, 0, 0, 0",
      "  for _, t in ipairs(threads) do",
      '    a = a + t:get("c2xx"); b = b + t:get("c401"); c = c + t:get("c429"); d = d + t:get("c503"); e = e + t:get("cother")',
      "  end",
      '  io.write(string.format("STATUS 2xx=%d 401=%d 429=%d 503=%d other=%d\\n", a, b, c, d, e))',
      "end",
    );
  }
  return lines.join("\n") + "\n";
}

export function loginRequest(email: string, password: string, forwardedFor?: string): string {
  const body = JSON.stringify({ email, password });
  const xff = forwardedFor ? `, ["X-Forwarded-For"] = ${lua(forwardedFor)}` : "";
  return `wrk.format("POST", "/auth/login", { ["Content-Type"] = "application/json"${xff} }, ${lua(body)})`;
}

/** A browser frontend on another origin sends Origin on every call: the CORS path is part of what is measured. */
export function meRequest(token: string, origin?: string): string {
  const from = origin ? `, ["Origin"] = ${lua(origin)}` : "";
  return `wrk.format("GET", "/auth/me", { ["Authorization"] = ${lua(`Bearer ${token}`)}${from} })`;
}

export function healthRequest(origin?: string): string {
  return `wrk.format("GET", "/health", { ${origin ? `["Origin"] = ${lua(origin)}` : ""} })`;
}


/** One wrk run (one thread), failing loudly on anything but a clean exit. */
export async function wrk(url: string, connections: number, seconds: number, script?: string): Promise<WrkResult> {
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

export async function ensureWrk(): Promise<void> {
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

export interface RunScripts {
  health: string;
  login: string;
  me: string;
  flood: string;
}

/** The run's scripts in `work`: logins cycle through every agent, /auth/me through the given tokens. */
export function writeScripts(work: string, agents: string[], meTokens: string[]): RunScripts {
  const scripts = { health: join(work, "health.lua"), login: join(work, "login.lua"), me: join(work, "me.lua"), flood: join(work, "flood.lua") };
  const fakeClient = (i: number) => `127.77.${Math.floor(i / 250) % 250}.${(i % 250) + 1}`;
  writeFileSync(scripts.health, cyclingScript([healthRequest(ORIGIN)], false));
  writeFileSync(scripts.login, cyclingScript(agents.map((email) => loginRequest(email, AGENT_PASSWORD)), false));
  writeFileSync(scripts.me, cyclingScript(meTokens.map((token) => meRequest(token, ORIGIN)), false));
  writeFileSync(
    scripts.flood,
    cyclingScript(agents.map((email, i) => loginRequest(email, WRONG_PASSWORD, fakeClient(i % FLOOD_ADDRESSES))), true),
  );
  return scripts;
}
