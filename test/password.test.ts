import { afterEach, describe, expect, setDefaultTimeout, spyOn, test } from "bun:test";
import {
  ACCOUNT_OPERATIONS_MAX,
  ARGON2_MEMORY_KIB,
  ARGON2_TIME_COST,
  HashingBusyError,
  HashingGate,
  hashPassword,
  PasswordWorkQueuedError,
  spendVerifyTime,
  verifyPasswordHash,
} from "../src/passwords/hashing.ts";
import { parseSettings } from "../src/settings/index.ts";
import { createTestApp, PWDLIB_HASH, PWDLIB_PASSWORD, seedUser, TEST_SECRET } from "./helpers.ts";

// This file spawns processes or hashes passwords: its own bound on a hung test (see test/setup.ts for why).
setDefaultTimeout(30_000);

/** A complete argon2id PHC string of the pinned cost: real salt (16+ bytes) and digest (32 bytes), not a stub. */
const PINNED_COST_HASH = new RegExp(
  `^\\$argon2id\\$v=19\\$m=${ARGON2_MEMORY_KIB},t=${ARGON2_TIME_COST},p=1\\$[A-Za-z0-9+/]{22,}\\$[A-Za-z0-9+/]{43}$`,
);

/**
 * `promise`, or a failure naming `what` once `ms` have passed. A promise that never settles must fail the
 * test, not hang the run: Bun 1.4.5 ignores the test timeout while `expect(...).rejects` waits.
 * The bound is for work that settles in a few event-loop turns, so it says nothing about machine speed.
 */
async function within<T>(promise: Promise<T>, what: string, ms = 5_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The error `promise` rejects with ("resolved" if it resolves), failing the test if it has not settled within `within`'s bound. */
function refusal(promise: Promise<unknown>, what: string): Promise<unknown> {
  return within(
    promise.then(
      () => "resolved",
      (error: unknown) => error,
    ),
    what,
  );
}

let spies: Array<{ mockRestore(): void }> = [];
afterEach(() => {
  for (const spy of spies.splice(0)) spy.mockRestore();
});

/** Records every Bun.password.verify call (the real one still runs) with whether its promise had settled. */
function watchVerify() {
  const spy = spyOn(Bun.password, "verify");
  spies.push(spy);
  return {
    calls: () => spy.mock.calls.map(([password, hash]) => ({ password, hash })),
    allSettled: () => spy.mock.results.every((result) => Bun.peek.status(result.value as Promise<boolean>) !== "pending"),
  };
}

describe("password hashing", () => {
  test("argon2id with the pinned cost (64 MiB, 2 passes), salted", async () => {
    const first = await hashPassword("a-good-password");
    const second = await hashPassword("a-good-password");
    expect(first).toMatch(/^\$argon2id\$v=19\$m=65536,t=2,p=1\$/);
    expect(first).toMatch(PINNED_COST_HASH);
    expect(first).not.toBe(second);
    expect(await verifyPasswordHash(first, "a-good-password")).toBe(true);
    expect(await verifyPasswordHash(first, "a-good-passwore")).toBe(false);
  });

  test("hashes from the Python original verify", async () => {
    expect(await verifyPasswordHash(PWDLIB_HASH, PWDLIB_PASSWORD)).toBe(true);
    expect(await verifyPasswordHash(PWDLIB_HASH, "correct horse battery!")).toBe(false);
  });

  test("NFC: the composed and decomposed spellings of a password are the same password", async () => {
    const composed = "caf\u00e9-password";
    const decomposed = "cafe\u0301-password";
    expect(composed).not.toBe(decomposed);
    const hash = await hashPassword(decomposed);
    expect(await verifyPasswordHash(hash, composed)).toBe(true);
  });

  test("a damaged stored hash matches nothing instead of throwing", async () => {
    expect(await verifyPasswordHash("not-a-hash", "whatever")).toBe(false);
    expect(await verifyPasswordHash("", "whatever")).toBe(false);
  });
});

// SECURITY.md: "An unknown email verifies against a real dummy hash of the same cost". The cost is observed
// by what is verified (a full argon2id hash with the pinned parameters, awaited), never by a stopwatch.
describe("the unknown-email path does the work of a wrong password", () => {
  test("spendVerifyTime verifies the typed password against a real argon2id hash of the pinned cost, to the end", async () => {
    const verify = watchVerify();
    const result = await spendVerifyTime("caf\u00e9-anything");
    expect(result).toBe(false);
    const calls = verify.calls();
    expect(calls).toHaveLength(1);
    expect(calls[0]!.password).toBe("caf\u00e9-anything");
    expect(calls[0]!.hash).toMatch(PINNED_COST_HASH);
    // It waited for the verification instead of returning while argon2 still ran.
    expect(verify.allSettled()).toBe(true);
    // The same dummy each time: made once, not a cheaper hash per request.
    await spendVerifyTime("another");
    expect(verify.calls()[1]!.hash).toBe(calls[0]!.hash);
  });

  test("POST /auth/login: an unknown email is verified like a wrong password, against a hash of the same cost", async () => {
    const ctx = createTestApp();
    const user = await seedUser(ctx.db, { email: "known@cost.test", password: "known-password-1" });
    const verify = watchVerify();
    const wrong = await ctx.request("POST", "/auth/login", { body: { email: user.email, password: "typed-password-1" } });
    const unknown = await ctx.request("POST", "/auth/login", { body: { email: "unknown@cost.test", password: "typed-password-2" } });
    expect([wrong.status, unknown.status]).toEqual([401, 401]);
    const [forWrong, forUnknown] = verify.calls();
    expect(verify.calls()).toHaveLength(2);
    expect(forWrong).toEqual({ password: "typed-password-1", hash: expect.stringMatching(PINNED_COST_HASH) });
    expect(forUnknown).toEqual({ password: "typed-password-2", hash: expect.stringMatching(PINNED_COST_HASH) });
    // The dummy is not the known account's hash (which would let its password sign in as nobody).
    expect(forUnknown!.hash).not.toBe(forWrong!.hash);
    expect(verify.allSettled()).toBe(true);
  });
});

describe("HashingGate", () => {
  test("by default one hash per core, with 32 waiting per slot; HASHING_CONCURRENCY and HASHING_QUEUE pin them", () => {
    const defaults = parseSettings({ SECRET_KEY: TEST_SECRET }, "/tmp");
    expect(defaults.hashingConcurrency).toBe(Math.max(1, navigator.hardwareConcurrency));
    expect(defaults.hashingQueue).toBe(defaults.hashingConcurrency * 32);
    const pinned = parseSettings({ SECRET_KEY: TEST_SECRET, HASHING_CONCURRENCY: "1", HASHING_QUEUE: "0" }, "/tmp");
    expect([pinned.hashingConcurrency, pinned.hashingQueue]).toEqual([1, 0]);
    expect(() => parseSettings({ SECRET_KEY: TEST_SECRET, HASHING_CONCURRENCY: "0" }, "/tmp")).toThrow(/HASHING_CONCURRENCY/);
  });

  test("runs at most `concurrency` at once, queues up to `maxQueue`, refuses the rest of the refusable", async () => {
    const gate = new HashingGate(2, 1);
    let running = 0;
    let peak = 0;
    const releases: Array<() => void> = [];
    const work = (refusable = true) =>
      gate.run(async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise<void>((resolve) => releases.push(resolve));
        running--;
        return "done";
      }, refusable ? "anonymous" : "operator");
    const accepted = [work(), work(), work()]; // two run, one waits
    expect(gate.saturated).toBe(true);
    const refused = work();
    expect(await within(refused.then(() => "ran", (error: unknown) => error), "the refused call")).toBeInstanceOf(HashingBusyError);
    // Work that may not be refused (a signed-in account's) waits in line past the bound instead.
    accepted.push(work(false));
    await Bun.sleep(0);
    expect(running).toBe(2);
    // Release one piece of work at a time; each release must let the next waiter in (a bounded number of steps).
    for (let step = 0; step < 4; step++) {
      await within(
        (async () => {
          while (releases.length === 0) await Bun.sleep(1);
        })(),
        `waiting work ${step + 1} being started`,
      );
      releases.shift()!();
    }
    expect(await within(Promise.all(accepted), "the accepted work")).toEqual(["done", "done", "done", "done"]);
    expect(peak).toBe(2);
    expect(running).toBe(0);
    // After the burst the gate is free again, with nothing queued.
    expect(gate.saturated).toBe(false);
    expect(await within(gate.run(async () => "again", "anonymous"), "work after the burst")).toBe("again");
  });

  test("a failing piece of work frees its slot", async () => {
    const gate = new HashingGate(1, 0);
    await expect(within(gate.run(async () => Promise.reject(new Error("argon2 failed"))), "the failing work")).rejects.toThrow("argon2 failed");
    expect(await within(gate.run(async () => "next", "anonymous"), "the next work")).toBe("next");
  });

  test("with a queue of 0, a second refusable call while one runs is refused at once", async () => {
    const gate = new HashingGate(1, 0);
    let release = () => {};
    const first = gate.run(() => new Promise<string>((resolve) => (release = () => resolve("first"))), "anonymous");
    expect(gate.saturated).toBe(true);
    expect(await within(gate.run(async () => "second", "anonymous").catch((error: unknown) => error), "the refused call")).toBeInstanceOf(
      HashingBusyError,
    );
    release();
    expect(await within(first, "the first call")).toBe("first");
  });
});

describe("HashingGate: signed-in work", () => {
  test("the two lines are served in turn: neither a login flood nor signed-in work runs twice while the other waits", async () => {
    const gate = new HashingGate(1, 8);
    const started: string[] = [];
    let release = () => {};
    const running = gate.run(() => new Promise<void>((resolve) => (release = resolve)), "operator"); // the only slot
    const queued = [
      ...[1, 2, 3].map((account) => gate.run(async () => void started.push("account"), { account })),
      ...[1, 2, 3].map(() => gate.run(async () => void started.push("sign-in"), "anonymous")),
    ];
    release();
    await within(Promise.all([running, ...queued]), "the queued work");
    expect(started).toHaveLength(6);
    // Whichever line goes first, they alternate while both have work waiting.
    for (let i = 1; i < started.length; i++) expect({ i, same: started[i] === started[i - 1] }).toEqual({ i, same: false });
  });

  test("an account's operations run one at a time in the order they came, up to its bound, then 429's error; signed-in work holds at most half the queue; sign-in keeps its share and goes after at most one account operation", async () => {
    const gate = new HashingGate(1, 4, 3);
    const releases: Array<() => void> = [];
    const hold = () => new Promise<void>((resolve) => releases.push(resolve));
    const ran: string[] = [];
    const step = (label: string) => async () => {
      ran.push(label);
      return label;
    };
    const running = gate.run(hold, "operator"); // occupies the only slot
    const op = (account: number, label: string) => gate.exclusive(account, () => gate.run(step(label), { account }));
    // Account 7: three under way (one in the gate's queue, two waiting in its own line); the fourth is refused
    // at once, before any hashing, with a sentence naming whose operations they are.
    const seven = [op(7, "7a"), op(7, "7b"), op(7, "7c")];
    expect(gate.operationsOf(7)).toBe(3);
    expect(gate.accountFull(7)).toBe(true);
    const fourth = await refusal(op(7, "7d"), "account 7's fourth operation");
    expect(fourth).toBeInstanceOf(PasswordWorkQueuedError);
    expect((fourth as Error).message).toStartWith("Your account already has 3 password operations under way");
    // One place in the queue per account whatever it sent: account 8 waits there too; that is half the queue (2),
    // so account 9 is refused with 503's error.
    const eight = op(8, "8");
    expect(await refusal(op(9, "9"), "account 9's operation")).toBeInstanceOf(HashingBusyError);
    expect(gate.operationsOf(9)).toBe(0);
    // Sign-in still has room behind them.
    const signIns = [gate.run(step("in-1"), "anonymous"), gate.run(step("in-2"), "anonymous")];
    expect(await refusal(gate.run(step("in-3"), "anonymous"), "the third sign-in")).toBeInstanceOf(HashingBusyError);
    releases.shift()!();
    await within(running, "the operator's work");
    expect(await within(Promise.all([...seven, eight, ...signIns]), "the queued work")).toEqual(["7a", "7b", "7c", "8", "in-1", "in-2"]);
    // The lines in turn: each sign-in waited for at most one account operation, though account 7 had more queued.
    expect(ran).toEqual(["7a", "in-1", "8", "in-2", "7b", "7c"]);
    expect(gate.operationsOf(7)).toBe(0);
    expect(gate.accountFull(7)).toBe(false);
    expect(await within(op(7, "7e"), "account 7 after its burst")).toBe("7e");
  });

  test("an operation that fails lets the account's next one run", async () => {
    const gate = new HashingGate(1, 4, 2);
    const first = gate.exclusive(5, async () => Promise.reject(new Error("argon2 failed")));
    const second = gate.exclusive(5, async () => "second");
    expect(await refusal(first, "the failing operation")).toEqual(new Error("argon2 failed"));
    expect(await within(second, "the next operation")).toBe("second");
    expect(gate.operationsOf(5)).toBe(0);
  });

  test("the default bound lets one account have eight under way", () => {
    expect(ACCOUNT_OPERATIONS_MAX).toBe(8);
    expect(new HashingGate(1, 4).perAccount).toBe(ACCOUNT_OPERATIONS_MAX);
  });
});
