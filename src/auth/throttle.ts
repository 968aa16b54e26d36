// Login throttling: failures are counted per (email, client address) and per address, in memory.

export interface ThrottleLimits {
  /** Failures for one email from one address before that pair is refused. */
  maxFailuresPerAccount: number;
  /** Failures from one address across all emails (password spraying). */
  maxFailuresPerAddress: number;
  windowMs: number;
}

export const DEFAULT_THROTTLE_LIMITS: ThrottleLimits = {
  maxFailuresPerAccount: 5,
  maxFailuresPerAddress: 30,
  windowMs: 15 * 60 * 1000,
};

/** Keys tracked at most; past it the oldest are forgotten, so a flood of made-up emails cannot exhaust memory. */
const MAX_TRACKED_KEYS = 100_000;

/**
 * Sliding-window failure counter. `retryAfterSeconds` says how long a refused key must wait (0 = allowed);
 * a refused attempt is answered 429 before any password work, the right password included.
 */
export class LoginThrottle {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly limits: ThrottleLimits = DEFAULT_THROTTLE_LIMITS,
    private readonly now: () => number = Date.now,
  ) {}

  retryAfterSeconds(email: string, address: string): number {
    const wait = Math.max(
      this.waitFor(accountKey(email, address), this.limits.maxFailuresPerAccount),
      this.waitFor(addressKey(address), this.limits.maxFailuresPerAddress),
    );
    return Math.ceil(wait / 1000);
  }

  recordFailure(email: string, address: string): void {
    this.push(accountKey(email, address));
    this.push(addressKey(address));
  }

  /** A success clears the pair; the address keeps its count, so one good account does not launder spraying. */
  recordSuccess(email: string, address: string): void {
    this.failures.delete(accountKey(email, address));
  }

  private waitFor(key: string, max: number): number {
    const times = this.recent(key);
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

  private push(key: string): void {
    const times = this.recent(key);
    times.push(this.now());
    // Only the newest `max` matter; keep the list short.
    const cap = Math.max(this.limits.maxFailuresPerAccount, this.limits.maxFailuresPerAddress);
    this.failures.delete(key); // re-insert to mark it most recent for eviction order
    this.failures.set(key, times.slice(-cap));
    if (this.failures.size > MAX_TRACKED_KEYS) {
      const oldest = this.failures.keys().next().value;
      if (oldest !== undefined) this.failures.delete(oldest);
    }
  }
}

const accountKey = (email: string, address: string) => `a\u0000${address}\u0000${email}`;
const addressKey = (address: string) => `i\u0000${address}`;
