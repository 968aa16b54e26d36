import { describe, expect, test } from "bun:test";
import {
  HashingBusyError,
  HashingGate,
  hashPassword,
  PasswordWorkInProgressError,
  spendVerifyTime,
  verifyPasswordHash,
} from "../src/auth/password.ts";
import { PWDLIB_HASH, PWDLIB_PASSWORD } from "./helpers.ts";

describe("password hashing", () => {
  test("argon2id with the pinned cost (64 MiB, 2 passes), salted", async () => {
    const first = await hashPassword("a-good-password");
    const second = await hashPassword("a-good-password");
    expect(first).toMatch(/^\$argon2id\$v=19\$m=65536,t=2,p=1\$/);
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

  test("the unknown-email path verifies against a real hash and says no", async () => {
    expect(await spendVerifyTime("anything")).toBe(false);
  });
});

describe("HashingGate", () => {
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
    const refused = work();
    await expect(refused).rejects.toBeInstanceOf(HashingBusyError);
    // Work that may not be refused (a signed-in account's) waits in line past the bound instead.
    accepted.push(work(false));
    await Bun.sleep(0);
    expect(running).toBe(2);
    while (releases.length > 0 || running > 0) {
      releases.shift()?.();
      await Bun.sleep(1);
    }
    expect(await Promise.all(accepted)).toEqual(["done", "done", "done", "done"]);
    expect(peak).toBe(2);
    // After the burst the gate is free again.
    expect(await gate.run(async () => "again")).toBe("again");
  });
});

describe("HashingGate: signed-in work", () => {
  test("one operation per account at a time; signed-in work holds at most half the queue; sign-in keeps its share", async () => {
    const gate = new HashingGate(1, 4);
    const releases: Array<() => void> = [];
    const hold = () => new Promise<void>((resolve) => releases.push(resolve));
    const running = gate.run(hold, "operator"); // occupies the only slot
    // Account 7 holds its one operation; a second one is refused at once, before any hashing.
    const first = gate.exclusive(7, () => gate.run(async () => "seven", { account: 7 }));
    await expect(gate.exclusive(7, async () => "again")).rejects.toBeInstanceOf(PasswordWorkInProgressError);
    expect(gate.busyWith(7)).toBe(true);
    // Half the queue (2) for signed-in work: account 8 waits, account 9 is refused with 503's error.
    const second = gate.run(async () => "eight", { account: 8 });
    await expect(gate.run(async () => "nine", { account: 9 })).rejects.toBeInstanceOf(HashingBusyError);
    // Sign-in still has room behind them.
    const signIns = [gate.run(async () => "in-1", "anonymous"), gate.run(async () => "in-2", "anonymous")];
    await expect(gate.run(async () => "in-3", "anonymous")).rejects.toBeInstanceOf(HashingBusyError);
    releases.shift()!();
    await running;
    expect(await Promise.all([first, second, ...signIns])).toEqual(["seven", "eight", "in-1", "in-2"]);
    expect(gate.busyWith(7)).toBe(false);
  });
});
