// End to end on what ships: the compiled ./moxie, built with the package.json "build" flags, copied alone into
// an empty directory and run there, with no repository, node_modules or drizzle/ folder beside it.
import { Database } from "bun:sqlite";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, existsSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import packageJson from "../package.json" with { type: "json" };
import { expectNoLeak, ROOT, tempDir as helperTempDir } from "./helpers.ts";

// helpers.ts removes its temp dirs in an afterAll registered when the module first loads, i.e. for the first
// test file that imports it only; when several files share a `bun test` run, later files' dirs would stay
// behind (binary.test.ts's hold a 100 MB binary). Each file therefore removes its own as well.
const myDirs: string[] = [];
afterAll(() => {
  for (const dir of myDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(prefix?: string): string {
  const dir = helperTempDir(prefix);
  myDirs.push(dir);
  return dir;
}

const PASSWORD = "binary-password-1";
const STACK_FRAME = /^\s+at\s/m;

type Env = Record<string, string>;

function cleanEnv(extra: Env = {}): Env {
  const env: Env = {};
  if (process.env.PATH !== undefined) env.PATH = process.env.PATH;
  if (process.env.HOME !== undefined) env.HOME = process.env.HOME;
  return { ...env, ...extra };
}

/** The package.json build command with only its output path changed. */
function buildCommand(script: string, outfile: string): string[] {
  const args = script.trim().split(/\s+/);
  if (args[0] !== "bun" || args[1] !== "build") throw new Error(`unexpected build script: ${script}`);
  const at = args.indexOf("--outfile");
  if (at !== -1 && at + 1 < args.length) {
    args[at + 1] = outfile;
  } else {
    const inline = args.findIndex((arg) => arg.startsWith("--outfile="));
    if (inline === -1) throw new Error(`build script has no --outfile: ${script}`);
    args[inline] = `--outfile=${outfile}`;
  }
  return [process.execPath, ...args.slice(1)];
}

let builtBinary = "";

beforeAll(async () => {
  const script = packageJson.scripts.build;
  expect(script).toContain("--compile");
  expect(script).toContain("--no-compile-autoload-bunfig");
  expect(script).toContain("--no-compile-autoload-dotenv");
  const outfile = join(tempDir("moxie-build-"), "moxie");
  const build = Bun.spawn(buildCommand(script, outfile), {
    cwd: ROOT,
    env: cleanEnv(),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(build.stdout).text(),
    new Response(build.stderr).text(),
    build.exited,
  ]);
  if (code !== 0 || !existsSync(outfile)) throw new Error(`build failed (${code}):\n${stdout}\n${stderr}`);
  builtBinary = outfile;
}, 120_000);

/** A fresh empty directory holding only a copy of the binary. */
function installDir(): { dir: string; binary: string } {
  const dir = tempDir("moxie-bin-");
  const binary = join(dir, "moxie");
  copyFileSync(builtBinary, binary);
  chmodSync(binary, 0o755);
  expect(readdirSync(dir)).toEqual(["moxie"]);
  return { dir, binary };
}

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(dir: string, args: string[], env: Env = {}): Promise<RunResult> {
  const proc = Bun.spawn(["./moxie", ...args], { cwd: dir, env: cleanEnv(env), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 15_000);
  try {
    const [stdout, stderr, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    return { code, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}

interface Server {
  proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
  stdout(): string;
  stderr(): string;
}

const live = new Set<Server>();

afterEach(async () => {
  for (const server of [...live]) {
    server.proc.kill("SIGKILL");
    await server.proc.exited;
    live.delete(server);
  }
});

function collect(stream: ReadableStream<Uint8Array>, append: (text: string) => void): void {
  const decoder = new TextDecoder();
  void (async () => {
    for await (const chunk of stream) append(decoder.decode(chunk, { stream: true }));
  })().catch(() => {});
}

function startServe(dir: string, args: string[], env: Env = {}): Server {
  const proc = Bun.spawn(["./moxie", "serve", ...args], { cwd: dir, env: cleanEnv(env), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  let out = "";
  let err = "";
  collect(proc.stdout, (text) => (out += text));
  collect(proc.stderr, (text) => (err += text));
  const server: Server = { proc, stdout: () => out, stderr: () => err };
  live.add(server);
  return server;
}

/** Polls GET /health on `port` for up to 5 s; fails early if the server exits. */
async function waitHealthy(server: Server, port: number): Promise<string> {
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 5000;
  for (;;) {
    if (server.proc.exitCode !== null) {
      throw new Error(`serve exited with ${server.proc.exitCode}: ${server.stderr()} ${server.stdout()}`);
    }
    try {
      const response = await fetch(`${url}/health`);
      if (response.status === 200) {
        expect(await response.json()).toEqual({ status: "ok" });
        return url;
      }
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`no /health on ${url} within 5 s: ${server.stderr()} ${server.stdout()}`);
    await Bun.sleep(50);
  }
}

async function stop(server: Server, ms = 5000): Promise<number> {
  server.proc.kill("SIGTERM");
  const code = await Promise.race([server.proc.exited, Bun.sleep(ms).then(() => "timeout" as const)]);
  live.delete(server);
  if (code === "timeout") {
    server.proc.kill("SIGKILL");
    await server.proc.exited;
    throw new Error(`serve did not stop within ${ms} ms of SIGTERM`);
  }
  return code;
}

function freePort(): number {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("") });
  const port = probe.port;
  probe.stop(true);
  if (port === undefined) throw new Error("no port");
  return port;
}

describe("compiled moxie binary", () => {
  test("--version prints the package.json version", async () => {
    const { dir } = installDir();
    const result = await run(dir, ["--version"]);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(packageJson.version);
    expect(result.stderr).toBe("");
    expect(readdirSync(dir)).toEqual(["moxie"]);
  });

  test("create-admin migrates a fresh database, serve signs the admin in, SIGTERM stops it cleanly", async () => {
    const { dir } = installDir();
    const created = await run(dir, ["create-admin", "--email", "Owner@Example.com", "--name", "Owner", "--password", PASSWORD]);
    expect(created.code).toBe(0);
    expect(created.stdout).toContain("owner@example.com");
    expect(created.stdout + created.stderr).not.toContain(PASSWORD);
    expect(created.stdout + created.stderr).not.toContain("$argon2");

    const dbPath = join(dir, "moxie.db");
    expect(existsSync(dbPath)).toBe(true);
    expect(statSync(dbPath).mode & 0o777).toBe(0o600);
    const sqlite = new Database(dbPath, { readonly: true });
    try {
      const tables = (sqlite.query("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((t) => t.name);
      expect(tables).toContain("users");
      expect(tables).toContain("__drizzle_migrations");
      const rows = sqlite.query("SELECT email, role, is_active FROM users").all();
      expect(rows).toEqual([{ email: "owner@example.com", role: "admin", is_active: 1 }]);
    } finally {
      sqlite.close();
    }

    const port = freePort();
    const server = startServe(dir, ["--port", String(port)]);
    const url = await waitHealthy(server, port);
    expect(server.stdout()).toContain(`"url":"${url}"`);
    expect(statSync(join(dir, "moxie.db.secret")).mode & 0o777).toBe(0o600);

    const login = await fetch(`${url}/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "owner@example.com", password: PASSWORD }),
    });
    expect(login.status).toBe(200);
    const grant = (await login.json()) as { access_token: unknown; token_type: unknown; expires_in: unknown };
    expect(grant.token_type).toBe("bearer");
    expect(grant.expires_in).toBe(28800);
    expect(typeof grant.access_token).toBe("string");
    const token = grant.access_token as string;
    expect(token.split(".")).toHaveLength(3);

    const wrong = await fetch(`${url}/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "owner@example.com", password: "not-the-password" }),
    });
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
    const { dir } = installDir();
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
    const { dir } = installDir();
    const port = freePort();
    writeFileSync(join(dir, ".env"), `# written by the test\nPORT=${port}\n`);
    const server = startServe(dir, []);
    const url = await waitHealthy(server, port);
    expect(server.stdout()).toContain(`"url":"${url}"`);
    expect(await stop(server)).toBe(0);
  });

  test("a bad setting exits 2 with one line and no stack trace", async () => {
    const { dir } = installDir();
    const result = await run(dir, ["serve"], { SECRET_KEY: "short" });
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toContain("SECRET_KEY");
    expect(result.stderr).not.toMatch(STACK_FRAME);
    expect(readdirSync(dir)).toEqual(["moxie"]);
  });
});
