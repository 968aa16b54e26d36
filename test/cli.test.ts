// The command line as an operator meets it: `bun src/main.ts ...` spawned in a temp directory with an
// explicit environment, checked by exit code, stdout/stderr and the files it leaves behind.
// Each test that spawns has an explicit timeout: setDefaultTimeout reaches only the first file of a run.
import { Database } from "bun:sqlite";
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import packageJson from "../package.json" with { type: "json" };
import { tempDir } from "./helpers.ts";
import { answerOnTerminal } from "./support/terminal.ts";
import {
  expectOneLineError,
  freePort,
  listeningUrl,
  login,
  readDb,
  runCli,
  SOURCE_CLI,
  startServe,
  stopServer,
  type Env,
  type ServerProcess,
  type UserRow,
} from "./support/processes.ts";

// This file spawns processes or hashes passwords: its own bound on a hung test (see test/setup.ts for why).
setDefaultTimeout(30_000);

const GOOD_SECRET = "cli-test-secret-key-0123456789abcdef-long-enough";
const PASSWORD = "moxie-pass-123";
/**
 * Per-test bounds for the slow tests (a hung test fails instead of hanging; not speed assertions). They are
 * given per test because setDefaultTimeout in test/setup.ts reaches only the first file of a multi-file run.
 */
const TERMINAL_TEST_TIMEOUT_MS = 60_000; // answerOnTerminal: three 10 s waits and a 15 s exit wait, at most
const BUSY_TEST_TIMEOUT_MS = 30_000; // two CLI runs, one of which waits out SQLite's 5 s busy_timeout
/** A stack frame line as Bun/V8 print them. */
const STACK_FRAME = /^\s+at\s/m;

/** The users in the database file, read with a separate read-only connection; [] when there is no file. */
function usersIn(dbPath: string): UserRow[] {
  return (
    readDb(dbPath, (db) => {
      const table = db.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'users'").get();
      if (!table) return [];
      return db.query("SELECT * FROM users ORDER BY id").all() as UserRow[];
    }) ?? []
  );
}

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

/** create-admin arguments; `password: null` leaves --password out so the password comes from stdin. */
function createAdminArgs(email: string, name = "Admin", password: string | null = PASSWORD): string[] {
  const args = ["create-admin", "--email", email, "--name", name];
  if (password !== null) args.push("--password", password);
  return args;
}

/** Sends SIGTERM and returns the exit code; fails if the process does not stop within 5 s. */
const stop = (server: ServerProcess) => stopServer(server, "SIGTERM", 5000);

// ---------------------------------------------------------------------------------------------------------

describe("moxie CLI: help, version, usage errors", () => {
  test("--version prints the package.json version and exits 0", async () => {
    const result = await runCli(["--version"], { cwd: tempDir() });
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(packageJson.version);
    expect(result.stderr).toBe("");
  }, 30_000);

  test("--help prints usage listing the commands and exits 0", async () => {
    const cwd = tempDir();
    const result = await runCli(["--help"], { cwd });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Usage: moxie <command>");
    expect(result.stdout).toContain("serve");
    expect(result.stdout).toContain("create-admin");
    expect(result.stderr).toBe("");
    expect(readdirSync(cwd)).toEqual([]);
  }, 30_000);

  test("create-admin --help and serve --help print the command's usage and exit 0 without opening a database", async () => {
    const cwd = tempDir();
    const admin = await runCli(["create-admin", "--help"], { cwd });
    expect(admin.code).toBe(0);
    expect(admin.stdout).toContain("Usage: moxie create-admin --email EMAIL --name NAME");
    const serve = await runCli(["serve", "--help"], { cwd });
    expect(serve.code).toBe(0);
    expect(serve.stdout).toContain("Usage: moxie serve");
    expect(serve.stdout).toContain("--port");
    expect(readdirSync(cwd)).toEqual([]);
  }, 30_000);

  test("no arguments: 'moxie: a command is required' and the usage on stderr, nothing on stdout, exit 2", async () => {
    const result = await runCli([], { cwd: tempDir() });
    expect(result.code).toBe(2);
    expect(result.stderr).toStartWith("moxie: a command is required\n\n");
    expect(result.stderr).toContain("Usage: moxie <command>");
    expect(result.stdout).toBe("");
  }, 30_000);

  test("an unknown command prints usage to stderr, exits 2 and creates nothing in cwd", async () => {
    const cwd = tempDir();
    const result = await runCli(["frobnicate"], { cwd });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("unknown command 'frobnicate'");
    expect(result.stderr).toContain("Usage: moxie <command>");
    expect(result.stdout).toBe("");
    expect(result.stderr).not.toMatch(STACK_FRAME);
    expect(readdirSync(cwd)).toEqual([]);
  }, 30_000);
});

describe("moxie create-admin", () => {
  test("creates an active admin with a trimmed, lower-cased email and an argon2id hash; never prints the password", async () => {
    const cwd = tempDir();
    const result = await runCli(createAdminArgs(" Admin@Test.com "), { cwd });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    // A new database is never a surprise: its full path, and which setting chose it, come first.
    expect(result.stdout.trim().split("\n")).toEqual([
      `Created database ${join(cwd, "moxie.db")} (the default ./moxie.db in the working directory ${cwd}: DATABASE_URL is not set and there is no ./.env)`,
      "Created admin #1 admin@test.com",
    ]);
    for (const output of [result.stdout, result.stderr]) {
      expect(output).not.toContain(PASSWORD);
      expect(output).not.toContain("$argon2");
    }

    const rows = usersIn(join(cwd, "moxie.db"));
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    expect(row.id).toBe(1);
    expect(row.email).toBe("admin@test.com");
    expect(row.name).toBe("Admin");
    expect(row.role).toBe("admin");
    expect(row.is_active).toBe(1);
    expect(row.password_hash).toStartWith("$argon2id$");
    expect(row.password_hash).toContain("m=65536,t=2");
    expect(row.password_hash).not.toContain(PASSWORD);
    expect(await Bun.password.verify(PASSWORD, row.password_hash)).toBe(true);
    expect(await Bun.password.verify("password124", row.password_hash)).toBe(false);
  }, 30_000);

  test("without --password reads one line from a non-TTY stdin, without its line ending", async () => {
    const cwd = tempDir();
    const result = await runCli(createAdminArgs("stdin@test.com", "Stdin", null), {
      cwd,
      stdin: new Blob(["pw-from-stdin-1\n"]),
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("stdin@test.com");
    expect(result.stdout + result.stderr).not.toContain("pw-from-stdin-1");
    const [row, ...others] = usersIn(join(cwd, "moxie.db"));
    expect(others).toEqual([]);
    expect(row?.role).toBe("admin");
    expect(await Bun.password.verify("pw-from-stdin-1", row!.password_hash)).toBe(true);
    expect(await Bun.password.verify("pw-from-stdin-1\n", row!.password_hash)).toBe(false);
  }, 30_000);

  test("a CRLF line on stdin stores the password without the carriage return", async () => {
    const cwd = tempDir();
    const result = await runCli(createAdminArgs("crlf@test.com", "Crlf", null), {
      cwd,
      stdin: new Blob(["pw-from-stdin-2\r\nsecond line\n"]),
    });
    expect(result.code).toBe(0);
    const row = usersIn(join(cwd, "moxie.db"))[0];
    expect(await Bun.password.verify("pw-from-stdin-2", row!.password_hash)).toBe(true);
  }, 30_000);

  test("a too-short password on stdin is refused like --password: exit 2, no user", async () => {
    const cwd = tempDir();
    const result = await runCli(createAdminArgs("shortstdin@test.com", "Short", null), { cwd, stdin: new Blob(["seven77\n"]) });
    expect(result.code).toBe(2);
    expectOneLineError(result.stderr);
    expect(result.stderr).toMatch(/^moxie: password\b/);
    expect(result.stderr).not.toContain("seven77");
    expect(usersIn(join(cwd, "moxie.db"))).toEqual([]);
  }, 30_000);

  test("empty stdin and no --password: fails with a message and writes no user", async () => {
    const cwd = tempDir();
    const result = await runCli(createAdminArgs("nopw@test.com", "NoPw", null), { cwd, stdin: new Blob([""]) });
    expect(result.code).not.toBe(0);
    expectOneLineError(result.stderr);
    expect(result.stderr).toContain("--password");
    expect(usersIn(join(cwd, "moxie.db"))).toEqual([]);
  }, 30_000);

  const invalid: Array<{ label: string; args: string[]; field: RegExp }> = [
    { label: "an invalid email", args: createAdminArgs("not-an-email"), field: /^moxie: email\b/ },
    { label: "a blank name", args: createAdminArgs("blank@test.com", "  "), field: /^moxie: name\b/ },
    { label: "a password shorter than 8", args: createAdminArgs("short@test.com", "Short", "seven77"), field: /^moxie: password\b/ },
  ];
  for (const { label, args, field } of invalid) {
    test(`${label}: exit 2, one line naming the field, no user written`, async () => {
      const cwd = tempDir();
      const result = await runCli(args, { cwd });
      expect(result.code).toBe(2);
      expectOneLineError(result.stderr);
      expect(result.stderr).toMatch(field);
      expect(result.stdout).toBe("");
      expect(result.stderr).not.toContain("seven77");
      expect(usersIn(join(cwd, "moxie.db"))).toEqual([]);
    });
  }

  test("missing --email: exit 2 naming it, nothing created", async () => {
    const cwd = tempDir();
    const result = await runCli(["create-admin", "--name", "Admin", "--password", PASSWORD], { cwd });
    expect(result.code).toBe(2);
    expectOneLineError(result.stderr);
    expect(result.stderr).toContain("--email");
    expect(usersIn(join(cwd, "moxie.db"))).toEqual([]);
  }, 30_000);

  test("a misspelled option (--emial): exit 2, the message names the option", async () => {
    const cwd = tempDir();
    const result = await runCli(["create-admin", "--emial", "x@test.com", "--name", "Admin", "--password", PASSWORD], { cwd });
    expect(result.code).toBe(2);
    expect(result.stderr).toStartWith("moxie: ");
    expect(result.stderr).toContain("--emial");
    expect(result.stderr).toContain("Usage: moxie create-admin");
    expect(result.stderr).not.toMatch(STACK_FRAME);
    expect(usersIn(join(cwd, "moxie.db"))).toEqual([]);
  }, 30_000);

  test("a duplicate email in another case: exit 1 with the exact message, still one user", async () => {
    const cwd = tempDir();
    expect((await runCli(createAdminArgs("admin@test.com"), { cwd })).code).toBe(0);
    const again = await runCli(createAdminArgs("ADMIN@test.com", "Other", "another-password"), { cwd });
    expect(again.code).toBe(1);
    expect(again.stderr.trim()).toBe("moxie: an account with email admin@test.com already exists");
    expect(again.stdout).toBe("");
    expect(again.stderr).not.toContain("another-password");
    const rows = usersIn(join(cwd, "moxie.db"));
    expect(rows).toHaveLength(1);
    expect(rows[0]!.name).toBe("Admin");
  }, 30_000);

  test("the database file is created owner-only (0600)", async () => {
    const cwd = tempDir();
    expect((await runCli(createAdminArgs("mode@test.com"), { cwd })).code).toBe(0);
    const files = readdirSync(cwd).filter((name) => name.startsWith("moxie.db"));
    expect(files).toContain("moxie.db");
    for (const name of files) expect({ name, mode: mode(join(cwd, name)) }).toEqual({ name, mode: 0o600 });
  }, 30_000);

  const createAdminOnTerminal = (cwd: string, answers: string[]) =>
    answerOnTerminal([...SOURCE_CLI, ...createAdminArgs("tty@test.com", "Tty", null)], answers, { cwd });

  test("on a terminal it asks twice without echoing the password", async () => {
    const cwd = tempDir();
    const { code, screen } = await createAdminOnTerminal(cwd, [PASSWORD, PASSWORD]);
    expect(code).toBe(0);
    expect(screen).toContain("Created admin #1 tty@test.com");
    expect(screen).not.toContain(PASSWORD);
    const [user] = usersIn(join(cwd, "moxie.db"));
    expect(await Bun.password.verify(PASSWORD, user!.password_hash)).toBe(true);
  }, TERMINAL_TEST_TIMEOUT_MS);

  test("on a terminal, two different answers: exit 2, nothing written", async () => {
    const cwd = tempDir();
    const { code, screen } = await createAdminOnTerminal(cwd, [PASSWORD, `${PASSWORD}-typo`]);
    expect(code).toBe(2);
    expect(screen).toContain("do not match");
    expect(screen).not.toContain(PASSWORD);
    expect(usersIn(join(cwd, "moxie.db"))).toEqual([]);
  }, TERMINAL_TEST_TIMEOUT_MS);

  test("a database held by another writer past the busy timeout: 'busy', exit 1, nothing written", async () => {
    const cwd = tempDir();
    expect((await runCli(createAdminArgs("first@test.com"), { cwd })).code).toBe(0);
    const holder = new Database(join(cwd, "moxie.db"));
    holder.run("BEGIN EXCLUSIVE");
    try {
      const result = await runCli(createAdminArgs("second@test.com"), { cwd });
      expect(result.code).toBe(1);
      expectOneLineError(result.stderr);
      expect(result.stderr).toContain("busy");
    } finally {
      holder.run("ROLLBACK");
      holder.close();
    }
    expect(usersIn(join(cwd, "moxie.db")).map((user) => user.email)).toEqual(["first@test.com"]);
  }, BUSY_TEST_TIMEOUT_MS);
});

describe("moxie settings", () => {
  const admin = createAdminArgs("settings@test.com");
  const bad: Array<{ label: string; env: Env; args: string[]; names: string }> = [
    { label: "SECRET_KEY=short", env: { SECRET_KEY: "short" }, args: admin, names: "SECRET_KEY" },
    { label: "SECRET_KEY=change-me-in-production", env: { SECRET_KEY: "change-me-in-production" }, args: admin, names: "SECRET_KEY" },
    { label: "CORS_ORIGINS=*", env: { CORS_ORIGINS: "*" }, args: admin, names: "CORS_ORIGINS" },
    { label: "DATABASE_URL=postgres://x/y", env: { DATABASE_URL: "postgres://x/y" }, args: admin, names: "DATABASE_URL" },
  ];
  for (const { label, env, args, names } of bad) {
    test(`${label}: exit 2, one line naming ${names}, nothing written`, async () => {
      const cwd = tempDir();
      const result = await runCli(args, { cwd, env });
      expect(result.code).toBe(2);
      expectOneLineError(result.stderr);
      expect(result.stderr).toContain(names);
      expect(result.stdout).toBe("");
      expect(readdirSync(cwd)).toEqual([]);
    });
  }

  test("SECRET_KEY=change-me-in-production also stops serve before it listens", async () => {
    const cwd = tempDir();
    const result = await runCli(["serve", "--port", "0"], { cwd, env: { SECRET_KEY: "change-me-in-production" } });
    expect(result.code).toBe(2);
    expectOneLineError(result.stderr);
    expect(result.stderr).toContain("SECRET_KEY");
    expect(result.stdout).not.toContain("moxie listening");
  }, 30_000);

  test("PORT=abc with serve: exit 2 naming PORT, never listens", async () => {
    const cwd = tempDir();
    const result = await runCli(["serve"], { cwd, env: { PORT: "abc" } });
    expect(result.code).toBe(2);
    expectOneLineError(result.stderr);
    expect(result.stderr).toContain("PORT");
    expect(result.stdout).not.toContain("listening");
    expect(readdirSync(cwd)).toEqual([]);
  }, 30_000);

  test("serve --port 99999: exit 2 naming --port", async () => {
    const cwd = tempDir();
    const result = await runCli(["serve", "--port", "99999"], { cwd });
    expect(result.code).toBe(2);
    expectOneLineError(result.stderr);
    expect(result.stderr).toContain("--port");
    expect(result.stdout).not.toContain("listening");
  }, 30_000);

  test("DATABASE_URL below a regular file: exit 2 naming DATABASE_URL", async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, "afile"), "not a directory\n");
    const result = await runCli(admin, { cwd, env: { DATABASE_URL: join(cwd, "afile/sub/moxie.db") } });
    expect(result.code).toBe(2);
    expectOneLineError(result.stderr);
    expect(result.stderr).toContain("DATABASE_URL");
    expect(readdirSync(cwd)).toEqual(["afile"]);
  }, 30_000);

  test("./.env in cwd is read: DATABASE_URL there decides where the database goes", async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, ".env"), "# moxie settings\nDATABASE_URL=sqlite:///./from-dotenv.db\n");
    const result = await runCli(admin, { cwd });
    expect(result.code).toBe(0);
    expect(usersIn(join(cwd, "from-dotenv.db"))).toHaveLength(1);
    expect(existsSync(join(cwd, "moxie.db"))).toBe(false);
  }, 30_000);

  test("the real environment wins over ./.env", async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, ".env"), "DATABASE_URL=sqlite:///./from-dotenv.db\nSECRET_KEY=short\n");
    // On its own, the .env's SECRET_KEY is refused...
    const refused = await runCli(admin, { cwd });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("SECRET_KEY");
    // ...and the environment overrides both of its values.
    const result = await runCli(admin, { cwd, env: { DATABASE_URL: "sqlite:///./from-env.db", SECRET_KEY: GOOD_SECRET } });
    expect(result.code).toBe(0);
    expect(usersIn(join(cwd, "from-env.db"))).toHaveLength(1);
    expect(existsSync(join(cwd, "from-dotenv.db"))).toBe(false);
  }, 30_000);

  test("DATABASE_URL naming a missing directory creates it and the database in it", async () => {
    const cwd = tempDir();
    const result = await runCli(admin, { cwd, env: { DATABASE_URL: "sqlite:///./data/nested/app.db" } });
    expect(result.code).toBe(0);
    expect(usersIn(join(cwd, "data/nested/app.db"))).toHaveLength(1);
    expect(mode(join(cwd, "data/nested/app.db"))).toBe(0o600);
  }, 30_000);
});

describe("moxie serve", () => {
  test("answers /health, logs its URL, stops on SIGTERM with exit 0 and a 'stopped' line", async () => {
    const cwd = tempDir();
    const server = startServe(["--port", "0"], { cwd, env: { SECRET_KEY: GOOD_SECRET } });
    const url = await listeningUrl(server);
    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "ok" });
    // With SECRET_KEY set, no key file is generated.
    expect(existsSync(join(cwd, "moxie.db.secret"))).toBe(false);

    expect(await stop(server)).toBe(0);
    const messages = server.logs().map((entry) => entry.msg);
    expect(messages).toContain("stopping");
    expect(messages.lastIndexOf("stopped")).toBeGreaterThan(messages.indexOf("stopping"));
    expect(server.stderr()).toBe("");
    // The WAL was checkpointed away on a clean stop.
    const wal = join(cwd, "moxie.db-wal");
    if (existsSync(wal)) expect(statSync(wal).size).toBe(0);
  }, 30_000);

  test("without SECRET_KEY: generates <db>.secret (0600) once, logs it once, reuses it after a restart; deleting it rotates the key", async () => {
    const cwd = tempDir();
    expect((await runCli(createAdminArgs("admin@test.com"), { cwd })).code).toBe(0);
    const secretPath = join(cwd, "moxie.db.secret");
    expect(existsSync(secretPath)).toBe(false);

    const first = startServe(["--port", "0"], { cwd });
    const firstUrl = await listeningUrl(first);
    expect(existsSync(secretPath)).toBe(true);
    expect(mode(secretPath)).toBe(0o600);
    const key = readFileSync(secretPath, "utf8");
    expect(key.trim()).toMatch(/^[0-9a-f]{64}$/);
    const generated = (server: ServerProcess) => server.logs().filter((entry) => String(entry.msg).includes("generated a signing key"));
    expect(generated(first)).toHaveLength(1);
    expect(first.stdout()).not.toContain(key.trim());

    const response = await login(firstUrl, "admin@test.com", PASSWORD);
    expect(response.status).toBe(200);
    const token = ((await response.json()) as { access_token: string }).access_token;
    expect(typeof token).toBe("string");
    expect((await fetch(`${firstUrl}/auth/me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect(await stop(first)).toBe(0);

    const second = startServe(["--port", "0"], { cwd });
    const secondUrl = await listeningUrl(second);
    expect(generated(second)).toHaveLength(0);
    expect(readFileSync(secretPath, "utf8")).toBe(key);
    const me = await fetch(`${secondUrl}/auth/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(me.status).toBe(200);
    const body = (await me.json()) as Record<string, unknown>;
    expect(body.email).toBe("admin@test.com");
    expect(body.role).toBe("admin");
    expect(JSON.stringify(body)).not.toContain("$argon2");
    expect(await stop(second)).toBe(0);

    // A SECRET_KEY in the environment takes precedence over the file: the old token no longer verifies.
    const third = startServe(["--port", "0"], { cwd, env: { SECRET_KEY: GOOD_SECRET } });
    const thirdUrl = await listeningUrl(third);
    expect((await fetch(`${thirdUrl}/auth/me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
    expect(await stop(third)).toBe(0);

    // Rotation as SECURITY.md says, for the generated key: stop, delete <database>.secret, start. A new key is
    // generated, every old token is refused, and signing in again works.
    unlinkSync(secretPath);
    const fourth = startServe(["--port", "0"], { cwd });
    const fourthUrl = await listeningUrl(fourth);
    expect(generated(fourth)).toHaveLength(1);
    const rotated = readFileSync(secretPath, "utf8");
    expect(rotated.trim()).toMatch(/^[0-9a-f]{64}$/);
    expect(rotated).not.toBe(key);
    expect(mode(secretPath)).toBe(0o600);
    expect((await fetch(`${fourthUrl}/auth/me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
    const again = (await (await login(fourthUrl, "admin@test.com", PASSWORD)).json()) as { access_token: string };
    expect((await fetch(`${fourthUrl}/auth/me`, { headers: { authorization: `Bearer ${again.access_token}` } })).status).toBe(200);
    expect(await stop(fourth)).toBe(0);
  }, 30_000);

  test("a second serve on the same port exits non-zero saying the address is in use; the first keeps serving", async () => {
    const cwd = tempDir();
    const env = { SECRET_KEY: GOOD_SECRET };
    const first = startServe(["--port", "0"], { cwd, env });
    const url = await listeningUrl(first);
    const port = new URL(url).port;

    const otherDir = tempDir();
    const second = await runCli(["serve", "--port", port], { cwd: otherDir, env });
    expect(second.code).not.toBe(0);
    expect(second.stderr).toContain("already in use");
    expect(second.stderr).toContain(port);
    expectOneLineError(second.stderr);
    expect(second.stdout).not.toContain("moxie listening");

    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(200);
    expect(first.proc.exitCode).toBeNull();
    expect(await stop(first)).toBe(0);
  }, 30_000);

  test("a second serve on the same database (another port, another directory) is refused, exit 1; the first keeps serving", async () => {
    const cwd = tempDir();
    const database = join(cwd, "moxie.db");
    const env = { SECRET_KEY: GOOD_SECRET, DATABASE_URL: database };
    const first = startServe(["--port", "0"], { cwd, env });
    const url = await listeningUrl(first);

    const second = await runCli(["serve", "--port", "0"], { cwd: tempDir(), env });
    expect(second.code).toBe(1);
    expectOneLineError(second.stderr);
    expect(second.stderr).toContain(`another moxie server (pid ${first.proc.pid}) is using ${database}`);
    expect(second.stdout).not.toContain("moxie listening");

    expect((await fetch(`${url}/health`)).status).toBe(200);
    expect(first.proc.exitCode).toBeNull();
    expect(await stop(first)).toBe(0);
    // Once the first has stopped, the database is free again.
    const third = startServe(["--port", "0"], { cwd, env });
    await listeningUrl(third);
    expect(await stop(third)).toBe(0);
  }, 60_000);

  test("--port on the command line wins over PORT in the environment", async () => {
    const cwd = tempDir();
    const port = freePort();
    const server = startServe(["--port", String(port)], { cwd, env: { SECRET_KEY: GOOD_SECRET, PORT: "1" } });
    const url = await listeningUrl(server);
    expect(url).toBe(`http://127.0.0.1:${port}`);
    expect(await stop(server)).toBe(0);
  }, 30_000);

  test("PORT from ./.env is honoured when serve has no --port", async () => {
    const cwd = tempDir();
    const port = freePort();
    writeFileSync(join(cwd, ".env"), `PORT=${port}\nSECRET_KEY=${GOOD_SECRET}\n`);
    const server = startServe([], { cwd });
    const url = await listeningUrl(server);
    expect(url).toBe(`http://127.0.0.1:${port}`);
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
    expect(await stop(server)).toBe(0);
  }, 30_000);

  test("the database directory created by serve is owner-only", async () => {
    const cwd = tempDir();
    const server = startServe(["--port", "0"], { cwd, env: { DATABASE_URL: "./state/moxie.db" } });
    await listeningUrl(server);
    expect(mode(join(cwd, "state"))).toBe(0o700);
    expect(mode(join(cwd, "state/moxie.db"))).toBe(0o600);
    expect(mode(join(cwd, "state/moxie.db.secret"))).toBe(0o600);
    expect(await stop(server)).toBe(0);
  }, 30_000);
});
