// The command line of the compiled binary under bad input: typos, missing values, unusable database paths
// and bad listen settings all stop with a one-line error and exit 2, start nothing and write nothing; the
// binary ignores a bunfig.toml where it runs; what it creates is readable by its owner only.
import { beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { compiledBinary } from "../support/binary.ts";
import { cleanEnv, freePort, runCli, type Env, type RunResult } from "../support/processes.ts";
import {
  ADMIN,
  createSuite,
  HS256,
  listeningAddresses,
  allLoopback,
  RUN_TIMEOUT_MS,
  SECRET,
  signJwt,
  STACK_FRAME,
  validClaims,
  type Instance,
} from "./harness.ts";

const suite = createSuite();
/** A served database the CLI cases run beside, so every case also checks a live server survived it. */
let server: Instance;
let binary = "";

beforeAll(async () => {
  [server, binary] = await Promise.all([suite.start("cli"), compiledBinary()]);
}, 60_000);

/** Runs the binary in `cwd` (a fresh empty directory unless given) with only PATH, HOME and `env`. */
async function moxie(args: string[], env: Env = {}, cwd = suite.tempDir()): Promise<RunResult & { cwd: string }> {
  const result = await runCli(args, { cwd, env, command: [binary], timeoutMs: RUN_TIMEOUT_MS });
  return { ...result, cwd };
}

/** exit 2, the problem on stderr's first line (`mention`), no stack trace, nothing on stdout. */
function expectUsageError(result: RunResult, mention: string | RegExp): void {
  if (result.code !== 2) throw new Error(`expected exit 2, got ${result.code}: ${result.stderr}${result.stdout}`);
  const first = result.stderr.trim().split("\n")[0] ?? "";
  // moxie's own words on every error line, never a runtime's ("Error: Unknown option …").
  expect(first).toStartWith("moxie: ");
  if (typeof mention === "string") expect(first).toContain(mention);
  else expect(first).toMatch(mention);
  expect(result.stderr).not.toMatch(STACK_FRAME);
  expect(result.stdout).toBe("");
}

/** Exactly one line on stderr. */
function expectOneLine(result: RunResult): void {
  expect(result.stderr.trim().split("\n")).toHaveLength(1);
}

interface ServeAttempt {
  /** null: still running when given up on (it was killed). */
  code: number | null;
  stderr: string;
  stdout: string;
  /** Listeners on `port` while it ran. */
  listening: string[];
}

/** Starts `serve` and waits (bounded) until it exits or listens on `port`; kills it if it is running. */
async function attemptServe(args: string[], env: Env, port?: number, cwd = suite.tempDir()): Promise<ServeAttempt> {
  const proc = Bun.spawn([binary, "serve", ...args], { cwd, env: cleanEnv(env), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const stdout = new Response(proc.stdout).text();
  const stderr = new Response(proc.stderr).text();
  let listening: string[] = [];
  for (let poll = 0; poll < 100 && proc.exitCode === null; poll++) {
    if (port !== undefined) {
      listening = listeningAddresses(port);
      if (listening.length > 0) break;
    }
    await Bun.sleep(50);
  }
  const code = proc.exitCode;
  if (code === null) proc.kill("SIGKILL");
  await proc.exited;
  return { code, stderr: await stderr, stdout: await stdout, listening };
}

describe("typos and missing values → exit 2, nothing written", () => {
  const cases: Array<[string[], string | RegExp]> = [
    [["serv"], "serv"],
    [["create-admn", "--email", "a@b.co", "--name", "A"], "create-admn"],
    [["create-admin", "--emial", "a@b.co", "--name", "A", "--password", "sec-suite-cli-pass-1"], "emial"],
    [["create-admin", "--email"], "email"],
    [["create-admin", "--email", "a@b.co", "--name"], "name"],
    [["create-admin", "--email", "a@b.co", "--name", "A", "--password"], "password"],
    [["create-admin", "--name", "A", "--password", "sec-suite-cli-pass-1"], "--email"],
    [["create-admin", "--email", "a@b.co", "--name", "A", "--password", "sec-suite-cli-pass-1", "extra"], /extra|argument|positional/i],
    [["set-password", "--email"], "email"],
    [["users", "--jsn"], "jsn"],
    [["serve", "--prot", "1"], "prot"],
    [["serve", "--port"], "port"],
    [["serve", "--port", "abc"], "abc"],
    [["serve", "--port", "70000"], "70000"],
    [["serve", "--port", "-1"], /port|-1/],
    [["--verison"], "verison"],
    [[], "a command is required"],
  ];
  for (const [args, mention] of cases) {
    test(`moxie ${args.join(" ")}`, async () => {
      const result = await moxie(args, { SECRET_KEY: SECRET });
      expectUsageError(result, mention);
      expect(readdirSync(result.cwd)).toEqual([]);
    });
  }

  test("create-admin with a bad email, a short or a common password: exit 2, no database file", async () => {
    for (const [email, password, mention] of [
      ["not-an-email", "sec-suite-cli-pass-1", "email"],
      ["a@b.co", "short", "password"],
      ["a@b.co", "password123", "password"],
    ] as const) {
      const result = await moxie(["create-admin", "--email", email, "--name", "A", "--password", password]);
      expectUsageError(result, mention);
      expectOneLine(result);
      expect(result.stderr).not.toContain(password === "short" ? "short\n" : password);
      expect(readdirSync(result.cwd)).toEqual([]);
    }
  });
});

describe("bad settings for serve → exit 2, one line, nothing listening", () => {
  test("PORT=abc", async () => {
    const attempt = await attemptServe([], { SECRET_KEY: SECRET, PORT: "abc" });
    expect(attempt.code).toBe(2);
    expect(attempt.stderr.trim().split("\n")).toHaveLength(1);
    expect(attempt.stderr).toContain("PORT");
  });

  test("PORT=70000 and PORT=-1", async () => {
    for (const value of ["70000", "-1", "8000 9000"]) {
      const attempt = await attemptServe([], { SECRET_KEY: SECRET, PORT: value });
      expect(attempt.code).toBe(2);
      expect(attempt.stderr).toContain("PORT");
    }
  });

  test("HOST with blanks inside", async () => {
    const port = freePort();
    const attempt = await attemptServe(["--port", String(port)], { SECRET_KEY: SECRET, HOST: "127.0.0.1 0.0.0.0" }, port);
    expect(attempt.code).toBe(2);
    expect(attempt.stderr.trim().split("\n")).toHaveLength(1);
    expect(attempt.stderr).toContain("HOST");
    expect(attempt.listening).toEqual([]);
  });

  test("HOST='' means the default (loopback only), never every interface", async () => {
    const port = freePort();
    const attempt = await attemptServe(["--port", String(port)], { SECRET_KEY: SECRET, HOST: "" }, port);
    if (attempt.code === null) {
      expect(attempt.listening.length).toBeGreaterThan(0);
      expect(allLoopback(attempt.listening)).toBe(true);
    } else {
      expect(attempt.code).toBe(2);
    }
  });

  test("--host '' is refused like HOST='' would be (never binds every interface)", async () => {
    const port = freePort();
    const attempt = await attemptServe(["--host", "", "--port", String(port)], { SECRET_KEY: SECRET }, port);
    // Expected: exit 2 with one line naming the host, nothing listening ("00000000…" is every interface).
    const outcome = `exit ${attempt.code ?? "(still running)"}, listening on ${attempt.listening.join(" ") || "nothing"}`;
    expect(outcome).toBe("exit 2, listening on nothing");
    expect(attempt.stderr.trim().split("\n")).toHaveLength(1);
  });

  test("SECRET_KEY shorter than 32 characters, or the original's public default", async () => {
    for (const key of ["short", "change-me-in-production", "x".repeat(31)]) {
      const port = freePort();
      const attempt = await attemptServe(["--port", String(port)], { SECRET_KEY: key }, port);
      expect(attempt.code).toBe(2);
      expect(attempt.stderr.trim().split("\n")).toHaveLength(1);
      expect(attempt.stderr).toContain("SECRET_KEY");
      expect(attempt.stderr).not.toContain(key === "short" ? "short'" : key);
      expect(attempt.listening).toEqual([]);
    }
  });
});


describe("unusable database paths → exit 2, one line, nothing written", () => {
  function fileBlockingDir(): { dir: string; file: string } {
    const dir = suite.tempDir();
    const file = join(dir, "a-regular-file");
    writeFileSync(file, "not a directory\n");
    return { dir, file };
  }

  test("create-admin with DATABASE_URL under a regular file", async () => {
    const { dir, file } = fileBlockingDir();
    const result = await moxie(
      ["create-admin", "--email", "a@b.co", "--name", "A", "--password", "sec-suite-cli-pass-1"],
      { DATABASE_URL: `${file}/sub/moxie.db` },
      dir,
    );
    expectUsageError(result, "DATABASE_URL");
    expectOneLine(result);
    expect(readdirSync(dir)).toEqual(["a-regular-file"]);
    expect(readFileSync(file, "utf8")).toBe("not a directory\n");
  });

  test("serve with DATABASE_URL under a regular file: nothing listening", async () => {
    const { dir, file } = fileBlockingDir();
    const port = freePort();
    const attempt = await attemptServe(["--port", String(port)], { SECRET_KEY: SECRET, DATABASE_URL: `sqlite:///${file}/moxie.db` }, port, dir);
    expect(attempt.code).toBe(2);
    expect(attempt.stderr.trim().split("\n")).toHaveLength(1);
    expect(attempt.stderr).toContain("DATABASE_URL");
    expect(attempt.listening).toEqual([]);
    expect(readdirSync(dir)).toEqual(["a-regular-file"]);
  });

  test("DATABASE_URL under /proc", async () => {
    // create-admin would create the database: the path itself is the bad setting. (`users` just finds none there.)
    const result = await moxie(["create-admin", "--email", "proc@sec.example.com", "--name", "Proc", "--password", "proc-Pass-2026-x"], {
      DATABASE_URL: "/proc/self/moxie-sec/moxie.db",
    });
    expectUsageError(result, "DATABASE_URL");
    expectOneLine(result);
    expect(readdirSync(result.cwd)).toEqual([]);
    const lookup = await moxie(["users"], { DATABASE_URL: "/proc/self/moxie-sec/moxie.db" });
    expect(lookup.code).toBe(1);
    expect(lookup.stderr).toContain("no database at /proc/self/moxie-sec/moxie.db");
    expect(readdirSync(lookup.cwd)).toEqual([]);
  });

  test("DATABASE_URL that is not a file (a directory, :memory:, another scheme)", async () => {
    for (const url of ["sqlite:///./", "sqlite:///:memory:", "postgres://db/moxie", `sqlite:///${suite.tempDir()}`]) {
      const result = await moxie(["users"], { DATABASE_URL: url });
      expect(result.code).toBe(2);
      expectOneLine(result);
      expect(result.stderr).toContain("DATABASE_URL");
      expect(result.stderr).not.toMatch(STACK_FRAME);
    }
  });
});

describe("the binary's own environment", () => {
  test("a bunfig.toml preload where it runs is never executed", async () => {
    const dir = suite.tempDir();
    const marker = join(dir, "preload-ran");
    writeFileSync(join(dir, "bunfig.toml"), 'preload = ["./evil.ts"]\n[test]\npreload = ["./evil.ts"]\n');
    writeFileSync(join(dir, "evil.ts"), `require("node:fs").writeFileSync(${JSON.stringify(marker)}, "ran\\n");\n`);
    // `users` finds no database here and refuses (exit 1) after reading its settings: the preload had its chance.
    for (const [args, code] of [[["--version"], 0], [["users"], 1]] as const) {
      const result = await moxie([...args], { SECRET_KEY: SECRET }, dir);
      expect(result.code).toBe(code);
    }
    expect(existsSync(marker)).toBe(false);
  });

  test("files created by serve with SECRET_KEY unset are owner-only (dir, db, -wal, -shm, .secret)", async () => {
    const previous = process.umask(0o022); // a permissive umask in the parent: moxie must not inherit it
    let instance: Instance;
    try {
      instance = await suite.start("cli-modes", { noSecret: true, admin: false, env: { DATABASE_URL: "sqlite:///./data/moxie.db" } });
    } finally {
      process.umask(previous);
    }
    const data = join(instance.dir, "data");
    const db = join(data, "moxie.db");
    // Touch the database through the API so WAL and shared-memory files exist; sign with the generated key.
    const key = readFileSync(`${db}.secret`, "utf8").trim();
    expect(key.length).toBeGreaterThanOrEqual(32);
    const response = await instance.request("GET", "/admin/users", { token: signJwt(HS256, validClaims("1"), { key }) });
    expect(response.status).toBe(401); // no such account yet
    const files = [data, db, `${db}-wal`, `${db}-shm`, `${db}.secret`];
    const modes = Object.fromEntries(files.map((path) => [path.slice(instance.dir.length), existsSync(path) ? (statSync(path).mode & 0o777).toString(8) : "missing"]));
    for (const [path, mode] of Object.entries(modes)) {
      expect(`${path} ${mode}`).not.toContain("missing");
      expect(`${path} ${Number.parseInt(mode, 8) & 0o077}`).toBe(`${path} 0`);
    }
    // The generated key never shows up in an answer.
    suite.secret(key);
  });

  test("the CLI reads and writes the served database without disturbing it", async () => {
    const before = await server.users();
    expect(before.map((user) => user.email)).toEqual([ADMIN.email]);
    const created = await server.cli(["create-admin", "--email", "second@sec.example.com", "--name", "Second", "--password", suite.secret("sec-suite-second-admin-8")]);
    expect(created.code).toBe(0);
    const token = server.adminToken();
    const listed = await server.request("GET", "/admin/users", { token });
    expect(listed.status).toBe(200);
    expect(listed.json.map((user: { email: string }) => user.email)).toEqual([ADMIN.email, "second@sec.example.com"]);
  });

  test("account data set over the API cannot put terminal control sequences on the operator's screen", async () => {
    // ESC [2J clears the screen; ESC ]0; retitles the terminal. Either refuse them (422) or never print them raw.
    const name = "Evil\u001b[2J\u001b]0;pwned\u0007Name\u009b31m";
    const changed = await server.request("PATCH", "/admin/users/1", { token: server.adminToken(), json: { name } });
    expect([200, 422]).toContain(changed.status);
    const table = await server.cli(["users"]);
    expect(table.code).toBe(0);
    const controls = [...table.stdout]
      .filter((c) => /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/.test(c))
      .map((c) => `U+${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
    expect(controls).toEqual([]);
  });
});

suite.sweep();
