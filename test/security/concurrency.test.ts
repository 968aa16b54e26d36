// Load and races against the compiled binary: a login flood is bounded (401/429/503, never 500) while cheap
// routes keep answering, concurrent creates of one email make exactly one account, and the CLI can write
// while the server is busy without damaging the database.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readExistingDb } from "../support/processes.ts";
import { ADMIN, createSuite, fixturePassword, STACK_FRAME, type Instance, type Res } from "./harness.ts";

// This file spawns processes or hashes passwords: its own bound on a hung test (see test/setup.ts for why).
setDefaultTimeout(30_000);

const suite = createSuite();
let server: Instance;
let admin = "";

beforeAll(async () => {
  // Limits high enough that the flood meets the hashing bound, not the throttle. The bound is pinned to one
  // hash at a time and no queue, so a second concurrent sign-in is refused on any machine: by default it
  // follows the core count, and on a large machine 200 logins would all fit.
  server = await suite.start("concurrency", {
    env: { LOGIN_MAX_FAILURES: "1000", LOGIN_MAX_FAILURES_PER_ADDRESS: "100000", LOGIN_MAX_FAILURES_PER_ACCOUNT: "100000", HASHING_CONCURRENCY: "1", HASHING_QUEUE: "0" },
  });
  admin = server.adminToken();
}, 60_000);

function integrityCheck(path: string): string {
  return readExistingDb(path, (db) => {
    const rows = db.query("PRAGMA integrity_check").all() as Array<Record<string, string>>;
    return rows.map((row) => Object.values(row).join(" ")).join("\n");
  });
}

function accountRow(email: string): { role: string; password_hash: string; token_version: number } | undefined {
  return readExistingDb(
    server.dbPath,
    (db) =>
      (db.query("SELECT role, password_hash, token_version FROM users WHERE email = ?").get(email) ?? undefined) as
        | { role: string; password_hash: string; token_version: number }
        | undefined,
  );
}

/** Repeats `probe` one at a time while `busy` is unsettled (at most `max` times); returns the statuses. */
async function probeWhile(busy: Promise<unknown>, probe: () => Promise<Res>, max = 400): Promise<number[]> {
  let done = false;
  void busy.finally(() => (done = true));
  const statuses: number[] = [];
  for (let i = 0; i < max && !done; i++) statuses.push((await probe()).status);
  return statuses;
}

describe("hashing is bounded under a login flood", () => {
  test("200 concurrent wrong-password logins past the bound (HASHING_CONCURRENCY=1, HASHING_QUEUE=0): 401 or 503 with Retry-After; /health and /auth/me keep answering", async () => {
    const wrong = suite.secret("sec-suite-flood-wrong-pw");
    const flood = Promise.all(
      Array.from({ length: 200 }, () => server.login(ADMIN.email, wrong)),
    );
    const [answers, health, me] = await Promise.all([
      flood,
      probeWhile(flood, () => server.request("GET", "/health")),
      probeWhile(flood, () => server.request("GET", "/auth/me", { token: admin })),
    ]);
    const byStatus = new Map<number, number>();
    for (const answer of answers) byStatus.set(answer.status, (byStatus.get(answer.status) ?? 0) + 1);
    for (const status of byStatus.keys()) expect([401, 503]).toContain(status);
    for (const answer of answers) {
      expect(answer.json?.detail).toBeString();
      expect(answer.text).not.toMatch(STACK_FRAME);
      if (answer.status === 503) expect(answer.headers.get("retry-after")).toMatch(/^[0-9]+$/);
    }
    // Past the bound, sign-ins are refused rather than queued behind 64 MiB hashes, and some were hashed.
    expect(byStatus.get(503) ?? 0).toBeGreaterThan(0);
    expect(byStatus.get(401) ?? 0).toBeGreaterThan(0);
    for (const answer of answers.filter((a) => a.status === 503)) expect(answer.json).toEqual({ detail: "Server is busy, try again shortly" });
    // The cheap routes were asked during the flood, and every answer was 200.
    expect(health.length).toBeGreaterThan(0);
    expect(me.length).toBeGreaterThan(0);
    expect(health.filter((s) => s !== 200)).toEqual([]);
    expect(me.filter((s) => s !== 200)).toEqual([]);
  });

  test("after the flood the right password still signs in", async () => {
    expect((await server.login(ADMIN.email, ADMIN.password)).status).toBe(200);
  });
});

describe("races on one email", () => {
  test("20 concurrent POST /admin/users with the same email → exactly one 201, the rest 409 (or 429: past the admin's eight password operations under way), no 500", async () => {
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        server.request("POST", "/admin/users", {
          token: admin,
          json: { name: `Racer ${i}`, email: i % 2 ? "racer@sec.example.com" : " Racer@Sec.Example.com ", password: suite.secret(fixturePassword("race")) },
        }),
      ),
    );
    const statuses = answers.map((answer) => answer.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409 || s === 429)).toHaveLength(19);
    for (const answer of answers.filter((a) => a.status === 409)) expect(answer.json).toEqual({ detail: "Email already registered" });
    for (const answer of answers.filter((a) => a.status === 429)) expect(answer.headers.get("retry-after")).toBe("1");
    const users = await server.users();
    expect(users.filter((user) => user.email === "racer@sec.example.com")).toHaveLength(1);
  });
});

describe("the CLI writes while the server is under load", () => {
  test("create-admin and set-password during 200-request bursts: exit 0, database intact", async () => {
    // The burst is reads (WAL: they never block a writer) and two creates (short write transactions), far
    // inside the CLI's 5 s busy timeout: 'busy' here would be a regression, not bad luck.
    // The race's winner is the account whose password the CLI sets.
    const target = "racer@sec.example.com";
    const before = accountRow(target);
    expect(before).toBeDefined();

    const cliAdminPassword = suite.secret(fixturePassword("cli-admin"));
    const newPassword = suite.secret(fixturePassword("cli-set"));
    const cliWork = (async () => {
      const created = await server.cli(["create-admin", "--email", "cli-admin@sec.example.com", "--name", "CLI Admin", "--password", cliAdminPassword]);
      const reset = await server.cli(["set-password", "--email", target, "--password", newPassword]);
      return [created, reset] as const;
    })();

    let cliDone = false;
    void cliWork.finally(() => (cliDone = true));
    // One after the other, as a person at the console would.
    const creates = (async () => {
      const made: Res[] = [];
      for (let i = 0; i < 2; i++) {
        made.push(
          await server.request("POST", "/admin/users", {
            token: admin,
            json: { name: `Load ${i}`, email: `load-${i}@sec.example.com`, password: suite.secret(fixturePassword("load")) },
          }),
        );
      }
      return made;
    })();
    const statuses: number[] = [];
    for (let round = 0; round < 15 && !cliDone; round++) {
      const burst = await Promise.all(Array.from({ length: 200 }, () => server.request("GET", "/admin/users?limit=50", { token: admin })));
      statuses.push(...burst.map((response) => response.status));
    }
    const [[created, reset], made] = await Promise.all([cliWork, creates]);
    expect(statuses.length).toBeGreaterThanOrEqual(200);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(made.map((response) => response.status)).toEqual([201, 201]);

    for (const result of [created, reset]) {
      expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: "" });
      for (const secret of [cliAdminPassword, newPassword]) expect(result.stdout + result.stderr).not.toContain(secret);
    }
    expect(integrityCheck(server.dbPath)).toBe("ok");
    expect(accountRow("cli-admin@sec.example.com")?.role).toBe("admin");
    // A new hash, and the account's older tokens are revoked.
    const after = accountRow(target)!;
    expect(after.password_hash).not.toBe(before!.password_hash);
    expect(after.token_version).toBe(before!.token_version + 1);
    // The server sees both at once: the new password signs in, the CLI's admin too.
    expect((await server.login(target, newPassword)).status).toBe(200);
    expect((await server.login("cli-admin@sec.example.com", cliAdminPassword)).status).toBe(200);
  });

  test("the database passes PRAGMA integrity_check after everything above", () => {
    expect(integrityCheck(server.dbPath)).toBe("ok");
  });
});

suite.sweep();
