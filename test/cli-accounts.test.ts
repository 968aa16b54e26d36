// The account commands an operator runs at the host: set-password, users, deactivate, activate.
// `bun src/main.ts ...` spawned in a temp directory with an explicit environment; accounts are seeded
// in-process through the service (one shared database file), and every effect is read back from the file.
import { beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { join } from "node:path";
import { openDatabase } from "../src/db/index.ts";
import { users } from "../src/db/schema.ts";
import { createUser } from "../src/accounts/service.ts";
import { tempDir } from "./helpers.ts";
import { expectOneLineError, readExistingDb, runCli, type UserRow as StoredUser } from "./support/processes.ts";

interface UserRow extends StoredUser {
  token_version: number;
  password_changed_at: string | null;
}

/** The rows as the file holds them now, read through a separate read-only connection. */
function rows(dbPath: string): UserRow[] {
  return readExistingDb(dbPath, (client) => client.query("SELECT * FROM users ORDER BY created_at, id").all() as UserRow[]);
}

function row(dbPath: string, email: string): UserRow {
  const found = rows(dbPath).find((r) => r.email === email);
  if (!found) throw new Error(`no row for ${email}`);
  return found;
}

const cwd = tempDir("moxie-cli-accounts-");
const dbPath = join(cwd, "data", "moxie.db");
const databaseUrl = `sqlite:///${dbPath}`;
/** PATH, HOME and DATABASE_URL only: nothing from the developer's shell leaks in. */
const cli = (args: string[], stdin?: Blob) => runCli(args, { cwd, env: { DATABASE_URL: databaseUrl }, stdin });

const ROOT_ADMIN = { name: "Root Admin", email: "root@cli.test", password: "root-password-1" };
const OLD_ADMIN = { name: "Old Admin", email: "old.admin@cli.test", password: "old-admin-pass-1" };
const AGENT = { name: "Agent Cli", email: "agent@cli.test", password: "agent-password-1" };
const OTHER = { name: "Other Agent", email: "other@cli.test", password: "other-password-1" };

beforeAll(async () => {
  const db = openDatabase(dbPath);
  await createUser(db, { ...ROOT_ADMIN, role: "admin" });
  const old = await createUser(db, { ...OLD_ADMIN, role: "admin" });
  db.update(users).set({ isActive: false }).where(eq(users.id, old.id)).run(); // an inactive admin: does not count
  await createUser(db, AGENT);
  await createUser(db, OTHER);
  db.$client.close();
});

describe("moxie users", () => {
  test("prints a table: the header, one row per account oldest first, then the count", async () => {
    const result = await cli(["users"]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    expect(result.stdout).not.toContain("$argon2");
    const lines = result.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^ID {2,}EMAIL {2,}NAME {2,}ROLE {2,}ACTIVE$/);
    const stored = rows(dbPath);
    expect(stored).toHaveLength(4);
    const body = lines.slice(1, -1).map((line) => line.split(/ {2,}/));
    expect(body).toEqual(stored.map((r) => [String(r.id), r.email, r.name, r.role, r.is_active ? "yes" : "no"]));
    expect(lines.at(-1)).toBe(`${stored.length} accounts`);
    // The columns line up under the header.
    const emailColumn = lines[0]!.indexOf("EMAIL");
    for (const line of lines.slice(1, -1)) expect(line.indexOf("@") > emailColumn).toBe(true);
    for (const [index, r] of stored.entries()) expect(lines[index + 1]!.indexOf(r.email)).toBe(emailColumn);
  });

  test("--json prints an array of the public fields only", async () => {
    const result = await cli(["users", "--json"]);
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain("$argon2");
    expect(result.stdout).not.toContain("password_hash");
    expect(result.stdout).not.toContain("token_version");
    const listed = JSON.parse(result.stdout) as Array<Record<string, unknown>>;
    expect(listed).toEqual(
      rows(dbPath).map((r) => ({
        id: r.id,
        email: r.email,
        name: r.name,
        role: r.role,
        is_active: r.is_active === 1,
        created_at: r.created_at,
        last_login_at: null,
      })),
    );
    for (const entry of listed) {
      expect(Object.keys(entry).sort()).toEqual(["created_at", "email", "id", "is_active", "last_login_at", "name", "role"]);
    }
  });

  test("on an empty (fresh) database: just the header and 0 accounts", async () => {
    const dir = tempDir();
    // `users` never creates one (see test/operator.test.ts); a fresh database is what serve makes.
    openDatabase(join(dir, "empty.db")).$client.close();
    const result = await runCli(["users"], { cwd: dir, env: { DATABASE_URL: `sqlite:///${join(dir, "empty.db")}` } });
    expect(result.code).toBe(0);
    expect(result.stdout.trimEnd().split("\n")).toEqual([expect.stringMatching(/^ID {2,}EMAIL {2,}NAME {2,}ROLE {2,}ACTIVE$/), "0 accounts"]);
    const json = await runCli(["users", "--json"], { cwd: dir, env: { DATABASE_URL: `sqlite:///${join(dir, "empty.db")}` } });
    expect(JSON.parse(json.stdout)).toEqual([]);
  });
});

describe("moxie users, past the API's page", () => {
  test("lists every account, 1 001 of them, not the first 1 000", async () => {
    const dir = tempDir();
    const path = join(dir, "many.db");
    const db = openDatabase(path);
    const insert = db.$client.query("INSERT INTO users (name, email, password_hash, created_at) VALUES (?, ?, 'x', ?)");
    db.$client.transaction(() => {
      for (let i = 1; i <= 1001; i++) insert.run(`Agent ${i}`, `agent${i}@many.test`, new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString());
    })();
    db.$client.close();
    const env = { DATABASE_URL: `sqlite:///${path}` };
    const table = await runCli(["users"], { cwd: dir, env });
    const lines = table.stdout.trimEnd().split("\n");
    expect(lines.at(-1)).toBe("1001 accounts");
    expect(lines.at(-2)).toMatch(/^1001 +agent1001@many\.test +Agent 1001 /);
    const json = await runCli(["users", "--json", "--search", "AGENT 100"], { cwd: dir, env });
    expect((JSON.parse(json.stdout) as Array<{ name: string }>).map((user) => user.name)).toEqual(["Agent 100", "Agent 1000", "Agent 1001"]);
  });
});

describe("moxie set-password", () => {
  test("--password: exit 0, the new password verifies and the old does not, older tokens are revoked; never printed", async () => {
    const before = row(dbPath, AGENT.email);
    const otherBefore = row(dbPath, OTHER.email);
    const password = "cli-new-password-1";
    const result = await cli(["set-password", "--email", " AGENT@Cli.Test ", "--password", password]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(AGENT.email);
    for (const output of [result.stdout, result.stderr]) {
      expect(output).not.toContain(password);
      expect(output).not.toContain("$argon2");
    }
    const after = row(dbPath, AGENT.email);
    expect(after.password_hash).not.toBe(before.password_hash);
    expect(after.password_hash).toStartWith("$argon2id$");
    expect(await Bun.password.verify(password, after.password_hash)).toBe(true);
    expect(await Bun.password.verify(AGENT.password, after.password_hash)).toBe(false);
    expect(after.token_version).toBe(before.token_version + 1);
    expect(after.password_changed_at).not.toBeNull();
    // Nobody else changed.
    expect(row(dbPath, OTHER.email)).toEqual(otherBefore);
    AGENT.password = password;
  });

  test("without --password: one line from stdin, without its line ending", async () => {
    const password = "stdin-password-22";
    const result = await cli(["set-password", "--email", OTHER.email], new Blob([`${password}\n`]));
    expect(result.code).toBe(0);
    expect(result.stdout + result.stderr).not.toContain(password);
    const after = row(dbPath, OTHER.email);
    expect(await Bun.password.verify(password, after.password_hash)).toBe(true);
    expect(await Bun.password.verify(`${password}\n`, after.password_hash)).toBe(false);
    OTHER.password = password;
  });

  test("an unknown email: exit 1, moxie: no account with email ..., nothing changes", async () => {
    const before = rows(dbPath);
    const result = await cli(["set-password", "--email", "Nobody@Cli.Test", "--password", "whatever-password-1"]);
    expect(result.code).toBe(1);
    expectOneLineError(result.stderr);
    expect(result.stderr).toStartWith("moxie: no account with email nobody@cli.test");
    expect(result.stdout + result.stderr).not.toContain("whatever-password-1");
    expect(rows(dbPath)).toEqual(before);
  });

  test("a too-short password (--password or stdin): exit 2 naming password, the hash unchanged", async () => {
    const before = row(dbPath, AGENT.email);
    const viaOption = await cli(["set-password", "--email", AGENT.email, "--password", "short7!"]);
    const viaStdin = await cli(["set-password", "--email", AGENT.email], new Blob(["tiny\n"]));
    for (const [result, secret] of [
      [viaOption, "short7!"],
      [viaStdin, "tiny"],
    ] as const) {
      expect(result.code).toBe(2);
      expectOneLineError(result.stderr);
      expect(result.stderr).toContain("password");
      expect(result.stdout + result.stderr).not.toContain(secret);
    }
    expect(row(dbPath, AGENT.email)).toEqual(before);
    expect(await Bun.password.verify(AGENT.password, before.password_hash)).toBe(true);
  });

  test("a too-long password: exit 2, unchanged", async () => {
    const before = row(dbPath, AGENT.email);
    const result = await cli(["set-password", "--email", AGENT.email, "--password", "x".repeat(129)]);
    expect(result.code).toBe(2);
    expectOneLineError(result.stderr);
    expect(row(dbPath, AGENT.email)).toEqual(before);
  });

  test("missing --email: exit 2 naming it", async () => {
    const result = await cli(["set-password", "--password", "long-enough-password"]);
    expect(result.code).toBe(2);
    expectOneLineError(result.stderr);
    expect(result.stderr).toContain("--email");
  });
});

describe("moxie deactivate / activate", () => {
  test("the last active admin (the other admin is inactive) cannot be deactivated: exit 1 with the sentence; still active", async () => {
    expect(rows(dbPath).filter((r) => r.role === "admin" && r.is_active === 1).map((r) => r.email)).toEqual([ROOT_ADMIN.email]);
    const before = rows(dbPath);
    const result = await cli(["deactivate", "--email", ROOT_ADMIN.email]);
    expect(result.code).toBe(1);
    expectOneLineError(result.stderr);
    expect(result.stderr).toMatch(/last active admin/);
    expect(row(dbPath, ROOT_ADMIN.email).is_active).toBe(1);
    expect(rows(dbPath)).toEqual(before);
  });

  test("with a second active admin it works (exit 0), and activate brings it back", async () => {
    const reactivate = await cli(["activate", "--email", OLD_ADMIN.email]);
    expect(reactivate.code).toBe(0);
    expect(row(dbPath, OLD_ADMIN.email).is_active).toBe(1);

    const off = await cli(["deactivate", "--email", ROOT_ADMIN.email]);
    expect(off.code).toBe(0);
    expect(off.stderr).toBe("");
    expect(off.stdout).toContain(ROOT_ADMIN.email);
    expect(row(dbPath, ROOT_ADMIN.email).is_active).toBe(0);
    // Now the old admin is the last active one.
    const refused = await cli(["deactivate", "--email", OLD_ADMIN.email]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/last active admin/);
    expect(row(dbPath, OLD_ADMIN.email).is_active).toBe(1);

    const on = await cli(["activate", "--email", ROOT_ADMIN.email]);
    expect(on.code).toBe(0);
    expect(on.stdout).toContain(ROOT_ADMIN.email);
    expect(row(dbPath, ROOT_ADMIN.email).is_active).toBe(1);
  });

  test("an agent: deactivate twice (idempotent, exit 0 both times, the second says so), then activate; email matched case-insensitively", async () => {
    for (let i = 0; i < 2; i++) {
      const result = await cli(["deactivate", "--email", OTHER.email.toUpperCase()]);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(i === 0 ? "Deactivated #" : `${OTHER.email} was already inactive; nothing changed`);
      expect(row(dbPath, OTHER.email).is_active).toBe(0);
    }
    const listed = await cli(["users"]);
    expect(listed.stdout.split("\n").find((line) => line.includes(OTHER.email))).toMatch(/\bno$/);
    const on = await cli(["activate", "--email", OTHER.email]);
    expect(on.code).toBe(0);
    expect(row(dbPath, OTHER.email).is_active).toBe(1);
  });

  test("an unknown email: exit 1, one line, nothing changes", async () => {
    const before = rows(dbPath);
    for (const command of ["deactivate", "activate"]) {
      const result = await cli([command, "--email", "ghost@cli.test"]);
      expect(result.code).toBe(1);
      expectOneLineError(result.stderr);
      expect(result.stderr).toContain("ghost@cli.test");
    }
    expect(rows(dbPath)).toEqual(before);
  });
});
