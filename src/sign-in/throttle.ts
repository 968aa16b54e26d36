// Login throttling, in memory: failures per (email, client), per client, and per account across clients, where a
// client is an IPv4 address or an IPv6 network (a /64 by default). An attempt takes its place in every counter
// when it arrives, before any hashing, so a burst of concurrent guesses is checked at most up to the limit; a
// success gives its place back.
import { clientNetwork } from "../lib/ip.ts";

export interface ThrottleLimits {
  /** Failures for one email from one client (an IPv4 address, an IPv6 network) before that pair is refused. */
  maxFailuresPerPair: number;
  /** Failures from one client across all emails (password spraying). */
  maxFailuresPerAddress: number;
  /** Failures for one email across all addresses (a guesser with many addresses). */
  maxFailuresPerAccount: number;
  windowMs: number;
  /**
   * An IPv6 client is counted by its network of this many bits (LOGIN_IPV6_PREFIX, default 64): one host
   * usually holds a whole /64, and rotating addresses inside it must not buy fresh limits.
   */
  ipv6PrefixLength?: number;
}

export const DEFAULT_IPV6_PREFIX_LENGTH = 64;

export const DEFAULT_THROTTLE_LIMITS: ThrottleLimits = {
  maxFailuresPerPair: 5,
  maxFailuresPerAddress: 30,
  maxFailuresPerAccount: 50,
  windowMs: 15 * 60 * 1000,
  ipv6PrefixLength: DEFAULT_IPV6_PREFIX_LENGTH,
};

/** Keys tracked at most; past it the oldest are forgotten, so a flood of made-up emails cannot exhaust memory. */
const MAX_TRACKED_KEYS = 100_000;

/** A place taken in the counters: it stays a failure unless given back. */
export interface Attempt {
  /** The password was right: the place is given back and the (email, address) pair starts afresh. */
  succeeded(): void;
  /** No password was checked after all (the server was busy): the place is given back. */
  withdrawn(): void;
}

export type Reservation = { refused: true; retryAfterSeconds: number } | ({ refused: false } & Attempt);

/**
 * Sliding-window counters. `reserve` either refuses (with how long to wait) or counts the attempt as a failure
 * at once. `clearedAt` (ms since the epoch) is when the account was last unlocked, had its password set or was
 * activated, as recorded in the database: account failures up to then are ignored, so an admin's unlock or
 * `moxie set-password` in another process takes effect without reaching this memory.
 */
export class LoginThrottle {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly limits: ThrottleLimits = DEFAULT_THROTTLE_LIMITS,
    private readonly now: () => number = Date.now,
  ) {}

  /** The client `address` counts as: itself for IPv4, its network for IPv6 (see clientNetwork). */
  clientOf(address: string): string {
    return clientNetwork(address, this.limits.ipv6PrefixLength ?? DEFAULT_IPV6_PREFIX_LENGTH);
  }

  reserve(email: string, address: string, clearedAt = 0): Reservation {
    // The pair is keyed by the client too: keyed by the full address, one /64 would get the pair's limit once
    // per address, and the per-client limit would be the only bound on guesses at one account from it.
    const client = this.clientOf(address);
    const keys: Array<[string, number, number]> = [
      [pairKey(email, client), this.limits.maxFailuresPerPair, clearedAt],
      [addressKey(client), this.limits.maxFailuresPerAddress, 0],
      [accountKey(email), this.limits.maxFailuresPerAccount, clearedAt],
    ];
    const wait = Math.max(...keys.map(([key, max, since]) => this.waitFor(key, max, since)));
    if (wait > 0) return { refused: true, retryAfterSeconds: Math.ceil(wait / 1000) };
    const at = this.now();
    for (const [key] of keys) this.push(key, at);
    let settled = false;
    const giveBack = () => {
      if (settled) return;
      settled = true;
      for (const [key] of keys) this.remove(key, at);
    };
    return {
      refused: false,
      succeeded: () => {
        giveBack();
        this.failures.delete(keys[0]![0]);
      },
      withdrawn: giveBack,
    };
  }

  private waitFor(key: string, max: number, since: number): number {
    const times = this.recent(key).filter((time) => time > since);
    if (times.length < max) return 0;
    return Math.max(1, times[times.length - max]! + this.limits.windowMs - this.now());
  }

  private recent(key: string): number[] {
    const times = this.failures.get(key);
    if (!times) return [];
    const cutoff = this.now() - this.limits.windowMs;
    const kept = times.filter((time) => time > cutoff);
    if (kept.length === 0) this.failures.delete(key);
    else if (kept.length !== times.length) this.failures.set(key, kept);
    return kept;
  }

  private push(key: string, at: number): void {
    const times = this.recent(key);
    times.push(at);
    // Only the newest `max` matter; keep the list short.
    const cap = Math.max(this.limits.maxFailuresPerPair, this.limits.maxFailuresPerAddress, this.limits.maxFailuresPerAccount);
    this.failures.delete(key); // re-insert to mark it most recent for eviction order
    this.failures.set(key, times.slice(-cap));
    if (this.failures.size > MAX_TRACKED_KEYS) {
      const oldest = this.failures.keys().next().value;
      if (oldest !== undefined) this.failures.delete(oldest);
    }
  }

  private remove(key: string, at: number): void {
    const times = this.failures.get(key);
    if (!times) return;
    const index = times.lastIndexOf(at);
    if (index !== -1) times.splice(index, 1);
    if (times.length === 0) this.failures.delete(key);
  }
}

const pairKey = (email: string, address: string) => `p\u0000${address}\u0000${email}`;
const addressKey = (address: string) => `i\u0000${address}`;
const accountKey = (email: string) => `a\u0000${email}`;
