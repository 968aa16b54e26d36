// Password hashing: argon2id through Bun.password with pinned cost, run through a bounded gate.

/** argon2id memory cost in KiB (64 MiB) and passes; pinned so every hash costs the same. */
export const ARGON2_MEMORY_KIB = 65_536;
export const ARGON2_TIME_COST = 2;
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 128;
/**
 * What sign-in and "current password" accept: a password set before the 128 rule (the Python original set no
 * upper bound) must still sign in. The bound only keeps a request small; the hash costs the same either way.
 */
export const SIGN_IN_PASSWORD_MAX_LENGTH = 1024;

/**
 * Every password is NFC-normalized before it is hashed or checked, so "é" typed as one code point or as
 * e + combining accent is the same password on every keyboard.
 */
export function normalizePassword(password: string): string {
  return password.normalize("NFC");
}

/**
 * Characters as people count them and JSON Schema's length keywords do: code points, so "😀" is one, not the
 * two UTF-16 units `string.length` counts. Lengths are counted after normalizePassword.
 */
export function characterCount(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

/**
 * Who the password work is for, which decides what happens when the machine is busy:
 * - "anonymous" (sign-in) may be refused with HashingBusyError when the whole queue is full;
 * - `{ account }` (a signed-in account's own or admin work) runs one operation per account at a time (the next
 *   few wait their turn, past them PasswordWorkQueuedError) and may use only its share of the queue;
 * - "operator" (the CLI at the host) waits its turn.
 */
export type HashingFor = "anonymous" | "operator" | { account: number };

export interface HashingOptions {
  for?: HashingFor;
}

export async function hashPassword(password: string, options: HashingOptions = {}): Promise<string> {
  return hashingGate.run(
    () =>
      Bun.password.hash(normalizePassword(password), {
        algorithm: "argon2id",
        memoryCost: ARGON2_MEMORY_KIB,
        timeCost: ARGON2_TIME_COST,
      }),
    options.for,
  );
}

/** True when `password` matches `hash`; a hash in another PHC encoding (pwdlib's m=65536,t=3,p=4) verifies too. */
export async function verifyPasswordHash(hash: string, password: string, options: HashingOptions = {}): Promise<boolean> {
  return hashingGate.run(async () => {
    try {
      return await Bun.password.verify(normalizePassword(password), hash);
    } catch {
      return false; // a malformed stored hash matches nothing
    }
  }, options.for);
}

let dummyHash: Promise<string> | undefined;

/**
 * Checks `password` against a real hash of the same cost and returns false, so an unknown email takes as
 * long as a wrong password. Bun.password.verify against "" would return at once and tell the two apart.
 */
export async function spendVerifyTime(password: string, options: HashingOptions = {}): Promise<false> {
  dummyHash ??= Bun.password.hash(crypto.randomUUID(), {
    algorithm: "argon2id",
    memoryCost: ARGON2_MEMORY_KIB,
    timeCost: ARGON2_TIME_COST,
  });
  await verifyPasswordHash(await dummyHash, password, options);
  return false;
}

/** Raised when more password work is waiting than the machine can do soon; the edge answers 503. */
export class HashingBusyError extends Error {
  override name = "HashingBusyError";
}

/**
 * How many password operations one signed-in account may have under way: one hashing, the rest waiting their
 * turn. Enough for an admin's script creating accounts four at a time; past it, 429.
 */
export const ACCOUNT_OPERATIONS_MAX = 8;

/**
 * Raised when the signed-in account already has ACCOUNT_OPERATIONS_MAX password operations under way; the edge
 * answers 429. The sentence names whose operations they are: the caller's, not an account being created or reset.
 */
export class PasswordWorkQueuedError extends Error {
  override name = "PasswordWorkQueuedError";
  constructor(max: number) {
    super(
      `Your account already has ${max} password operations under way (creating accounts, setting or changing ` +
        "passwords: one at a time, the rest queued); try again when one has finished",
    );
  }
}

/**
 * At most one argon2 operation per core at once, with one bounded queue behind them. Unbounded, a flood fills
 * Bun's thread pool and every other request waits behind 64 MiB hashes. Signed-in accounts queue separately
 * from sign-in and may hold at most half of the queue, and the two lines are served in turn: no signed-in user
 * can starve sign-in, and a login flood cannot starve a password change forever. Each signed-in account's
 * operations go through the queue one at a time, the next few waiting in the account's own line (outside the
 * queue), so one account holds at most one place in the queue however many it sends.
 */
export class HashingGate {
  private running = 0;
  private readonly signInLine: Array<() => void> = [];
  private readonly accountLine: Array<() => void> = [];
  /** Per signed-in account with an operation under way: the operations waiting behind it. */
  private readonly accountWaiting = new Map<number, Array<() => void>>();
  private accountTurn = false;

  constructor(
    public concurrency: number,
    public maxQueue: number,
    public perAccount = ACCOUNT_OPERATIONS_MAX,
  ) {}

  /** How many signed-in operations may wait at once: half the queue, at least one. */
  get accountShare(): number {
    return Math.max(1, Math.floor(this.maxQueue / 2));
  }

  /** Sets the bounds from the settings (HASHING_CONCURRENCY, HASHING_QUEUE) before the server takes requests. */
  configure(concurrency: number, maxQueue: number): void {
    this.concurrency = concurrency;
    this.maxQueue = maxQueue;
  }

  private get waiting(): number {
    return this.signInLine.length + this.accountLine.length;
  }

  /** True when sign-in work would be refused right now: the caller can answer 503 before any other work. */
  get saturated(): boolean {
    return this.full();
  }

  private full(): boolean {
    return this.running >= this.concurrency && this.waiting >= this.maxQueue;
  }

  /** How many password operations `account` has under way (running or waiting its turn). */
  operationsOf(account: number): number {
    const waiting = this.accountWaiting.get(account);
    return waiting === undefined ? 0 : 1 + waiting.length;
  }

  /** True when `account` already has `perAccount` operations under way: a new one would be refused. */
  accountFull(account: number): boolean {
    return this.operationsOf(account) >= this.perAccount;
  }

  /**
   * Runs `fn` as a password operation of `account` (which may hash more than once), after the account's earlier
   * ones, in the order they came; one past `perAccount` under way gets PasswordWorkQueuedError at once, before
   * any hashing.
   */
  async exclusive<T>(account: number, fn: () => Promise<T>): Promise<T> {
    const waiting = this.accountWaiting.get(account);
    if (waiting === undefined) {
      this.accountWaiting.set(account, []);
    } else {
      if (1 + waiting.length >= this.perAccount) throw new PasswordWorkQueuedError(this.perAccount);
      await new Promise<void>((resolve) => waiting.push(resolve));
    }
    try {
      return await fn();
    } finally {
      const next = this.accountWaiting.get(account)!.shift();
      if (next) next();
      else this.accountWaiting.delete(account);
    }
  }

  /** Runs `work` when a slot is free, or throws HashingBusyError past the queue bound of `who` (see HashingFor). */
  async run<T>(work: () => Promise<T>, who: HashingFor = "operator"): Promise<T> {
    const forAccount = typeof who === "object";
    if (this.running >= this.concurrency) {
      if (forAccount && this.accountLine.length >= this.accountShare) throw new HashingBusyError("password hashing is saturated");
      if (who === "anonymous" && this.full()) throw new HashingBusyError("password hashing is saturated");
      await new Promise<void>((resolve) => (forAccount ? this.accountLine : this.signInLine).push(resolve));
    } else {
      this.running++;
    }
    try {
      return await work();
    } finally {
      this.handOver();
    }
  }

  /** Gives our slot straight to the next waiter, taking the two lines in turn. */
  private handOver(): void {
    this.accountTurn = !this.accountTurn;
    const first = this.accountTurn ? this.accountLine : this.signInLine;
    const second = this.accountTurn ? this.signInLine : this.accountLine;
    const next = first.shift() ?? second.shift();
    if (next) next();
    else this.running--;
  }
}

// navigator.hardwareConcurrency: the core count without an import (node:os is cheap too: settings.ts loads it).
const cores = Math.max(1, navigator.hardwareConcurrency);
// The queue holds a few seconds of work: waiting sign-ins cost a promise each, while a refused one retries.
export const hashingGate = new HashingGate(cores, cores * 32);
