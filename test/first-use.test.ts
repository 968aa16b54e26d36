// Small things a new user meets first, tried as they would try them: the compiled binary, from its own directory.
// Every error line is moxie's own ("moxie: ..."); bad input is exit 2 and writes nothing; a repeated (de)activation
// says the account already was so and records nothing; the pretty log has no "undefined" in it.
import { Database } from "bun:sqlite";
import { beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import packageJson from "../package.json" with { type: "json" };
import { binaryAloneIn } from "./support/binary.ts";
import { tempDir } from "./helpers.ts";
import { freePort, login, runCli, startServe, stopServer, waitUntil, type Env } from "./support/processes.ts";

const SLOW = 90_000;
const SECRET = "first-use-secret-key-0123456789abcdef-0123456789";
const ADMIN = { email: "admin@first.test", password: "First-Admin-2026" };
const OTHER = { email: "other@first.test", password: "Other-Admin-2026" };

let dir: string;
let binary: string;
beforeAll(async () => {
  dir = tempDir("moxie-first-use-");
  binary = await binaryAloneIn(dir);
}, SLOW);

function moxie(args: string[], env: Env = {}, cwd = dir) {
  return runCli(args, { cwd, env: { SECRET_KEY: SECRET, ...env }, command: [binary], timeoutMs: 60_000 });
}

/** A directory of its own with a database holding two active admins. */
async function installed(): Promise<{ cwd: string; env: Env; db: string }> {
  const cwd = tempDir("moxie-first-use-db-");
  const db = join(cwd, "moxie.db");
  const env = { DATABASE_URL: db };
  for (const account of [ADMIN, OTHER]) {
    const created = await moxie(["create-admin", "--email", account.email, "--name", "First", "--password", account.password], env, cwd);
    expect(created.code).toBe(0);
  }
  return { cwd, env, db };
}

function auditTypes(db: string, userId: number): string[] {
  const raw = new Database(db, { readonly: true });
  try {
    return (raw.query("SELECT type FROM audit_events WHERE user_id = ? ORDER BY id").all(userId) as Array<{ type: string }>).map((r) => r.type);
  } finally {
    raw.close();
  }
}

describe("the command line speaks as moxie", () => {
  test("`moxie` alone: 'moxie: a command is required', then the usage, on stderr; nothing on stdout; exit 2", async () => {
    const result = await moxie([]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toStartWith(`moxie: a command is required\n\nmoxie ${packageJson.version}: accounts and sign-in API`);
    expect(result.stderr).toContain("Usage: moxie <command> [options]");
  }, SLOW);

  test("every refusal of the command line is one 'moxie: ' line (never Node's 'Error: Unknown option'), then the usage; exit 2", async () => {
    for (const [args, first] of [
      [["users", "--jsn"], "moxie: unknown option '--jsn' for users"],
      [["--jsn"], "moxie: unknown option '--jsn'"],
      [["users", "extra"], "moxie: users takes no arguments, only options (got 'extra')"],
      [["users", "--json=yes"], "moxie: --json takes no value"],
      [["create-admin", "--email"], "moxie: --email needs a value"],
      [["create-admin", "--email", "--name", "A"], "moxie: --email needs a value (a value starting with '-' is written --email=VALUE)"],
      [["frobnicate"], "moxie: unknown command 'frobnicate'"],
    ] as const) {
      const result = await moxie([...args]);
      expect({ args, code: result.code, first: result.stderr.split("\n")[0] }).toEqual({ args, code: 2, first });
      expect(result.stderr).toContain("Usage: moxie");
      expect(result.stderr).not.toMatch(/Error|\bat\s.+:\d+:\d+/);
      expect(result.stdout).toBe("");
    }
    expect(readdirSync(dir)).toEqual(["moxie"]);
  }, SLOW);

  test("--help says which commands make a database: serve, create-admin, and restore (from a backup)", async () => {
    const help = await moxie(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout.replace(/\s+/g, " ")).toContain("Only serve and create-admin create a new database (and restore writes one from a backup)");
  }, SLOW);
});

describe("bad input to backup and restore is exit 2, and nothing is written", () => {
  test("`backup \"\"` is refused, not taken as the working directory", async () => {
    const { cwd, env } = await installed();
    const before = readdirSync(cwd).sort();
    const result = await moxie(["backup", ""], env, cwd);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      "moxie: PATH is empty; name a file or an existing directory, or leave it out for moxie-backup-<UTC>.db beside the database\n",
    );
    expect(readdirSync(cwd).sort()).toEqual(before);
  }, SLOW);

  test("restore of a file that is not a database (text, empty, another application's, an empty PATH) is exit 2; a damaged one exit 1", async () => {
    const { cwd, env, db } = await installed();
    writeFileSync(join(cwd, "notes.txt"), "these are not the accounts\n");
    writeFileSync(join(cwd, "empty.db"), "");
    const other = new Database(join(cwd, "other.db"));
    other.run("CREATE TABLE invoices (id INTEGER PRIMARY KEY)");
    other.close();
    writeFileSync(join(cwd, "damaged.db"), "SQLite format 3\0".padEnd(4096, "x"));
    mkdirSync(join(cwd, "a-directory"));
    const before = readFileSync(db);
    const listing = readdirSync(cwd).sort();
    for (const [source, code, says] of [
      ["notes.txt", 2, `${join(cwd, "notes.txt")} is not a SQLite database (no SQLite header), so not a moxie backup; nothing was restored`],
      ["empty.db", 2, `${join(cwd, "empty.db")} is an empty file (0 bytes), not a backup; nothing was restored`],
      ["other.db", 2, `${join(cwd, "other.db")} is neither a moxie database nor one the Python moxie left`],
      ["", 2, "PATH is empty; name the backup file to restore"],
      ["missing.db", 2, `${join(cwd, "missing.db")} does not exist; nothing was restored`],
      ["a-directory", 2, `${join(cwd, "a-directory")} is not a file; name a backup file`],
      ["damaged.db", 1, `cannot read ${join(cwd, "damaged.db")}`],
    ] as const) {
      const result = await moxie(["restore", source], env, cwd);
      expect({ source, code: result.code }).toEqual({ source, code });
      expect(result.stderr).toStartWith(`moxie: ${says}`);
      expect(result.stderr.trim().split("\n")).toHaveLength(1);
      expect(readFileSync(db).equals(before)).toBe(true);
      expect(readdirSync(cwd).sort()).toEqual(listing);
    }
  }, SLOW);
});

describe("a repeated deactivation or activation", () => {
  test("says the account already was so, exits 0, and records nothing", async () => {
    const { cwd, env, db } = await installed();
    const first = await moxie(["deactivate", "--email", OTHER.email], env, cwd);
    expect({ code: first.code, stdout: first.stdout }).toEqual({ code: 0, stdout: `Deactivated #2 ${OTHER.email}\n` });
    const again = await moxie(["deactivate", "--email", OTHER.email], env, cwd);
    expect({ code: again.code, stdout: again.stdout, stderr: again.stderr }).toEqual({
      code: 0,
      stdout: `#2 ${OTHER.email} was already inactive; nothing changed\n`,
      stderr: "",
    });
    expect(auditTypes(db, 2)).toEqual(["user.created", "user.deactivated"]);

    expect((await moxie(["activate", "--email", OTHER.email], env, cwd)).stdout).toBe(`Activated #2 ${OTHER.email}; its sign-in throttle is cleared\n`);
    const on = await moxie(["activate", "--email", OTHER.email], env, cwd);
    expect({ code: on.code, stdout: on.stdout }).toEqual({
      code: 0,
      stdout: `#2 ${OTHER.email} was already active; nothing changed (to clear its sign-in throttle: moxie unlock --email ${OTHER.email})\n`,
    });
    expect(auditTypes(db, 2)).toEqual(["user.created", "user.deactivated", "user.activated"]);
  }, SLOW);
});

describe("LOG_FORMAT=pretty", () => {
  test("an anonymous request's line leaves user_id out (no 'undefined'); a signed-in one names the account", async () => {
    const { cwd, env } = await installed();
    const port = freePort();
    const server = startServe(["--port", String(port)], { cwd, env: { ...env, SECRET_KEY: SECRET, LOG_FORMAT: "pretty" }, command: [binary] });
    try {
      // The pretty log has no JSON line to read the address from: wait for /health instead.
      const url = `http://127.0.0.1:${port}`;
      await waitUntil("GET /health", async () => ((await fetch(`${url}/health`).catch(() => undefined))?.status === 200 ? true : undefined), 20_000);
      expect((await fetch(`${url}/auth/me`)).status).toBe(401);
      const token = ((await (await login(url, ADMIN.email, ADMIN.password)).json()) as { access_token: string }).access_token;
      expect((await fetch(`${url}/auth/me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
      expect(await stopServer(server)).toBe(0);
      const lines = server.stdout().split("\n").filter((line) => line.includes(" request "));
      const anonymous = lines.find((line) => line.includes("path=/auth/me") && line.includes("status=401"));
      const signedIn = lines.find((line) => line.includes("path=/auth/me") && line.includes("status=200"));
      expect(anonymous).toBeDefined();
      expect(anonymous).not.toContain("user_id");
      expect(signedIn).toContain("user_id=1");
      expect(server.stdout()).not.toContain("undefined");
    } finally {
      if (server.proc.exitCode === null) await stopServer(server, "SIGKILL");
    }
  }, SLOW);
});
