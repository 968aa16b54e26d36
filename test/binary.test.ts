// End to end on what ships: the compiled ./moxie, built with the package.json "build" flags, copied alone into
// an empty directory and run there, with no repository, node_modules or drizzle/ folder beside it.
import { beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import packageJson from "../package.json" with { type: "json" };
import { expectNoLeak } from "./helpers.ts";
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
