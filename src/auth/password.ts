// Password hashing: argon2id through Bun.password with pinned cost, run through a bounded gate.

/** argon2id memory cost in KiB (64 MiB) and passes; pinned so every hash costs the same. */
export const ARGON2_MEMORY_KIB = 65_536;
export const ARGON2_TIME_COST = 2;
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 128;

/**
 * Every password is NFC-normalized before it is hashed or checked, so "é" typed as one code point or as
 * e + combining accent is the same password on every keyboard.
 */
export function normalizePassword(password: string): string {
  return password.normalize("NFC");
}

/**
 * `anonymous` work (sign-in) may be refused with HashingBusyError when the queue is full; work for a
 * signed-in account or an operator waits its turn instead.
 */
export interface HashingOptions {
  anonymous?: boolean;
}

export async function hashPassword(password: string): Promise<string> {
  return hashingGate.run(() =>
    Bun.password.hash(normalizePassword(password), {
      algorithm: "argon2id",
      memoryCost: ARGON2_MEMORY_KIB,
      timeCost: ARGON2_TIME_COST,
    }),
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
  }, options.anonymous);
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
 * At most one argon2 operation per core at once, with a short queue behind them. Unbounded, a login flood
 * fills Bun's thread pool and every other request waits behind 64 MiB hashes.
 */
export class HashingGate {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    public concurrency: number,
    public maxQueue: number,
  ) {}

  /** Sets the bounds from the settings (HASHING_CONCURRENCY, HASHING_QUEUE) before the server takes requests. */
  configure(concurrency: number, maxQueue: number): void {
    this.concurrency = concurrency;
    this.maxQueue = maxQueue;
  }

  /** True when refusable work would be refused right now: the caller can answer 503 before any other work. */
  get saturated(): boolean {
    return this.running >= this.concurrency && this.waiting.length >= this.maxQueue;
  }

  /** Runs `work` when a slot is free; with `refusable`, throws HashingBusyError instead of queueing past maxQueue. */
  async run<T>(work: () => Promise<T>, refusable = false): Promise<T> {
    if (this.running >= this.concurrency) {
      if (refusable && this.waiting.length >= this.maxQueue) throw new HashingBusyError("password hashing is saturated");
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next(); // hand our slot straight to the next waiter
      else this.running--;
    }
  }
}

// navigator.hardwareConcurrency, not node:os: loading node:os alone costs tens of ms at start-up.
const cores = Math.max(1, navigator.hardwareConcurrency);
// The queue holds a few seconds of work: waiting sign-ins cost a promise each, while a refused one retries.
export const hashingGate = new HashingGate(cores, cores * 32);
