// What a bench/run.ts run measures and with what: the sizes of a full and a --quick run, and the fixed inputs
// both servers share (secret, accounts, origin, the flood's clients).
import { join } from "node:path";

export interface Config {
  rounds: number;
  seconds: number;
  users: number;
  floodSeconds: number;
  warmupSeconds: number;
  coldRuns: number;
  deadlineSeconds: number;
}

export const FULL: Config = { rounds: 3, seconds: 10, users: 1000, floodSeconds: 10, warmupSeconds: 2, coldRuns: 15, deadlineSeconds: 540 };
export const QUICK: Config = { rounds: 1, seconds: 3, users: 200, floodSeconds: 3, warmupSeconds: 1, coldRuns: 5, deadlineSeconds: 240 };

/** One run's choices, from its command line. */
export interface Plan {
  quick: boolean;
  freshSeed: boolean;
  /** Connections sending wrong-password logins in the flood; `--flood-clients=200` for the hardening figure. */
  floodClients: number;
  config: Config;
}

export const BENCH_DIR = join(import.meta.dir, "..");
export const RESULTS_DIR = join(BENCH_DIR, "results");
export const CACHE_DIR = join(BENCH_DIR, ".cache");

export const SECRET = "bench-secret-key-0123456789abcdef-0123456789abcdef";
export const ADMIN = { email: "admin@bench.test", name: "Bench Admin", password: "bench-admin-password" };
export const AGENT_PASSWORD = "bench-agent-password";
export const WRONG_PASSWORD = "definitely-not-the-password";
/** Accounts whose tokens /auth/me cycles through. */
export const ME_TOKENS = 100;
export const FLOOD_ADDRESSES = 250; // the flood poses as this many clients (X-Forwarded-For 127.77.x.y via TRUSTED_PROXY)
/** The frontend's origin: both servers allow it, and /health and /auth/me are measured with it (CORS path on). */
export const ORIGIN = "http://localhost:3000";
