// Throughput and latency: wrk on /health, login and /auth/me, the servers interleaved in rounds whose order
// alternates, with the server's CPU per request; medians per endpoint against the ratio targets.
import type { Config } from "../lib/plan.ts";
import { cpuSeconds, log, median, secondsSinceStart, waitIdle } from "../lib/processes.ts";
import type { Server, ServerName } from "../lib/servers.ts";
import { TARGETS } from "../lib/targets.ts";
import { wrk, type RunScripts, type WrkResult } from "../lib/wrk.ts";

export type EndpointKey = "health" | "login" | "me";

interface EndpointSpec {
  key: EndpointKey;
  label: string;
  path: string;
  connections: number;
  script?: string;
}

export interface EndpointResult {
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

export function endpoints(scripts: RunScripts): EndpointSpec[] {
  return [
    { key: "health", label: "GET /health", path: "/health", connections: 50, script: scripts.health },
    { key: "login", label: "POST /auth/login", path: "/auth/login", connections: 8, script: scripts.login },
    { key: "me", label: "GET /auth/me", path: "/auth/me", connections: 50, script: scripts.me },
  ];
}

export async function warmUp(servers: Server[], seconds: number, scripts: RunScripts): Promise<void> {
  log(`warm-up: ${seconds}s of /health and /auth/me on each server`);
  for (const server of servers) {
    await wrk(`${server.url}/health`, 50, seconds, scripts.health);
    await wrk(`${server.url}/auth/me`, 50, seconds, scripts.me);
    await waitIdle(server.proc.pid);
  }
}

/** Fits the rounds into what is left of the time limit, keeping room for the flood and the report. */
export function roundsThatFit(config: Config, endpointCount: number, seedSource: string): { rounds: number; note?: string } {
  const perRound = endpointCount * 2 * (config.seconds + 0.5) + 2 * 3; // + draining the login runs
  const reserve = 2 * (config.floodSeconds + 3) + 15;
  const left = config.deadlineSeconds - secondsSinceStart() - reserve;
  const rounds = Math.max(1, Math.min(config.rounds, Math.floor(left / perRound)));
  const note =
    rounds < config.rounds
      ? `only ${rounds} of ${config.rounds} rounds fit in the ${config.deadlineSeconds}s limit after seeding (${seedSource}); rerun to use the cached seed`
      : undefined;
  if (note) log(note);
  return { rounds, note };
}

/** Every endpoint on each server per round, the order of the servers alternating from one round to the next. */
export async function runRounds(
  servers: Record<ServerName, Server>,
  specs: EndpointSpec[],
  rounds: number,
  seconds: number,
): Promise<Record<EndpointKey, Record<ServerName, WrkResult[]>>> {
  const byRound: Record<EndpointKey, Record<ServerName, WrkResult[]>> = {
    health: { baseline: [], moxie: [] },
    login: { baseline: [], moxie: [] },
    me: { baseline: [], moxie: [] },
  };
  for (let round = 0; round < rounds; round++) {
    const order: ServerName[] = round % 2 === 0 ? ["baseline", "moxie"] : ["moxie", "baseline"];
    for (const endpoint of specs) {
      for (const name of order) {
        const pid = servers[name].proc.pid;
        const cpuBefore = cpuSeconds(pid);
        const result = await wrk(`${servers[name].url}${endpoint.path}`, endpoint.connections, seconds, endpoint.script);
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
  return byRound;
}

/** Medians of the valid runs per endpoint and server, the ratio, and its verdict. */
export function summarise(
  specs: EndpointSpec[],
  byRound: Record<EndpointKey, Record<ServerName, WrkResult[]>>,
): Record<EndpointKey, EndpointResult> {
  const results = {} as Record<EndpointKey, EndpointResult>;
  const targetFor = { health: TARGETS.healthRatio, login: TARGETS.loginRatio, me: TARGETS.meRatio };
  for (const endpoint of specs) {
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
  return results;
}
