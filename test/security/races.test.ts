// Issue 11, tried as an attacker would on the compiled binary: authorization holds when the change lands
// (not only when the request arrives), guessing stays bounded under concurrency, the audit trail cannot be
// flooded, look-alike emails are one address, tokens are read strictly, restore signs everyone out, and a busy
// database is a 503 with nothing half-written. Every outcome asserted here is fixed for correct code whatever
// the machine's speed or core count: the throttle counts at arrival, each account's password operations run one
// at a time (a few more waiting their turn) and are checked again where they are written, so no answer depends
// on how fast hashing runs.
import { Database } from "bun:sqlite";
import { beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { listeningUrl, readExistingDb, startServe, stopServer, freePort } from "../support/processes.ts";
import {
  ADMIN,
  b64url,
  createSuite,
  HS256,
  nowSeconds,
  signJwt,
  validClaims,
  type Instance,
  type Res,
} from "./harness.ts";

const suite = createSuite();
const PASSWORD = "Races-Agent-Pass-2026";

let server: Instance;
let admin = "";
let counter = 0;

beforeAll(async () => {
  server = await suite.start("races", {
    env: {
      LOGIN_MAX_FAILURES: "5",
      LOGIN_MAX_FAILURES_PER_ADDRESS: "1000",
      LOGIN_MAX_FAILURES_PER_ACCOUNT: "10",
      // Only the proxy's X-Forwarded-For is believed: the tests play many addresses through it.
      TRUSTED_PROXY: "127.0.0.1",
    },
  });
  admin = server.adminToken();
}, 60_000);

async function createAccount(role: "admin" | "agent" = "agent"): Promise<{ id: number; email: string; password: string }> {
  const email = `races-${++counter}@sec.example.com`;
  const created = await server.request("POST", "/admin/users", {
    token: admin,
    json: { name: `Races ${counter}`, email, password: PASSWORD, role },
  });
  expect(created.status).toBe(201);
  return { id: created.json.id, email, password: PASSWORD };
}

const from = (address: string) => ({ "x-forwarded-for": address });

function row(id: number): { role: string; is_active: number; token_version: number; password_hash: string } {
  return readExistingDb(server.dbPath, (db) => db.query("SELECT role, is_active, token_version, password_hash FROM users WHERE id = ?").get(id) as never);
}

function auditRows(where: string, ...params: Array<string | number>): Array<Record<string, unknown>> {
  return readExistingDb(server.dbPath, (db) => db.query(`SELECT * FROM audit_events WHERE ${where} ORDER BY id`).all(...params) as never);
}

function countBy(responses: Res[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const response of responses) counts[response.status] = (counts[response.status] ?? 0) + 1;
  return counts;
}

describe("1-3: the actor is checked again where the change is written", () => {
  test("1. a deactivated admin's queued creates make no account after the deactivation: each answers 201, 401 or 429", async () => {
    const b = await createAccount("admin");
    const bToken = await server.token(b.email, b.password);
    const before = (await server.users()).length;
    const queued = Array.from({ length: 10 }, (_, i) =>
      server.request("POST", "/admin/users", {
        token: bToken,
        json: { name: `Queued ${i}`, email: `queued-${counter}-${i}@sec.example.com`, password: PASSWORD, role: "admin" },
      }),
    );
    const deactivated = await server.request("PATCH", `/admin/users/${b.id}/deactivate`, { token: admin });
    expect(deactivated.status).toBe(200);
    const answers = await Promise.all(queued);
    // Whatever got in before the deactivation committed is the only thing allowed to exist.
    const created = answers.filter((a) => a.status === 201).length;
    for (const answer of answers) expect([201, 401, 429]).toContain(answer.status);
    expect((await server.users()).length).toBe(before + created);
    // The account's creates run one at a time, and each is checked again where it is written: none landed
    // after the deactivation (the audit trail's order is the commit order), whatever the machine's speed.
    const events = auditRows("(type = 'user.created' AND actor_user_id = ?) OR (type = 'user.deactivated' AND user_id = ?)", b.id, b.id);
    const deactivation = events.find((e) => e.type === "user.deactivated")!;
    const creations = events.filter((e) => e.type === "user.created");
    expect(creations).toHaveLength(created);
    for (const creation of creations) expect(creation.id as number).toBeLessThan(deactivation.id as number);
  });

  test("2. a demoted admin's queued resets do not land after the demotion; at most one of them lands at all", async () => {
    const b = await createAccount("admin");
    const victim = await createAccount();
    const bToken = await server.token(b.email, b.password);
    const queued = Array.from({ length: 8 }, (_, i) =>
      server.request("PUT", `/admin/users/${victim.id}/password`, { token: bToken, json: { password: `Demoted-Reset-${i}-2026` } }),
    );
    const demoted = await server.request("PATCH", `/admin/users/${b.id}`, { token: admin, json: { role: "agent" } });
    expect(demoted.status).toBe(200);
    const answers = await Promise.all(queued);
    const counts = countBy(answers);
    for (const status of Object.keys(counts)) expect([204, 403, 409, 429]).toContain(Number(status));
    // Each reset is compare-and-set on the version seen at its arrival: once one lands, the others answer 409.
    expect(counts[204] ?? 0).toBeLessThanOrEqual(1);
    const events = auditRows("(type = 'password.reset' AND actor_user_id = ?) OR (type = 'user.updated' AND user_id = ?)", b.id, b.id);
    const demotion = events.find((e) => e.type === "user.updated")!;
    for (const reset of events.filter((e) => e.type === "password.reset")) expect(reset.id as number).toBeLessThan(demotion.id as number);
    // If no reset landed before the demotion, the victim's password is untouched.
    if (!counts[204]) expect((await server.login(victim.email, victim.password)).status).toBe(200);
  });

  test("3. an admin's reset is not undone by the attacker's queued changes: the admin's password stays", async () => {
    const victim = await createAccount();
    const stolen = await server.token(victim.email, victim.password);
    const attacker = Array.from({ length: 6 }, (_, i) =>
      server.request("PUT", "/auth/password", {
        token: stolen,
        json: { current_password: victim.password, new_password: `Attacker-Owns-${i}-2026` },
      }),
    );
    const adminPassword = "Admin-Chosen-Reset-2026";
    let reset = await server.request("PUT", `/admin/users/${victim.id}/password`, { token: admin, json: { password: adminPassword } });
    // A reset that lost the race to the attacker's change says so (409) and changes nothing; the admin repeats it.
    for (let i = 0; i < 5 && reset.status === 409; i++) {
      reset = await server.request("PUT", `/admin/users/${victim.id}/password`, { token: admin, json: { password: adminPassword } });
    }
    expect(reset.status).toBe(204);
    const answers = await Promise.all(attacker);
    for (const answer of answers) expect([200, 401, 429]).toContain(answer.status);
    // After the admin's 204 every attacker token is dead and the admin's password is the one that works.
    expect((await server.login(victim.email, adminPassword)).status).toBe(200);
    for (const answer of answers) {
      if (answer.status === 200) expect((await server.request("GET", "/auth/me", { token: answer.json.access_token })).status).toBe(401);
    }
    expect((await server.request("GET", "/auth/me", { token: stolen })).status).toBe(401);
  });

  test("14. the admin route for one's own password answers 403 pointing to PUT /auth/password", async () => {
    const response = await server.request("PUT", "/admin/users/1/password", { token: admin, json: { password: "Own-Reset-Attempt-2026" } });
    expect(response.status).toBe(403);
    expect(response.json.detail).toContain("PUT /auth/password");
    expect((await server.login(ADMIN.email, ADMIN.password)).status).toBe(200);
  });
});

describe("4-7: guessing is bounded under concurrency", () => {
  test("4. 20 concurrent wrong passwords for one email from one address: exactly 5 checked (401), 15 refused (429)", async () => {
    const victim = await createAccount();
    const answers = await Promise.all(Array.from({ length: 20 }, () => server.login(victim.email, "Wrong-Guess-4-2026", from("10.4.0.1"))));
    expect(countBy(answers)).toEqual({ 401: 5, 429: 15 });
    for (const answer of answers.filter((a) => a.status === 429)) expect(Number(answer.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  test("5. one account guessed from many addresses stops at LOGIN_MAX_FAILURES_PER_ACCOUNT (10); an admin's unlock clears it", async () => {
    const victim = await createAccount();
    const addresses = ["10.5.0.1", "10.5.0.2", "10.5.0.3", "10.5.0.4", "10.5.0.5"];
    const answers = await Promise.all(
      addresses.flatMap((address) => Array.from({ length: 3 }, () => server.login(victim.email, "Wrong-Guess-5-2026", from(address)))),
    );
    expect(countBy(answers)).toEqual({ 401: 10, 429: 5 });
    // A sixth address, even with the right password, is refused like the others.
    expect((await server.login(victim.email, victim.password, from("10.5.0.6"))).status).toBe(429);
    const unlock = await server.request("POST", `/admin/users/${victim.id}/unlock`, { token: admin });
    expect(unlock.status).toBe(204);
    expect((await server.login(victim.email, victim.password, from("10.5.0.6"))).status).toBe(200);
    expect(auditRows("type = 'user.unlocked' AND user_id = ?", victim.id)).toHaveLength(1);
  });

  test("6. PUT /auth/password: wrong current passwords count (5 × 403, then 429) and are audited", async () => {
    const agent = await createAccount();
    const token = await server.token(agent.email, agent.password);
    const statuses: Res[] = [];
    for (let i = 0; i < 8; i++) {
      const answer = await server.request("PUT", "/auth/password", {
        token,
        json: { current_password: `Not-The-Password-${i}`, new_password: "Whatever-New-Pass-2026" },
        headers: from("10.6.0.1"),
      });
      statuses.push(answer);
    }
    expect(statuses.map((answer) => answer.status)).toEqual([403, 403, 403, 403, 403, 429, 429, 429]);
    for (const answer of statuses.slice(5)) expect(Number(answer.headers.get("retry-after"))).toBeGreaterThan(0);
    const rows = auditRows("type = 'password.change_failed' AND user_id = ?", agent.id);
    expect(rows.filter((r) => r.reason === "wrong_password")).toHaveLength(5);
    expect(rows.filter((r) => r.reason === "throttled").map((r) => r.count)).toEqual([3]);
  });

  test("6b. throttled password changes for two accounts from one address: one row each, under its own account", async () => {
    const agents = [await createAccount(), await createAccount()];
    const tokens = await Promise.all(agents.map((agent) => server.token(agent.email, agent.password)));
    const statuses: number[][] = [[], []];
    for (const turn of [0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 1, 0, 1, 1]) {
      const answer = await server.request("PUT", "/auth/password", {
        token: tokens[turn],
        json: { current_password: `Not-The-Password-6b-${turn}`, new_password: "Whatever-New-Pass-2026" },
        headers: from("10.6.1.1"),
      });
      statuses[turn]!.push(answer.status);
    }
    expect(statuses).toEqual([
      [403, 403, 403, 403, 403, 429],
      [403, 403, 403, 403, 403, 429, 429, 429],
    ]);
    const throttled = auditRows("type = 'password.change_failed' AND reason = 'throttled' AND ip = '10.6.1.1'");
    // The second account was refused first (its sixth change came before the first account's).
    expect(throttled.map((r) => [r.user_id, r.count])).toEqual([
      [agents[1]!.id, 3],
      [agents[0]!.id, 1],
    ]);
  });

  test("7. one agent flooding PUT /auth/password: a few under way, one hashing at a time; the rest answer 429 and an admin still signs in", async () => {
    const agent = await createAccount();
    const token = await server.token(agent.email, agent.password);
    const flood = Array.from({ length: 30 }, (_, i) =>
      server.request("PUT", "/auth/password", {
        token,
        json: { current_password: `Flood-Wrong-${i}-pw`, new_password: "Flood-New-Pass-2026" },
        headers: from(`10.7.0.${i}`),
      }),
    );
    const adminLogin = await server.login(ADMIN.email, ADMIN.password, from("10.7.1.1"));
    expect(adminLogin.status).toBe(200);
    const answers = await Promise.all(flood);
    const counts = countBy(answers);
    // At most eight of the account's operations under way, and the account's cap (10) on wrong current
    // passwords: every other request was refused before any hashing.
    expect(Object.keys(counts).sort()).toEqual(["403", "429"]);
    expect(counts[403]).toBeLessThanOrEqual(10);
    expect(counts[429]).toBeGreaterThanOrEqual(20);
    for (const answer of answers.filter((a) => a.status === 429)) expect(answer.headers.get("retry-after")).not.toBeNull();
  });
});

describe("15-16: each account's password operations wait their turn", () => {
  test("15. four concurrent POST /admin/users of four new accounts by one admin: all four 201, each account made once", async () => {
    const before = (await server.users()).length;
    const emails = Array.from({ length: 4 }, (_, i) => `bulk-${i}@sec.example.com`);
    const answers = await Promise.all(
      emails.map((email, i) => server.request("POST", "/admin/users", { token: admin, json: { name: `Bulk ${i}`, email, password: PASSWORD } })),
    );
    expect(answers.map((a) => a.status)).toEqual([201, 201, 201, 201]);
    expect(answers.map((a) => a.json.email).sort()).toEqual(emails);
    expect((await server.users()).length).toBe(before + 4);
    for (const email of emails) expect((await server.login(email, PASSWORD)).status).toBe(200);
  });

  test("16. an agent keeping eight password changes under way holds one place in the hashing queue: never 503, and the admin's concurrent sign-ins each wait for at most one of its hashes", async () => {
    // One hash at a time and a queue of 12: signed-in work may hold 6 places. Throttle limits out of the way.
    const pinned = await suite.start("races-flood", {
      env: {
        HASHING_CONCURRENCY: "1",
        HASHING_QUEUE: "12",
        LOGIN_MAX_FAILURES: "1000",
        LOGIN_MAX_FAILURES_PER_ADDRESS: "100000",
        LOGIN_MAX_FAILURES_PER_ACCOUNT: "100000",
      },
    });
    try {
      const adminToken = pinned.adminToken();
      const created = await pinned.request("POST", "/admin/users", {
        token: adminToken,
        json: { name: "Flooding Agent", email: "flooder@sec.example.com", password: PASSWORD },
      });
      expect(created.status).toBe(201);
      const agentToken = await pinned.token("flooder@sec.example.com", PASSWORD);
      const TOTAL = 24;
      let sent = 0;
      const statuses: number[] = [];
      const change = async (): Promise<void> => {
        while (sent < TOTAL) {
          sent++;
          const answer = await pinned.request("PUT", "/auth/password", {
            token: agentToken,
            json: { current_password: `Wrong-Current-${sent}-pw`, new_password: "Flooder-New-Pass-2026" },
          });
          statuses.push(answer.status);
        }
      };
      // Eight in flight at every moment, each checked with a hash.
      const flood = Promise.all(Array.from({ length: 8 }, change));
      // Once the flood is under way, the admin signs in five times at once.
      while (statuses.length < 2) await Bun.sleep(5);
      const signIns = await Promise.all(Array.from({ length: 5 }, () => pinned.login(ADMIN.email, ADMIN.password)));
      expect(signIns.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
      await flood;
      // Every change was hashed (403: wrong current password); none was refused as busy, which a second place in
      // the queue for this account would have been, nor as over the account's bound (eight is allowed).
      expect(statuses.filter((status) => status !== 403)).toEqual([]);
      expect(statuses).toHaveLength(TOTAL);
      // Measured in the order the server committed them: how many of the agent's hashes ran between the first and
      // the last of the five sign-ins. The gate lets at most one run per sign-in waiting (4 here when the five
      // arrive together; password.test.ts holds the exact order); a starved sign-in would see the rest of the
      // flood pass it. Only that gross bound is asserted, so the verdict does not depend on arrival times.
      const events = readExistingDb(pinned.dbPath, (db) =>
        db.query("SELECT id, type FROM audit_events WHERE (type = 'login.succeeded' AND user_id = 1) OR type = 'password.change_failed' ORDER BY id").all() as Array<{ id: number; type: string }>,
      );
      const logins = events.filter((e) => e.type === "login.succeeded");
      expect(logins).toHaveLength(5);
      const between = events.filter((e) => e.type === "password.change_failed" && e.id > logins[0]!.id && e.id < logins.at(-1)!.id).length;
      console.info(`races 16: ${between} of the agent's ${TOTAL} hashes ran between the first and the last of the admin's five queued sign-ins`);
      expect(between).toBeLessThan(TOTAL / 2);
    } finally {
      await suite.stop(pinned);
    }
  }, 90_000);
});

describe("8-9: the audit trail", () => {
  test("8. a burst of 300 refused sign-ins is one counted row, not 300 rows", async () => {
    const victim = await createAccount();
    for (let i = 0; i < 5; i++) await server.login(victim.email, "Wrong-Guess-8-2026", from("10.8.0.1"));
    const before = auditRows("1 = 1").length;
    const answers = await Promise.all(Array.from({ length: 300 }, () => server.login(victim.email, "Wrong-Guess-8-2026", from("10.8.0.1"))));
    expect(countBy(answers)).toEqual({ 429: 300 });
    const after = auditRows("1 = 1");
    expect(after.length - before).toBe(1);
    expect(after.at(-1)).toMatchObject({ type: "login.failed", reason: "throttled", count: 300, user_id: victim.id });
  });

  test("9. what is typed as an email is kept only when it is an address; otherwise a fixed marker", async () => {
    const typed = suite.secret("Typed-Password-In-Email-9");
    expect((await server.login(typed, "whatever-pw", from("10.9.0.1"))).status).toBe(401);
    const rows = auditRows("ip = '10.9.0.1'");
    expect(rows).toHaveLength(1);
    expect(rows[0]!.email).toBe("(not an email address)");
    const listed = await server.request("GET", "/admin/audit?limit=1000", { token: admin });
    expect(listed.text).not.toContain(typed);
  });

  test("9b. a password or markup with an @ and a dot is no address either: the marker in the trail, 422 as an account's email", async () => {
    for (const typed of ["P@ssw0rd.2024", "<script>@x.y"]) {
      expect((await server.login(typed, "whatever-pw", from("10.9.1.1"))).status).toBe(401);
      const created = await server.request("POST", "/admin/users", { token: admin, json: { name: "Shape", email: typed, password: PASSWORD } });
      expect({ typed, status: created.status, detail: created.json.detail }).toEqual({ typed, status: 422, detail: "email must be a valid email address" });
    }
    expect(auditRows("ip = '10.9.1.1'").map((r) => r.email)).toEqual(["(not an email address)", "(not an email address)"]);
    expect(readExistingDb(server.dbPath, (db) => db.query("SELECT count(*) AS n FROM users WHERE email LIKE '%ssw0rd%' OR email LIKE '%script%'").get())).toEqual({ n: 0 });
    const listed = await server.request("GET", "/admin/audit?limit=1000", { token: admin });
    expect(listed.text).not.toMatch(/ssw0rd|<script>/i);
  });
});

describe("10: one spelling per address", () => {
  test("composed/decomposed, fullwidth and upper-case spellings are one address (409); invisible characters are 422 naming email", async () => {
    const create = (email: string) =>
      server.request("POST", "/admin/users", { token: admin, json: { name: "Look Alike", email, password: PASSWORD } });
    expect((await create("jos\u00e9@sec.example.com")).status).toBe(201);
    expect((await create("jose\u0301@sec.example.com")).status).toBe(409);
    expect((await create("JOS\u00c9@sec.example.com")).status).toBe(409);
    expect((await create("\uff41gent10@sec.example.com")).status).toBe(201);
    expect((await create("agent10@sec.example.com")).status).toBe(409);
    // Combining grapheme joiner, Hangul filler, braille blank and variation selector-16 render as nothing too.
    for (const hidden of ["\u200b", "\u00ad", "\u2060", "\u202e", "\u034f", "\u3164", "\u2800", "\ufe0f"]) {
      const answer = await create(`agent10${hidden}@sec.example.com`);
      expect({ hidden, status: answer.status, detail: answer.json.detail }).toEqual({
        hidden,
        status: 422,
        detail: "email must not contain spaces, control or invisible characters",
      });
    }
    expect(readExistingDb(server.dbPath, (db) => db.query("SELECT count(*) AS n FROM users WHERE email LIKE 'agent10%'").get())).toEqual({ n: 1 });
    // Signing in with another spelling of the same address works.
    expect((await server.login("jose\u0301@sec.example.com", PASSWORD, from("10.10.0.1"))).status).toBe(200);
  });
});

describe("11: tokens are read strictly", () => {
  test("nbf in the future, other spellings of the signature, and a header with alg twice are all refused", async () => {
    const good = signJwt(HS256, validClaims("1", row(1).token_version));
    expect((await server.request("GET", "/auth/me", { token: good })).status).toBe(200);
    const notYet = signJwt(HS256, { ...validClaims("1", row(1).token_version), nbf: nowSeconds() + 3600 });
    expect((await server.request("GET", "/auth/me", { token: notYet })).status).toBe(401);
    // The last character of a 32-byte signature carries 4 spare bits: flip them.
    const [head, body, signature] = good.split(".") as [string, string, string];
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const last = alphabet.indexOf(signature.at(-1)!);
    let variants = 0;
    for (let spare = 0; spare < 4; spare++) {
      const char = alphabet[(last & ~3) | spare]!;
      if (char === signature.at(-1)) continue;
      variants++;
      const other = `${head}.${body}.${signature.slice(0, -1)}${char}`;
      expect((await server.request("GET", "/auth/me", { token: other })).status).toBe(401);
    }
    expect(variants).toBe(3);
    // {"alg":"none","alg":"HS256"}: a reader where the last one wins would accept it.
    const twice = signJwt(b64url('{"alg":"none","alg":"HS256","typ":"JWT"}'), validClaims("1", row(1).token_version));
    expect((await server.request("GET", "/auth/me", { token: twice })).status).toBe(401);
  });
});

describe("13: a busy database", () => {
  test("a reset while another connection holds the write lock: 503 with Retry-After after the busy timeout; nothing written", async () => {
    const victim = await createAccount();
    const before = row(victim.id);
    const events = auditRows("1 = 1").length;
    const holder = new Database(server.dbPath);
    holder.run("BEGIN IMMEDIATE");
    try {
      const answer = await server.request("PUT", `/admin/users/${victim.id}/password`, { token: admin, json: { password: "Busy-Reset-Pass-2026" } });
      expect(answer.status).toBe(503);
      expect(Number(answer.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(answer.json.detail).toContain("busy");
    } finally {
      holder.run("ROLLBACK");
      holder.close();
    }
    expect(row(victim.id)).toEqual(before);
    expect(auditRows("1 = 1").length).toBe(events);
    expect((await server.request("PUT", `/admin/users/${victim.id}/password`, { token: admin, json: { password: "Busy-Reset-Pass-2026" } })).status).toBe(204);
  }, 60_000);

  test("the right password answered 503 while another process holds the lock past the busy timeout is no failed sign-in: once the lock goes, it signs in", async () => {
    const victim = await createAccount();
    const events = auditRows("1 = 1").length;
    const holder = new Database(server.dbPath);
    holder.run("BEGIN IMMEDIATE");
    let during: Res[];
    try {
      // LOGIN_MAX_FAILURES (5) at once, all holding their places while they wait: counted as failures, they
      // would lock the pair. Held until every one has answered, so past the busy timeout on any machine.
      during = await Promise.all(Array.from({ length: 5 }, () => server.login(victim.email, victim.password, from("10.13.3.1"))));
    } finally {
      holder.run("ROLLBACK");
      holder.close();
    }
    for (const answer of during) {
      expect(answer.status).toBe(503);
      expect(Number(answer.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(answer.json.detail).toContain("busy");
      expect(answer.text).not.toContain("access_token");
    }
    expect(auditRows("1 = 1").length).toBe(events);
    const after = await server.login(victim.email, victim.password, from("10.13.3.1"));
    expect(after.status).toBe(200);
    expect(auditRows("type = 'login.succeeded' AND user_id = ?", victim.id)).toHaveLength(1);
  }, 60_000);

  /** Five wrong passwords for `victim` from `address`: its next sign-in from there is refused at arrival. */
  async function throttleFrom(victim: { email: string }, address: string): Promise<void> {
    for (let i = 0; i < 5; i++) expect((await server.login(victim.email, `Wrong-Before-Lock-${i}`, from(address))).status).toBe(401);
  }

  /**
   * While `holder` has the write lock: three renames of `victim`, a sign-in refused by the throttle (its counted
   * audit row is written at arrival, before any hashing: what an anonymous client could repeat) and a wrong
   * password; then /health, /auth/me and /ready one after another. Every answer is noted in the order it came.
   * No write can answer before the lock is let go or the busy timeout is spent, so for a server that waits
   * without stopping, the probes come first, on any machine.
   */
  async function writesDuringLock(holder: Database, victim: { id: number; email: string }, throttledFrom: string) {
    const order: string[] = [];
    const noted = <T extends Res>(label: string, pending: Promise<T>) => pending.then((answer) => (order.push(label), answer));
    holder.run("BEGIN IMMEDIATE");
    const writes = [1, 2, 3].map((n) =>
      noted(`write ${n}`, server.request("PATCH", `/admin/users/${victim.id}`, { token: admin, json: { name: `During Lock ${n}` } })),
    );
    const refused = noted("refused sign-in", server.login(victim.email, "Wrong-During-Lock-0", from(throttledFrom)));
    const wrongPassword = noted("wrong password", server.login(victim.email, "Wrong-During-Lock-1", from("10.13.0.1")));
    const probes: Res[] = [];
    // Many cheap probes, so the writes have surely reached the server (and, wrongly, could freeze it) meanwhile.
    for (let i = 0; i < 20; i++) probes.push(await noted("health", server.request("GET", "/health")));
    const me = await noted("me", server.request("GET", "/auth/me", { token: admin }));
    const ready = await noted("ready", server.request("GET", "/ready"));
    return { order, writes, refused, wrongPassword, probes, me, ready };
  }

  test("writes waiting for another connection's lock hold up nothing: /health, /auth/me and /ready ('locked') answer first; let go within the busy timeout, the writes land", async () => {
    const victim = await createAccount();
    await throttleFrom(victim, "10.13.1.1");
    const events = auditRows("type = 'user.updated' AND user_id = ?", victim.id).length;
    const holder = new Database(server.dbPath);
    let during: Awaited<ReturnType<typeof writesDuringLock>>;
    try {
      during = await writesDuringLock(holder, victim, "10.13.1.1");
      // Every probe answered while the lock is still held: no write has answered yet.
      expect(during.order).toEqual([...Array(20).fill("health"), "me", "ready"]);
    } finally {
      if (holder.inTransaction) holder.run("ROLLBACK");
      holder.close();
    }
    for (const probe of during.probes) expect(probe.status).toBe(200);
    expect(during.me.status).toBe(200);
    expect(during.ready.status).toBe(503);
    expect(during.ready.json).toEqual({ status: "unavailable", detail: expect.stringContaining("locked") });
    // Let go within the busy timeout: the waiting writes land, each recorded once.
    const writes = await Promise.all(during.writes);
    for (const write of writes) expect(write.status).toBe(200);
    expect((await during.refused).status).toBe(429);
    expect((await during.wrongPassword).status).toBe(401);
    expect(["During Lock 1", "During Lock 2", "During Lock 3"]).toContain(readExistingDb(server.dbPath, (db) => (db.query("SELECT name FROM users WHERE id = ?").get(victim.id) as { name: string }).name));
    expect(auditRows("type = 'user.updated' AND user_id = ?", victim.id).length).toBe(events + 3);
    expect(auditRows("type = 'login.failed' AND ip = '10.13.0.1'")).toHaveLength(1);
    expect(auditRows("type = 'login.failed' AND ip = '10.13.1.1' AND reason = 'throttled'")).toMatchObject([{ count: 1 }]);
    expect((await server.request("GET", "/ready")).status).toBe(200);
  }, 60_000);

  test("writes waiting past the busy timeout: each answers 503 with Retry-After and writes nothing; /health and /ready answered first", async () => {
    const victim = await createAccount();
    await throttleFrom(victim, "10.13.2.1");
    const before = row(victim.id);
    const events = auditRows("1 = 1").length;
    const holder = new Database(server.dbPath);
    let during: Awaited<ReturnType<typeof writesDuringLock>>;
    let writes: Res[];
    try {
      during = await writesDuringLock(holder, victim, "10.13.2.1");
      // Held until every write has answered: past the busy timeout, whatever the machine's speed.
      writes = await Promise.all(during.writes);
      await Promise.all([during.refused, during.wrongPassword]);
    } finally {
      if (holder.inTransaction) holder.run("ROLLBACK");
      holder.close();
    }
    expect(during.order.slice(0, 22)).toEqual([...Array(20).fill("health"), "me", "ready"]);
    expect(during.ready.status).toBe(503);
    for (const write of writes) {
      expect(write.status).toBe(503);
      expect(Number(write.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(write.json.detail).toContain("busy");
    }
    expect(row(victim.id)).toEqual(before);
    expect(auditRows("1 = 1").length).toBe(events);
  }, 60_000);
});

describe("issue 12: own password, unlock, what changed", () => {
  test("own password change keeps this session with a fresh token; every other token stops", async () => {
    const agent = await createAccount();
    const other = await server.token(agent.email, agent.password);
    const mine = await server.token(agent.email, agent.password);
    const changed = await server.request("PUT", "/auth/password", {
      token: mine,
      json: { current_password: agent.password, new_password: "Own-Change-Pass-2026" },
      headers: from("10.12.0.1"),
    });
    expect(changed.status).toBe(200);
    expect(changed.json).toMatchObject({ token_type: "bearer", expires_in: expect.any(Number) });
    expect((await server.request("GET", "/auth/me", { token: changed.json.access_token })).status).toBe(200);
    for (const token of [mine, other]) expect((await server.request("GET", "/auth/me", { token })).status).toBe(401);
  });

  test("after five wrong sign-ins, moxie set-password, reactivation and the admin's reset each unlock the agent", async () => {
    const agent = await createAccount();
    const lockOut = async () => {
      for (let i = 0; i < 5; i++) await server.login(agent.email, "Wrong-Unlock-Pass", from("10.12.1.1"));
      expect((await server.login(agent.email, agent.password, from("10.12.1.1"))).status).toBe(429);
    };
    await lockOut();
    agent.password = "Cli-Set-Pass-2026";
    const cli = await server.cli(["set-password", "--email", agent.email, "--password", agent.password]);
    expect(cli.code).toBe(0);
    expect(cli.stdout).toContain("throttle");
    expect((await server.login(agent.email, agent.password, from("10.12.1.1"))).status).toBe(200);

    await lockOut();
    agent.password = "Admin-Set-Pass-2026";
    expect((await server.request("PUT", `/admin/users/${agent.id}/password`, { token: admin, json: { password: agent.password } })).status).toBe(204);
    expect((await server.login(agent.email, agent.password, from("10.12.1.1"))).status).toBe(200);

    await lockOut();
    // Activating an account that is active changes and records nothing, so the throttle stays; reactivating clears it.
    expect((await server.request("PATCH", `/admin/users/${agent.id}/activate`, { token: admin })).status).toBe(200);
    expect((await server.login(agent.email, agent.password, from("10.12.1.1"))).status).toBe(429);
    expect((await server.request("PATCH", `/admin/users/${agent.id}/deactivate`, { token: admin })).status).toBe(200);
    expect((await server.request("PATCH", `/admin/users/${agent.id}/activate`, { token: admin })).status).toBe(200);
    expect((await server.login(agent.email, agent.password, from("10.12.1.1"))).status).toBe(200);

    await lockOut();
    expect((await server.cli(["unlock", "--email", agent.email])).code).toBe(0);
    expect((await server.login(agent.email, agent.password, from("10.12.1.1"))).status).toBe(200);
  });

  test("user.updated says what changed; the wire carries count, changes, the account's email; last_login_at is set", async () => {
    const agent = await createAccount();
    expect((await server.request("PATCH", `/admin/users/${agent.id}`, { token: admin, json: { role: "admin", name: "Promoted" } })).status).toBe(200);
    const listed = await server.request("GET", `/admin/audit?user_id=${agent.id}&type=user.updated`, { token: admin });
    expect(listed.json).toHaveLength(1);
    expect(listed.json[0]).toMatchObject({
      email: agent.email,
      count: 1,
      changes: { role: { from: "agent", to: "admin" }, name: { from: `Races ${counter}`, to: "Promoted" } },
    });
    const cli = await server.cli(["audit", "--json", "--user-id", String(agent.id), "--type", "user.updated"]);
    expect(JSON.parse(cli.stdout)[0]).toMatchObject({ email: agent.email, count: 1, changes: listed.json[0].changes });
    await server.login(agent.email, agent.password, from("10.12.2.1"));
    const me = await server.request("GET", `/admin/users/${agent.id}`, { token: admin });
    expect(me.json.last_login_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });
});

describe("12: restore signs everyone out", () => {
  test("a token revoked after the backup stays dead after the restore, and so does one issued since; the output says everyone is signed out", async () => {
    const instance = await suite.start("restore", { env: { LOGIN_MAX_FAILURES: "100" } });
    const token = await instance.token(ADMIN.email, ADMIN.password);
    await suite.stop(instance);
    const backup = join(instance.dir, "before.db");
    expect((await instance.cli(["backup", backup])).code).toBe(0);
    // Revoked after the backup: the backup still holds the version this token carries.
    expect((await instance.cli(["set-password", "--email", ADMIN.email, "--password", "After-Backup-Pass-2026"])).code).toBe(0);
    // Issued since the backup, at the version the live database holds now (signed with the server's key, as a
    // sign-in after the password change would issue it): the backup's version + 1 must not revive it.
    const liveVersion = readExistingDb(instance.dbPath, (db) => (db.query("SELECT token_version AS v FROM users WHERE id = 1").get() as { v: number }).v);
    const issuedSince = signJwt(HS256, validClaims("1", liveVersion));
    const restored = await instance.cli(["restore", backup]);
    expect(restored.code).toBe(0);
    expect(restored.stdout).toContain("Signed everyone out");
    const port = freePort();
    const served = startServe(["--port", String(port)], { cwd: instance.dir, env: instance.env, command: ["./moxie"] });
    try {
      const url = await listeningUrl(served);
      const me = await fetch(`${url}/auth/me`, { headers: { authorization: `Bearer ${token}` } });
      expect(me.status).toBe(401);
      const since = await fetch(`${url}/auth/me`, { headers: { authorization: `Bearer ${issuedSince}` } });
      expect(since.status).toBe(401);
      // The same forging at the restored version and in the restored database's generation is admitted: the
      // refusals above are the restore's doing (the generation it began), not the signer's.
      const restoredVersion = readExistingDb(instance.dbPath, (db) => (db.query("SELECT token_version AS v FROM users WHERE id = 1").get() as { v: number }).v);
      const generation = readExistingDb(instance.dbPath, (db) => (db.query("SELECT generation AS g FROM database_generation").get() as { g: string }).g);
      const current = await fetch(`${url}/auth/me`, { headers: { authorization: `Bearer ${signJwt(HS256, validClaims("1", restoredVersion, generation))}` } });
      expect(current.status).toBe(200);
    } finally {
      await stopServer(served);
    }
  }, 90_000);
});

suite.sweep();
