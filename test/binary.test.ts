// End to end on what ships: the compiled ./moxie, built with the package.json "build" flags, copied alone into
// an empty directory and run there, with no repository, node_modules or drizzle/ folder beside it.
import { beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { copyFileSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import packageJson from "../package.json" with { type: "json" };
import { expectNoLeak, PWDLIB_HASH, ROOT } from "./helpers.ts";
import { binaryAloneIn, compiledBinary } from "./support/binary.ts";
import {
  freePort,
  login,
  readExistingDb,
  runCli,
  startServe,
  stopServer,
  waitUntil,
  type Env,
  type ServerProcess,
} from "./support/processes.ts";

const PASSWORD = "binary-password-1";
const STACK_FRAME = /^\s+at\s/m;

beforeAll(async () => {
  const script = packageJson.scripts.build;
  expect(script).toContain("--compile");
  expect(script).toContain("--no-compile-autoload-bunfig");
  expect(script).toContain("--no-compile-autoload-dotenv");
  await compiledBinary();
}, 120_000);

/** A fresh empty directory holding only a copy of the binary. */
async function installDir(): Promise<{ dir: string; binary: string }> {
  const binary = await binaryAloneIn();
  const dir = dirname(binary);
  expect(readdirSync(dir)).toEqual(["moxie"]);
  return { dir, binary };
}

const MOXIE = ["./moxie"];

function run(dir: string, args: string[], env: Env = {}) {
  return runCli(args, { cwd: dir, env, command: MOXIE });
}

function serve(dir: string, args: string[], env: Env = {}): ServerProcess {
  return startServe(args, { cwd: dir, env, command: MOXIE });
}

/** Polls GET /health on `port` for up to 5 s; fails early if the server exits. */
async function waitHealthy(server: ServerProcess, port: number): Promise<string> {
  const url = `http://127.0.0.1:${port}`;
  const response = await waitUntil(`GET ${url}/health`, async () => {
    if (server.proc.exitCode !== null) {
      throw new Error(`serve exited with ${server.proc.exitCode}: ${server.stderr()} ${server.stdout()}`);
    }
    try {
      const response = await fetch(`${url}/health`);
      return response.status === 200 ? response : undefined;
    } catch {
      return undefined; // not listening yet
    }
  });
  expect(await response.json()).toEqual({ status: "ok" });
  // /health answers from the moment the port is bound; the start line reaches our end of the pipe a moment later.
  await waitUntil("the 'moxie listening' line", async () => server.logs().some((entry) => entry.msg === "moxie listening") || undefined);
  return url;
}

const stop = (server: ServerProcess) => stopServer(server, "SIGTERM", 5000);

describe("compiled moxie binary", () => {
  test("--version prints the package.json version", async () => {
    const { dir } = await installDir();
    const result = await run(dir, ["--version"]);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(packageJson.version);
    expect(result.stderr).toBe("");
    expect(readdirSync(dir)).toEqual(["moxie"]);
  });

  test("create-admin migrates a fresh database, serve signs the admin in, SIGTERM stops it cleanly", async () => {
    const { dir } = await installDir();
    const created = await run(dir, ["create-admin", "--email", "Owner@Example.com", "--name", "Owner", "--password", PASSWORD]);
    expect(created.code).toBe(0);
    expect(created.stdout).toContain("owner@example.com");
    expect(created.stdout + created.stderr).not.toContain(PASSWORD);
    expect(created.stdout + created.stderr).not.toContain("$argon2");

    const dbPath = join(dir, "moxie.db");
    expect(existsSync(dbPath)).toBe(true);
    expect(statSync(dbPath).mode & 0o777).toBe(0o600);
    readExistingDb(dbPath, (sqlite) => {
      const tables = (sqlite.query("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((t) => t.name);
      expect(tables).toContain("users");
      expect(tables).toContain("__drizzle_migrations");
      const rows = sqlite.query("SELECT email, role, is_active FROM users").all();
      expect(rows).toEqual([{ email: "owner@example.com", role: "admin", is_active: 1 }]);
    });

    const port = freePort();
    const server = serve(dir, ["--port", String(port)]);
    const url = await waitHealthy(server, port);
    expect(server.stdout()).toContain(`"url":"${url}"`);
    expect(statSync(join(dir, "moxie.db.secret")).mode & 0o777).toBe(0o600);

    const signedIn = await login(url, "owner@example.com", PASSWORD);
    expect(signedIn.status).toBe(200);
    const grant = (await signedIn.json()) as { access_token: unknown; token_type: unknown; expires_in: unknown };
    expect(grant.token_type).toBe("bearer");
    expect(grant.expires_in).toBe(28800);
    expect(typeof grant.access_token).toBe("string");
    const token = grant.access_token as string;
    expect(token.split(".")).toHaveLength(3);

    const wrong = await login(url, "owner@example.com", "not-the-password");
    expect(wrong.status).toBe(401);

    const me = await fetch(`${url}/auth/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(me.status).toBe(200);
    const meText = await me.text();
    expectNoLeak(meText, [PASSWORD]);
    expect(meText).not.toContain("password_hash");
    expect(meText).not.toContain("$argon2");
    const account = JSON.parse(meText) as Record<string, unknown>;
    expect(account).toMatchObject({ id: 1, email: "owner@example.com", name: "Owner", role: "admin", is_active: true });

    const viaQuery = await fetch(`${url}/auth/me?access_token=${encodeURIComponent(token)}`);
    expect(viaQuery.status).toBe(401);
    const anonymous = await fetch(`${url}/auth/me`);
    expect(anonymous.status).toBe(401);

    expect(await stop(server)).toBe(0);
    expect(server.stdout()).toContain('"msg":"stopped"');
    expect(server.stderr()).not.toMatch(STACK_FRAME);
  });

  test("ignores a bunfig.toml preload in the directory it runs in", async () => {
    const { dir } = await installDir();
    const marker = join(dir, "preload-ran");
    writeFileSync(join(dir, "bunfig.toml"), 'preload = ["./evil.ts"]\n');
    writeFileSync(
      join(dir, "evil.ts"),
      `import { writeFileSync } from "node:fs";\nwriteFileSync(${JSON.stringify(marker)}, "the preload ran\\n");\n`,
    );
    const result = await run(dir, ["--version"]);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(packageJson.version);
    expect(existsSync(marker)).toBe(false);
  });

  test("reads PORT from ./.env (its own reader; Bun's .env autoload is off)", async () => {
    const { dir } = await installDir();
    const port = freePort();
    writeFileSync(join(dir, ".env"), `# written by the test\nPORT=${port}\n`);
    const server = serve(dir, []);
    const url = await waitHealthy(server, port);
    expect(server.stdout()).toContain(`"url":"${url}"`);
    expect(await stop(server)).toBe(0);
  });

  test("a bad setting exits 2 with one line and no stack trace", async () => {
    const { dir } = await installDir();
    const result = await run(dir, ["serve"], { SECRET_KEY: "short" });
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toContain("SECRET_KEY");
    expect(result.stderr).not.toMatch(STACK_FRAME);
    expect(readdirSync(dir)).toEqual(["moxie"]);
  });
});

describe("moxie users --search, on the compiled binary", () => {
  test("migrate gives the original's rows their search keys; rows it inserts later are found at once, read-only; case and accents never matter", async () => {
    const { dir } = await installDir();
    const dbPath = join(dir, "moxie.db");
    copyFileSync(join(ROOT, "test/fixtures/original-era.sqlite"), dbPath);
    const env = { DATABASE_URL: "sqlite:///moxie.db" };
    const keys = () =>
      readExistingDb(dbPath, (db) => db.query("SELECT name, search_key FROM users ORDER BY id").all() as Array<{ name: string; search_key: string | null }>);

    // The original's file, adopted and migrated: every account it holds gets its key in the same run.
    const migrated = await run(dir, ["migrate"], env);
    expect({ code: migrated.code, stderr: migrated.stderr }).toEqual({ code: 0, stderr: "" });
    expect(keys()).toEqual([
      { name: "Office Admin", search_key: "office admin\nadmin@example.com" },
      { name: "Ana Agent", search_key: "ana agent\nana@example.com" },
      { name: "Ivan Inactive", search_key: "ivan inactive\nivan@example.com" },
    ]);

    // The original, still serving from the file, adds accounts the way it does: no search key.
    const original = new Database(dbPath);
    const insert = original.query(
      "INSERT INTO users (name, email, password_hash, role, is_active, created_at) VALUES (?, ?, ?, 'agent', 1, '2026-12-01 09:00:00.000000')",
    );
    for (const [name, email] of <Array<[string, string]>>[
      ["Åsa Öberg", "asa@example.se"],
      ["Zoë Saldaña", "zoe@example.com"],
      ["Sofía Núñez", "sofia@example.es"],
      ["Nguyễn Văn An", "an@example.vn"],
      ["Οδυσσέας Ελύτης", "odysseas@example.gr"],
      ["Jens Straße", "jens@example.de"],
      ["Sophia Lee", "sophia@example.com"],
    ]) insert.run(name, email, PWDLIB_HASH);
    original.close();
    const before = readFileSync(dbPath);

    const search = async (text: string, ...more: string[]) => {
      const result = await run(dir, ["users", "--search", text, ...more], env);
      expect({ text, code: result.code, stderr: result.stderr }).toEqual({ text, code: 0, stderr: "" });
      return result.stdout;
    };
    const names = async (text: string) => (JSON.parse(await search(text, "--json")) as Array<{ name: string }>).map((user) => user.name);
    expect(await names("åsa")).toEqual(["Åsa Öberg"]);
    expect(await names("ZOË")).toEqual(["Zoë Saldaña"]);
    expect(await names("SOFÍA")).toEqual(["Sofía Núñez"]);
    expect(await names("nguyen")).toEqual(["Nguyễn Văn An"]);
    expect(await names("ΟΔΥΣΣΕΑΣ")).toEqual(["Οδυσσέας Ελύτης"]);
    expect(await names("strasse")).toEqual(["Jens Straße"]);
    expect(await names("mueller")).toEqual([]);
    // The table, and -q as its short form.
    const table = (await run(dir, ["users", "-q", "INACTIVE"], env)).stdout.trimEnd().split("\n");
    expect(table).toEqual([expect.stringMatching(/^ID {2,}EMAIL {2,}NAME {2,}ROLE {2,}ACTIVE$/), expect.stringMatching(/^3 +ivan@example\.com +Ivan Inactive +agent +no$/), "1 account found"]);
    expect((await search("no such person")).trimEnd().split("\n").at(-1)).toBe("0 accounts found");
    // Searching only read: the file is byte for byte as the original left it, keys still missing.
    expect(readFileSync(dbPath).equals(before)).toBe(true);
    expect(keys().filter((row) => row.search_key === null)).toHaveLength(7);

    // The next command that writes gives them their keys; the answers stay the same.
    expect((await run(dir, ["migrate"], env)).code).toBe(0);
    expect(keys().filter((row) => row.search_key === null)).toEqual([]);
    expect(keys().find((row) => row.name === "Nguyễn Văn An")!.search_key).toBe("nguyen van an\nan@example.vn");
    expect(await names("nguyen")).toEqual(["Nguyễn Văn An"]);

    for (const args of [["users", "--search", "  "], ["users", "-q"]]) {
      const refused = await run(dir, args, env);
      // Bad input, exit 2, said on stderr's first line (a missing value is followed by the usage).
      expect({ args, code: refused.code }).toEqual({ args, code: 2 });
      expect(refused.stderr).toMatch(/^moxie: --search needs (TEXT to look for in names and emails|a value)\n/);
      expect(refused.stdout).toBe("");
    }
  });
});
