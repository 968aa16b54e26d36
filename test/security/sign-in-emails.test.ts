// Issue 19 (5, 6, 7), tried as the attacks were made, on the compiled binary: what a sign-in answers never says
// whether an account exists (an email the original stored without any check, `front desk`; an invisible
// character in a punycode domain), and capitals are one address under full case folding (Greek Σ, ß).
import { Database } from "bun:sqlite";
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readExistingDb } from "../support/processes.ts";
import { ADMIN, createSuite, expect401, expectDetail, type Instance, type Res } from "./harness.ts";

// This file spawns processes and hashes passwords: its own bound on a hung test (see test/setup.ts for why).
setDefaultTimeout(60_000);

const suite = createSuite();
const FRONT_DESK_PASSWORD = suite.secret("Front-Desk-Pass-2026");
const NINA_PASSWORD = suite.secret("Nina-Buecher-Pass-2026");
const WRONG = suite.secret("sec-suite-not-the-password-19");
let server: Instance;
let admin = "";

beforeAll(async () => {
  server = await suite.start("sign-in-emails", { env: { LOGIN_MAX_FAILURES: "1000", LOGIN_MAX_FAILURES_PER_ADDRESS: "1000" } });
  admin = await server.token(ADMIN.email, ADMIN.password);
  // An account as the Python original stored it: it checked nothing, so `front desk` is its email.
  const hash = await Bun.password.hash(FRONT_DESK_PASSWORD, { algorithm: "argon2id", memoryCost: 65536, timeCost: 2 });
  const db = new Database(server.dbPath);
  try {
    db.query("INSERT INTO users (name, email, password_hash, role, created_at) VALUES ('Front Desk', 'front desk', ?, 'agent', '2026-11-30 05:53:04.778602')").run(hash);
  } finally {
    db.close();
  }
}, 60_000);

/** Status, body and headers, without the two that differ on every response (its id and date). */
function answer(response: Res) {
  const headers = [...response.headers].filter(([name]) => name !== "x-request-id" && name !== "date").sort();
  return { status: response.status, body: response.text, headers };
}

describe("5. an email the original stored without any check", () => {
  test("typing it and typing another such email get the same answer; only its own password signs it in", async () => {
    const existing = await server.login("Front Desk", WRONG);
    const missing = await server.login("Back Office", WRONG);
    expect401(existing, "Invalid email or password");
    // Before: 422 "must not contain spaces…", which told that no account `back office` exists.
    expect401(missing, "Invalid email or password");
    expect(answer(missing)).toEqual(answer(existing));
    // The same for the right password of `front desk` typed against a name that does not exist.
    expect(answer(await server.login("Back Office", FRONT_DESK_PASSWORD))).toEqual(answer(existing));
    // The account the original stored still signs in, as stored and in other capitals.
    for (const typed of ["front desk", "Front Desk", "  FRONT DESK "]) {
      const signedIn = await server.login(typed, FRONT_DESK_PASSWORD);
      expect({ typed, status: signedIn.status }).toEqual({ typed, status: 200 });
    }
    // An invisible character is refused with 422 the same way, whether or not such an account exists.
    const hiddenExisting = await server.login("front\u200b desk", FRONT_DESK_PASSWORD);
    const hiddenMissing = await server.login("back\u200b office", FRONT_DESK_PASSWORD);
    expectDetail(hiddenExisting, 422, "email must not contain control or invisible characters");
    expect(answer(hiddenMissing)).toEqual(answer(hiddenExisting));
  });
});

describe("6. an invisible character in a punycode domain", () => {
  test("is 422 whether or not the account exists, also with the right password; the plain spelling signs in", async () => {
    const created = await server.request("POST", "/admin/users", {
      token: admin,
      json: { name: "Nina", email: "nina@b\u00fccher.de", password: NINA_PASSWORD },
    });
    expect(created.status).toBe(201);
    expect((await server.login("nina@xn--bcher-kva.de", NINA_PASSWORD)).status).toBe(200);
    // Soft hyphen, zero-width space, word joiner, variation selector-16: decoding punycode drops each of them.
    for (const hidden of ["\u00ad", "\u200b", "\u2060", "\ufe0f"]) {
      const existing = await server.login(`nina@xn--bcher-kva${hidden}.de`, NINA_PASSWORD);
      const missing = await server.login(`nobody@xn--bcher-kva${hidden}.de`, NINA_PASSWORD);
      const wrong = await server.login(`nina@xn--bcher-kva${hidden}.de`, WRONG);
      expectDetail(existing, 422, "email must not contain control or invisible characters");
      expect({ hidden, ...answer(missing) }).toEqual({ hidden, ...answer(existing) });
      expect({ hidden, ...answer(wrong) }).toEqual({ hidden, ...answer(existing) });
      expect(existing.text).not.toContain("access_token");
    }
  });
});

describe("7. capitals are one address under full case folding", () => {
  test("Greek capital sigma: ΟΔΟΣ is οδοσ (409), and signs in as it; so is STRASSE for straße", async () => {
    const create = (email: string) =>
      server.request("POST", "/admin/users", { token: admin, json: { name: "Fold", email, password: "Fold-Account-Pass-2026" } });
    const first = await create("\u03bf\u03b4\u03bf\u03c3@test.gr"); // οδοσ
    expect(first.status).toBe(201);
    expect(first.json.email).toBe("\u03bf\u03b4\u03bf\u03c3@test.gr");
    // ΟΔΟΣ lower-cases to οδος (a final sigma); folded, it is οδοσ.
    for (const twin of ["\u039f\u0394\u039f\u03a3@test.gr", "\u03bf\u03b4\u03bf\u03c2@test.gr", "\u039f\u0394\u039f\u03a3@TEST.GR"]) {
      const answered = await create(twin);
      expect({ twin, status: answered.status }).toEqual({ twin, status: 409 });
    }
    const signedIn = await server.login("\u039f\u0394\u039f\u03a3@TEST.GR", "Fold-Account-Pass-2026");
    expect(signedIn.status).toBe(200);
    const me = await server.request("GET", "/auth/me", { token: signedIn.json.access_token });
    expect(me.json.id).toBe(first.json.id);

    const strasse = await create("stra\u00dfe@test.de");
    expect(strasse.status).toBe(201);
    expect(strasse.json.email).toBe("strasse@test.de");
    for (const twin of ["STRASSE@test.de", "strasse@test.de", "STRA\u1e9eE@test.de"]) {
      expect({ twin, status: (await create(twin)).status }).toEqual({ twin, status: 409 });
    }
    const rows = readExistingDb(server.dbPath, (db) =>
      db.query("SELECT email FROM users WHERE email LIKE '%@test.gr' OR email LIKE '%@test.de' ORDER BY id").all(),
    );
    expect(rows).toEqual([{ email: "\u03bf\u03b4\u03bf\u03c3@test.gr" }, { email: "strasse@test.de" }]);
  });

  test("twins stored before the rule are named by doctor; a lone one gets its folded spelling at the next start", async () => {
    const other = await suite.start("sign-in-emails-twins");
    const hash = readExistingDb(other.dbPath, (db) => (db.query("SELECT password_hash AS h FROM users WHERE id = 1").get() as { h: string }).h);
    await suite.stop(other, "SIGTERM");
    const db = new Database(other.dbPath);
    try {
      const insert = db.query("INSERT INTO users (name, email, password_hash, role, created_at) VALUES ('Stored', ?, ?, 'agent', '2026-11-30 05:53:04.778602')");
      insert.run("\u03b1\u03bb\u03b5\u03be\u03b7\u03c3@test.gr", hash); // αλεξησ (#2)
      insert.run("\u03b1\u03bb\u03b5\u03be\u03b7\u03c2@test.gr", hash); // αλεξης (#3): the same address
      insert.run("\u03bf\u03b4\u03bf\u03c2@test.gr", hash); // οδος (#4), alone
    } finally {
      db.close();
    }
    const doctor = await other.cli(["doctor"]);
    expect(doctor.code).toBe(1);
    expect(doctor.stdout).toContain("accounts #2, #3 have emails that are one address");
    // The lone one is no problem: only advice, which names the spelling the next start gives it.
    const [, problems = "", advice = ""] = doctor.stdout.split(/^Problems|^Advice/m);
    expect(problems).not.toContain("#4");
    expect(advice).toContain('#4 "\u03bf\u03b4\u03bf\u03c2@test.gr" → "\u03bf\u03b4\u03bf\u03c3@test.gr"');
    const started = await other.cli(["migrate"]);
    expect(started.code).toBe(0);
    const emails = readExistingDb(other.dbPath, (read) => read.query("SELECT id, email FROM users WHERE id > 1 ORDER BY id").all());
    expect(emails).toEqual([
      { id: 2, email: "\u03b1\u03bb\u03b5\u03be\u03b7\u03c3@test.gr" },
      { id: 3, email: "\u03b1\u03bb\u03b5\u03be\u03b7\u03c2@test.gr" }, // a twin: left for an operator, never merged
      { id: 4, email: "\u03bf\u03b4\u03bf\u03c3@test.gr" },
    ]);
  });
});

suite.sweep();
