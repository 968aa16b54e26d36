// The login flood: wrong-password logins on many connections, posing as many clients, while 4 connections
// measure /auth/me; each server in turn, with its CPU and RSS right after.
import type { Server, ServerName } from "../lib/servers.ts";
import { cpuSeconds, log, waitIdle } from "../lib/processes.ts";
import { wrk, type WrkResult } from "../lib/wrk.ts";
import { rssMb } from "./memory.ts";

export interface FloodResult {
  login: WrkResult;
  me: WrkResult;
  rss: number;
  peakRss: number;
  cpuPercent: number;
}

/** `clients` connections of wrong-password logins (default 32), and 4 connections measuring /auth/me meanwhile. */
export async function flood(
  servers: Record<ServerName, Server>,
  options: { clients: number; seconds: number; floodScript: string; meScript: string },
): Promise<Record<ServerName, FloodResult>> {
  const results = {} as Record<ServerName, FloodResult>;
  for (const name of ["baseline", "moxie"] as const) {
    const server = servers[name];
    log(`login flood on ${name}: wrk -c${options.clients} wrong passwords + wrk -c4 /auth/me for ${options.seconds}s`);
    const cpuBefore = cpuSeconds(server.proc.pid);
    const floodStart = performance.now();
    const [floodResult, meResult] = await Promise.all([
      wrk(`${server.url}/auth/login`, options.clients, options.seconds, options.floodScript),
      wrk(`${server.url}/auth/me`, 4, options.seconds, options.meScript),
    ]);
    if (!floodResult.statuses) throw new Error(`the flood script reported no status counts:\n${JSON.stringify(floodResult)}`);
    const cpuPercent = ((cpuSeconds(server.proc.pid) - cpuBefore) / ((performance.now() - floodStart) / 1000)) * 100;
    const memory = rssMb(server.proc.pid);
    results[name] = { login: floodResult, me: meResult, rss: memory.rss, peakRss: memory.peak, cpuPercent };
    log(
      `  ${name}: /auth/me p50 ${meResult.p50.toFixed(2)} ms p99 ${meResult.p99.toFixed(2)} ms (${meResult.rps.toFixed(0)} req/s); ` +
        `logins ${JSON.stringify(floodResult.statuses)}, socket errors ${floodResult.socketErrors}; ` +
        `server CPU ${cpuPercent.toFixed(0)}%; RSS ${memory.rss.toFixed(1)} MB (peak ${memory.peak.toFixed(1)})`,
    );
    await waitIdle(server.proc.pid); // let queued argon2 work drain before the next server is flooded
  }
  return results;
}
