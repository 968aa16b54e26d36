// The command line as an operator meets it, on what ships: the compiled ./moxie alone in a directory, run there
// (or from elsewhere with --env-file), prompts answered on a real pseudo-terminal whose input stays open.
// Each test names the operator's mistake or question it covers: a hang after the password, a silent empty
// database in the wrong directory, a service and a CLI reading different databases, a start that fails but
// leaves files, a doctor that fails a fresh checkout.
import { beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { ROOT, tempDir } from "./helpers.ts";
import { binaryAloneIn, compiledBinary } from "./support/binary.ts";
import { answerOnTerminal, END_OF_INPUT } from "./support/terminal.ts";
import {
  cleanEnv,
  expectOneLineError,
  freePort,
  listeningUrl,
  login,
  readExistingDb,
  runCli,
  startServe,
  stopServer,
  type Env,
  type RunResult,
} from "./support/processes.ts";

const PASSWORD = "Sunny-Lease-2026!";
const SECRET = "operator-test-secret-0123456789abcdef-0123456789";
/** Only detects a hang (a prompt waiting for Ctrl-D); every run here takes a fraction of it. Not a speed limit. */
const HANG_MS = 15_000;

beforeAll(async () => {
  await compiledBinary();
}, 180_000);

/** A fresh directory holding only a copy of the compiled binary, as after `install`. */
async function installDir(): Promise<string> {
  const binary = await binaryAloneIn();
  return dirname(binary);
}

function moxie(dir: string, args: string[], env: Env = {}, cwd = dir): Promise<RunResult> {
  return runCli(args, { cwd, env, command: [join(dir, "moxie")] });
}

function createAdmin(dir: string, env: Env = {}, email = "admin@example.com", cwd = dir): Promise<RunResult> {
  return moxie(dir, ["create-admin", "--email", email, "--name", "Office Admin", "--password", PASSWORD], env, cwd);
}

/** Waits for `proc` to end on its own; kills it and fails the test when it does not within HANG_MS. */
async function endsByItself(proc: Bun.Subprocess, what: string, shown: () => string): Promise<number> {
  const code = await Promise.race([proc.exited, Bun.sleep(HANG_MS).then(() => "hung" as const)]);
  if (code === "hung") {
    proc.kill("SIGKILL");
    await proc.exited;
    throw new Error(`${what} did not end with its input still open; it showed: ${JSON.stringify(shown())}`);
  }
  return code;
}

/** ./moxie in `dir` on a pseudo-terminal, the password prompts answered with `answers`. */
function onTerminal(dir: string, args: string[], answers: string[]): Promise<{ code: number; screen: string }> {
  return answerOnTerminal(["./moxie", ...args], answers, { cwd: dir });
}

/**
 * A server's files under a temp "root": /var/lib/moxie (0700) and deploy/moxie.env installed as
 * /etc/moxie/moxie.env with its database path moved there, a SECRET_KEY set and, if given, the PORT.
 */
function installedServer(port?: number): { state: string; settings: string } {
  const root = tempDir("moxie-root-");
  const state = join(root, "var/lib/moxie");
  mkdirSync(state, { recursive: true, mode: 0o700 });
  const settings = join(root, "etc/moxie/moxie.env");
  mkdirSync(dirname(settings), { recursive: true });
  const template = readFileSync(join(ROOT, "deploy/moxie.env"), "utf8");
  expect(template).toContain("DATABASE_URL=sqlite:////var/lib/moxie/moxie.db");
  let text = template.replace("sqlite:////var/lib/moxie/", `sqlite:///${state}/`).replace(/^SECRET_KEY=.*$/m, `SECRET_KEY=${SECRET}`);
  if (port !== undefined) text = text.replace(/^PORT=.*$/m, `PORT=${port}`);
  writeFileSync(settings, text, { mode: 0o640 });
  return { state, settings };
}

function emails(dbPath: string): string[] {
  return readExistingDb(dbPath, (db) => (db.query("SELECT email FROM users ORDER BY id").all() as { email: string }[]).map((r) => r.email));
}

async function passwordOf(dbPath: string, email: string): Promise<string> {
  return readExistingDb(dbPath, (db) => (db.query("SELECT password_hash FROM users WHERE email = ?").get(email) as { password_hash: string }).password_hash);
}

// ---------------------------------------------------------------------------------------------------------

describe("prompts end the moment their answer is read", () => {
  test("create-admin on a terminal: asks twice, hides the answer, creates the admin and ends with the terminal still open", async () => {
    const dir = await installDir();
    const { code, screen } = await onTerminal(dir, ["create-admin", "--email", "tty@example.com", "--name", "Tty"], [PASSWORD, PASSWORD]);
    expect(code).toBe(0);
    expect(screen).toContain("<prompt 1>");
    expect(screen).toContain("<prompt 2>");
    expect(screen).toContain("Created admin #1 tty@example.com");
    expect(screen).not.toContain(PASSWORD);
    expect(await Bun.password.verify(PASSWORD, await passwordOf(join(dir, "moxie.db"), "tty@example.com"))).toBe(true);
  }, 60_000);

  const refusals = [
    ["two different answers", [PASSWORD, `${PASSWORD}x`], "the two passwords do not match"],
    ["Ctrl-D at the first prompt", [END_OF_INPUT], "no password given (end of input at the prompt); nothing was written"],
    ["Ctrl-D at the second prompt", [PASSWORD, END_OF_INPUT], "no password given (end of input at the prompt); nothing was written"],
  ] as const;
  for (const [what, answers, says] of refusals) {
    test(`create-admin on a terminal, ${what}: exit 2 saying so, nothing written, and it ends`, async () => {
      const dir = await installDir();
      const { code, screen } = await onTerminal(dir, ["create-admin", "--email", "tty@example.com", "--name", "Tty"], [...answers]);
      expect(code).toBe(2);
      expect(screen).toContain(says);
      // Ctrl-D at the first prompt: there is no second one.
      if (answers.length === 1) expect(screen).not.toContain("Repeat password");
      expect(screen).not.toContain(PASSWORD);
      expect(readdirSync(dir)).toEqual(["moxie"]);
    }, 60_000);
  }

  test("set-password on a terminal: the new password is stored and the command ends with the terminal open", async () => {
    const dir = await installDir();
    expect((await createAdmin(dir)).code).toBe(0);
    const next = "Rainy-Lease-2027?";
    const { code, screen } = await onTerminal(dir, ["set-password", "--email", "admin@example.com"], [next, next]);
    expect(code).toBe(0);
    expect(screen).toContain("Password set for #1 admin@example.com");
    expect(screen).not.toContain(next);
    expect(await Bun.password.verify(next, await passwordOf(join(dir, "moxie.db"), "admin@example.com"))).toBe(true);
  }, 60_000);

  test("a password on a pipe whose writer stays open: one line is read and the command ends", async () => {
    const dir = await installDir();
    const proc = Bun.spawn(["./moxie", "create-admin", "--email", "pipe@example.com", "--name", "Pipe"], {
      cwd: dir,
      env: cleanEnv(),
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
    });
    const stdout = new Response(proc.stdout).text();
    const stderr = new Response(proc.stderr).text();
    proc.stdin.write(`${PASSWORD}\n`);
    await proc.stdin.flush();
    try {
      expect(await endsByItself(proc, "create-admin reading a pipe", () => "")).toBe(0);
    } finally {
      proc.stdin.end();
    }
    expect(await stderr).toBe("");
    expect(await stdout).toContain("Created admin #1 pipe@example.com");
    expect(await Bun.password.verify(PASSWORD, await passwordOf(join(dir, "moxie.db"), "pipe@example.com"))).toBe(true);
  }, 60_000);
});

describe("a start that fails says why and leaves nothing on disk", () => {
  test("HOST that is not an address: exit 2, one line naming HOST, no database and no key file", async () => {
    const dir = await installDir();
    for (const host of ["not-a-host", "example.com", "127.0.0.1 0.0.0.0"]) {
      const result = await moxie(dir, ["serve", "--port", String(freePort())], { HOST: host });
      expect(result.code).toBe(2);
      expectOneLineError(result.stderr);
      expect(result.stderr).toStartWith("moxie: invalid settings: HOST: ");
      expect(result.stderr).toContain("0.0.0.0 for every interface");
      expect(result.stderr).not.toContain("in use");
      expect(result.stdout).toBe("");
    }
    const flag = await moxie(dir, ["serve", "--host", "not-a-host"]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toStartWith("moxie: --host: ");
    expect(readdirSync(dir)).toEqual(["moxie"]);
  }, 60_000);

  test("an address that is not on this machine: says so in words, exit 1, nothing created", async () => {
    const dir = await installDir();
    // 192.0.2.0/24 is TEST-NET-1 (RFC 5737): documentation only, never a local address.
    const result = await moxie(dir, ["serve", "--port", String(freePort())], { HOST: "192.0.2.1" });
    expect(result.code).toBe(1);
    expectOneLineError(result.stderr);
    expect(result.stderr).toContain("cannot listen on 192.0.2.1:");
    expect(result.stderr).toContain("192.0.2.1 is not an address of this machine");
    expect(result.stderr).not.toContain("EADDRNOTAVAIL");
    expect(result.stdout).toBe("");
    expect(readdirSync(dir)).toEqual(["moxie"]);
    // doctor tries the address as serve would, and says the same before anyone restarts the service.
    expect((await createAdmin(dir)).code).toBe(0);
    const doctor = await moxie(dir, ["doctor"], { HOST: "192.0.2.1" });
    expect(doctor.code).toBe(1);
    expect(doctor.stdout).toContain("192.0.2.1 is not an address of this machine; set HOST to 127.0.0.1");
    expect(doctor.stdout).toContain("(`moxie serve` would refuse to start)");
  }, 60_000);

  test("a port another program holds: says the port is taken, exit 1, nothing created", async () => {
    const dir = await installDir();
    const other = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("someone else") });
    try {
      const result = await moxie(dir, ["serve", "--port", String(other.port)]);
      expect(result.code).toBe(1);
      expectOneLineError(result.stderr);
      expect(result.stderr).toContain(`cannot listen on 127.0.0.1:${other.port}: port ${other.port} is already in use`);
      expect(result.stdout).toBe("");
      expect(readdirSync(dir)).toEqual(["moxie"]);
      expect(await (await fetch(`http://127.0.0.1:${other.port}/`)).text()).toBe("someone else");
    } finally {
      other.stop(true);
    }
  }, 60_000);

  const unprivilegedStart = Number(readFileSync("/proc/sys/net/ipv4/ip_unprivileged_port_start", "utf8").trim());
  test.skipIf(!(unprivilegedStart > 1))("a privileged port as an ordinary user: 'permission denied' in words, exit 1, nothing created", async () => {
    const dir = await installDir();
    chmodSync(dir, 0o777); // nobody may enter and run ./moxie here; if it wrote anything we would see it
    const port = unprivilegedStart - 1;
    // As root, drop to nobody, as an operator running it from their own account would be.
    const asUser = process.getuid?.() === 0 ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] : [];
    const result = await runCli(["serve", "--port", String(port)], { cwd: dir, command: [...asUser, "./moxie"] });
    expect(result.code).toBe(1);
    expectOneLineError(result.stderr);
    expect(result.stderr).toContain(`cannot listen on 127.0.0.1:${port}: permission denied`);
    expect(result.stderr).toContain("below 1024");
    expect(readdirSync(dir)).toEqual(["moxie"]);
  }, 60_000);

  test("a bad PORT in ./.env stops serve only: users, backup and audit, which never listen, work", async () => {
    const dir = await installDir();
    expect((await createAdmin(dir)).code).toBe(0);
    writeFileSync(join(dir, ".env"), "PORT=eighty\n");
    const serve = await moxie(dir, ["serve"]);
    expect(serve.code).toBe(2);
    expectOneLineError(serve.stderr);
    expect(serve.stderr).toContain("PORT: 'eighty' is not a port number");
    for (const args of [["users"], ["backup", "copy.db"], ["audit"], ["migrate", "--status"]]) {
      const result = await moxie(dir, args);
      expect({ args, code: result.code, stderr: result.stderr }).toEqual({ args, code: 0, stderr: "" });
    }
    const doctor = await moxie(dir, ["doctor"]);
    expect(doctor.code).toBe(1);
    expect(doctor.stdout).toContain("PORT: 'eighty' is not a port number (0-65535) (`moxie serve` refuses to start; other commands ignore it)");
    // The settings table does not show the default the other commands fell back to as if it were in effect.
    expect(doctor.stdout).toMatch(/\n  PORT +\(invalid: `moxie serve` refuses it, see below\)\n/);
    expect(doctor.stdout).not.toMatch(/\n  PORT +8000\n/);
  }, 60_000);
});

describe("the database a command uses is never a surprise", () => {
  test("in a directory without a database, every command that reads or changes accounts refuses and creates nothing", async () => {
    const dir = await installDir();
    const commands = [
      ["users"],
      ["set-password", "--email", "admin@example.com", "--password", PASSWORD],
      ["activate", "--email", "admin@example.com"],
      ["deactivate", "--email", "admin@example.com"],
      ["audit"],
      ["audit", "--prune-days", "30"],
      ["backup"],
      ["migrate"],
    ];
    const where = join(dir, "moxie.db");
    for (const args of commands) {
      const result = await moxie(dir, args);
      expect({ args, code: result.code }).toEqual({ args, code: 1 });
      expectOneLineError(result.stderr);
      expect(result.stderr).toStartWith(
        `moxie: no database at ${where} (the default ./moxie.db in the working directory ${dir}: ` +
          "DATABASE_URL is not set and there is no ./.env); nothing was created.",
      );
      expect(result.stderr).toContain("--env-file");
      expect(result.stdout).not.toContain("0 accounts");
      expect(readdirSync(dir)).toEqual(["moxie"]);
    }
    const doctor = await moxie(dir, ["doctor"]);
    expect(doctor.code).toBe(1);
    expect(doctor.stdout).toContain(`no database at ${where}`);
    expect(readdirSync(dir)).toEqual(["moxie"]);
  }, 120_000);

  test("create-admin and serve create one and say its full path and the setting that chose it", async () => {
    const dir = await installDir();
    const created = await createAdmin(dir, { DATABASE_URL: "sqlite:///./data/team.db" });
    expect(created.code).toBe(0);
    expect(created.stdout).toBe(
      `Created database ${join(dir, "data/team.db")} (DATABASE_URL in the environment)\nCreated admin #1 admin@example.com\n`,
    );
    const again = await createAdmin(dir, { DATABASE_URL: "sqlite:///./data/team.db" }, "second@example.com");
    expect(again.stdout).toBe("Created admin #2 second@example.com\n"); // not new: nothing to announce

    writeFileSync(join(dir, ".env"), `DATABASE_URL=./served.db\nSECRET_KEY=${SECRET}\n`);
    const server = startServe(["--port", "0"], { cwd: dir, command: ["./moxie"] });
    await listeningUrl(server);
    const announced = server.logs().find((line) => line.msg === "created a new database");
    expect(announced).toMatchObject({ path: join(dir, "served.db"), chosen_by: `DATABASE_URL in ${join(dir, ".env")}` });
    expect(await stopServer(server)).toBe(0);
  }, 60_000);

  test("restore onto a machine with no database yet: writes it and prints the full path and the setting that chose it", async () => {
    const source = await installDir();
    expect((await createAdmin(source)).code).toBe(0);
    expect((await moxie(source, ["backup", "nightly.db"])).code).toBe(0);

    const dir = await installDir();
    const settings = join(tempDir("moxie-etc-"), "moxie.env");
    const dbPath = join(dir, "state", "moxie.db");
    writeFileSync(settings, `DATABASE_URL=sqlite:///${dbPath}\n`, { mode: 0o640 });
    mkdirSync(join(dir, "state"), { mode: 0o700 });
    copyFileSync(join(source, "nightly.db"), join(dir, "nightly.db"));
    const result = await moxie(dir, ["--env-file", settings, "restore", "nightly.db"]);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split("\n");
    expect(lines[0]).toBe(`Restored ${dbPath} from ${join(dir, "nightly.db")} (1 user)`);
    expect(lines[1]).toBe(`There was no previous database; wrote a new one at ${dbPath} (DATABASE_URL in ${settings})`);
    expect(emails(dbPath)).toEqual(["admin@example.com"]);
  }, 60_000);

  test("--env-file (anywhere on the line) and MOXIE_ENV_FILE read a settings file from any directory; the environment still wins", async () => {
    const dir = await installDir();
    const etc = tempDir("moxie-etc-");
    const settings = join(etc, "moxie.env");
    const dbPath = join(tempDir("moxie-state-"), "moxie.db");
    writeFileSync(settings, `# the service's settings\nDATABASE_URL=sqlite:///${dbPath}\nSECRET_KEY=${SECRET}\n`, { mode: 0o640 });
    const elsewhere = tempDir("moxie-home-");

    const created = await moxie(dir, ["--env-file", settings, "create-admin", "--email", "admin@example.com", "--name", "A", "--password", PASSWORD], {}, elsewhere);
    expect(created.code).toBe(0);
    expect(created.stdout).toContain(`Created database ${dbPath} (DATABASE_URL in ${settings})`);
    for (const [args, env] of [
      [["--env-file", settings, "users"], {}],
      [[`--env-file=${settings}`, "users"], {}],
      [["users", "--env-file", settings], {}],
      [["users"], { MOXIE_ENV_FILE: settings }],
    ] as Array<[string[], Env]>) {
      const result = await moxie(dir, args, env, elsewhere);
      expect({ args, code: result.code, stderr: result.stderr }).toEqual({ args, code: 0, stderr: "" });
      expect(result.stdout).toContain("admin@example.com");
      expect(result.stdout).toContain("1 account");
    }
    expect(readdirSync(elsewhere)).toEqual([]);

    // The environment wins over the file, as it does over ./.env.
    const other = join(elsewhere, "other.db");
    const overridden = await moxie(dir, ["--env-file", settings, "users"], { DATABASE_URL: other }, elsewhere);
    expect(overridden.code).toBe(1);
    expect(overridden.stderr).toContain(`no database at ${other} (DATABASE_URL in the environment)`);

    // A named file must be there: a typo is bad input, not a silent fallback to ./.env.
    writeFileSync(join(elsewhere, ".env"), `DATABASE_URL=${other}\n`);
    const missing = await moxie(dir, ["--env-file", join(etc, "moxie.evn"), "users"], {}, elsewhere);
    expect(missing.code).toBe(2);
    expectOneLineError(missing.stderr);
    expect(missing.stderr).toContain(`--env-file ${join(etc, "moxie.evn")}: cannot read it: no such file`);
    const viaVariable = await moxie(dir, ["users"], { MOXIE_ENV_FILE: join(etc, "nope.env") }, elsewhere);
    expect(viaVariable.code).toBe(2);
    expect(viaVariable.stderr).toContain(`MOXIE_ENV_FILE ${join(etc, "nope.env")}: cannot read it`);
    const noValue = await moxie(dir, ["users", "--env-file"], {}, elsewhere);
    expect(noValue.code).toBe(2);
    expect(noValue.stderr).toContain("--env-file needs a FILE");
    expect(readdirSync(elsewhere)).toEqual([".env"]);
  }, 90_000);

  test("the README's server steps, as the units run them: service and operator read one settings file and one database", async () => {
    const unit = readFileSync(join(ROOT, "deploy/moxie.service"), "utf8");
    const backupUnit = readFileSync(join(ROOT, "deploy/moxie-backup.service"), "utf8");
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const steps = readme.slice(readme.indexOf("## Running on a server"), readme.indexOf("## Development"));
    const ENV_FILE = "/etc/moxie/moxie.env";
    for (const text of [unit, backupUnit]) {
      expect(text).toContain(`Environment=MOXIE_ENV_FILE=${ENV_FILE}`);
      expect(text).not.toMatch(/^Environment=DATABASE_URL=/m); // one truth: the settings file
    }
    // Every moxie command the operator runs on the server reads the service's file (steps 4, 7, 8).
    const operatorCommands = [...steps.matchAll(/sudo -u moxie ([^`]*)`/g)].map((match) => match[1]!);
    expect(operatorCommands.length).toBeGreaterThanOrEqual(4);
    for (const command of operatorCommands) expect(command).toStartWith(`moxie --env-file ${ENV_FILE} `);
    for (const verb of ["create-admin", "restore", "doctor", "users"]) {
      expect(operatorCommands.some((command) => command.includes(` ${verb}`))).toBe(true);
    }

    const dir = await installDir();
    const port = freePort();
    const { state, settings } = installedServer(port);
    const dbPath = join(state, "moxie.db");

    // The service: WorkingDirectory=/var/lib/moxie, MOXIE_ENV_FILE from the unit, `moxie serve`.
    const server = startServe([], { cwd: state, command: [join(dir, "moxie")], env: { MOXIE_ENV_FILE: settings } });
    const url = await listeningUrl(server);
    expect(url).toBe(`http://127.0.0.1:${port}`);
    // Step 4, from the operator's own directory.
    const home = tempDir("moxie-home-");
    const admin = await moxie(dir, ["--env-file", settings, "create-admin", "--email", "you@example.com", "--name", "You", "--password", PASSWORD], {}, home);
    expect(admin.stderr).toBe("");
    expect(admin.stdout).toBe("Created admin #1 you@example.com\n"); // the service's database, already there
    expect((await login(url, "you@example.com", PASSWORD)).status).toBe(200);
    // Step 6, as the backup unit runs it.
    const backups = join(state, "backups");
    mkdirSync(backups, { mode: 0o700 });
    const backup = await moxie(dir, ["backup", join(backups, "moxie-backup-test.db")], { MOXIE_ENV_FILE: settings }, state);
    expect(backup.code).toBe(0);
    // Step 8.
    const users = await moxie(dir, ["--env-file", settings, "users"], {}, home);
    expect(users.stdout).toContain("you@example.com");
    const doctor = await moxie(dir, ["--env-file", settings, "doctor"], {}, home);
    expect(doctor.stderr).toBe("");
    expect(doctor.code).toBe(0);
    expect(doctor.stdout).toContain(`chosen by     DATABASE_URL in ${settings}`);
    expect(doctor.stdout).toContain(`running (pid ${server.proc.pid})`);
    expect(await stopServer(server)).toBe(0);
    // Step 7.
    const restored = await moxie(dir, ["--env-file", settings, "restore", join(backups, "moxie-backup-test.db")], {}, home);
    expect(restored.code).toBe(0);
    expect(restored.stdout).toContain(`Restored ${dbPath} from`);
    expect(readdirSync(home)).toEqual([]);
    expect(emails(dbPath)).toEqual(["you@example.com"]);
  }, 120_000);
});

describe("the systemd units in deploy/", () => {
  /** A unit's text with the installed paths moved to this test's: the binary, the state directory, the settings file. */
  const relocate = (text: string, paths: { binary: string; state: string; settings: string }) =>
    text
      .replaceAll("/usr/local/bin/moxie", paths.binary)
      .replaceAll("/var/lib/moxie", paths.state)
      .replaceAll("/etc/moxie/moxie.env", paths.settings);
  const setting = (unit: string, key: string): string[] =>
    [...unit.matchAll(new RegExp(`^${key}=(.*)$`, "gm"))].map((match) => match[1]!);

  test("systemd-analyze verify accepts all three, with no warning", async () => {
    const dir = await installDir();
    const units = tempDir("moxie-units-");
    for (const name of ["moxie.service", "moxie-backup.service", "moxie-backup.timer"]) {
      const text = readFileSync(join(ROOT, "deploy", name), "utf8");
      writeFileSync(join(units, name), relocate(text, { binary: join(dir, "moxie"), state: "/var/lib/moxie", settings: "/etc/moxie/moxie.env" }));
    }
    // Installed by scripts/test-prerequisites.ts (Debian's systemd package) when missing.
    const verify = Bun.spawnSync(["systemd-analyze", "verify", "--man=no", "moxie.service", "moxie-backup.service", "moxie-backup.timer"], {
      cwd: units,
      env: cleanEnv({ SYSTEMD_LOG_COLOR: "0" }),
    });
    // Unknown keys, bad values, a missing binary: systemd-analyze prints them (some only as warnings).
    expect(verify.stderr.toString() + verify.stdout.toString()).toBe("");
    expect(verify.exitCode).toBe(0);
  });

  test("the backup unit's commands, as written: a checked backup named by the time, the newest 30 kept", async () => {
    const dir = await installDir();
    const { state, settings } = installedServer();
    expect((await moxie(dir, ["--env-file", settings, "create-admin", "--email", "you@example.com", "--name", "You", "--password", PASSWORD])).code).toBe(0);

    const unit = relocate(readFileSync(join(ROOT, "deploy/moxie-backup.service"), "utf8"), { binary: join(dir, "moxie"), state, settings });
    const timer = readFileSync(join(ROOT, "deploy/moxie-backup.timer"), "utf8");
    expect(setting(timer, "OnCalendar")).toHaveLength(1);
    expect(setting(timer, "Persistent")).toEqual(["true"]);
    const [workingDirectory] = setting(unit, "WorkingDirectory");
    expect(workingDirectory).toBe(state);
    const environment = Object.fromEntries(setting(unit, "Environment").map((pair) => pair.split("=", 2) as [string, string]));
    expect(environment).toEqual({ MOXIE_ENV_FILE: settings });

    // 31 older backups, oldest first by modification time (what `ls -t` sorts on).
    const backups = join(state, "backups");
    mkdirSync(backups, { mode: 0o700 });
    const old = Array.from({ length: 31 }, (_, i) => join(backups, `moxie-backup-2020010${Math.floor(i / 10)}T0000${String(i % 10).padStart(2, "0")}Z.db`));
    old.forEach((path, i) => {
      writeFileSync(path, "old");
      const at = new Date(Date.UTC(2020, 0, 1) + i * 60_000);
      utimesSync(path, at, at);
    });

    // ExecStartPre, ExecStart, ExecStartPost in order, each as systemd runs it (%% is a literal %).
    for (const key of ["ExecStartPre", "ExecStart", "ExecStartPost"]) {
      const commands = setting(unit, key);
      expect(commands.length).toBeGreaterThan(0);
      for (const command of commands) {
        const run = Bun.spawnSync(["/bin/sh", "-c", command.replaceAll("%%", "%")], {
          cwd: workingDirectory,
          env: cleanEnv(environment),
        });
        expect({ key, code: run.exitCode, stderr: run.stderr.toString() }).toEqual({ key, code: 0, stderr: "" });
        if (key === "ExecStart") expect(run.stdout.toString()).toMatch(/^Backup written: .*\/moxie-backup-\d{8}T\d{6}Z\.db \(/);
      }
    }
    const left = readdirSync(backups).sort();
    expect(left).toHaveLength(30);
    const fresh = left.filter((name) => !old.some((path) => path.endsWith(name)));
    expect(fresh).toHaveLength(1);
    expect(fresh[0]).toMatch(/^moxie-backup-\d{8}T\d{6}Z\.db$/);
    // The two oldest went; the fresh backup is a real, sound copy with the account in it.
    expect(existsSync(old[0]!)).toBe(false);
    expect(existsSync(old[1]!)).toBe(false);
    expect(existsSync(old[2]!)).toBe(true);
    expect(emails(join(backups, fresh[0]!))).toEqual(["you@example.com"]);
    expect(readExistingDb(join(backups, fresh[0]!), (db) => db.query("PRAGMA integrity_check").get())).toEqual({ integrity_check: "ok" });
  });
});

describe("doctor: problems fail it, advice does not", () => {
  test("right after the quick start in a checkout (a 0755 directory): exit 0, the directory listed as advice", async () => {
    const dir = await installDir();
    chmodSync(dir, 0o755); // a git clone's directory
    const port = freePort();
    const server = startServe(["--port", String(port)], { cwd: dir, command: ["./moxie"] }); // no SECRET_KEY: generated
    await listeningUrl(server);
    expect((await createAdmin(dir)).code).toBe(0);

    for (const when of ["running", "stopped"]) {
      const doctor = await moxie(dir, ["doctor"]);
      expect({ when, code: doctor.code, stderr: doctor.stderr }).toEqual({ when, code: 0, stderr: "" });
      expect(doctor.stdout).toContain("No problems.");
      expect(doctor.stdout).not.toContain("Problems");
      const advice = doctor.stdout.slice(doctor.stdout.indexOf("Advice (does not fail doctor; worth a look):"));
      expect(advice).toContain(`${dir} (the database directory) can be listed by group or other (mode 0755)`);
      expect(advice).toContain(`chmod 700 ${dir}`);
      if (when === "running") expect(await stopServer(server)).toBe(0);
    }
  }, 90_000);

  test("problems and advice are listed apart; problems alone decide the exit status", async () => {
    const dir = await installDir();
    chmodSync(dir, 0o755);
    expect((await createAdmin(dir)).code).toBe(0);
    const key = "cd".repeat(32);
    writeFileSync(join(dir, "moxie.db.secret"), `${key}\n`, { mode: 0o644 });
    const result = await moxie(dir, ["doctor"]);
    expect(result.code).toBe(1);
    expectOneLineError(result.stderr);
    expect(result.stderr).toContain("doctor found 1 problem");
    const problems = result.stdout.slice(result.stdout.indexOf("Problems (exit 1; fix these):"), result.stdout.indexOf("Advice"));
    expect(problems).toContain(`${join(dir, "moxie.db.secret")} is accessible by group or other (mode 0644)`);
    expect(problems).not.toContain("database directory");
    expect(result.stdout.slice(result.stdout.indexOf("Advice"))).toContain("(the database directory) can be listed");
    expect(result.stdout + result.stderr).not.toContain(key);

    chmodSync(join(dir, "moxie.db.secret"), 0o600);
    chmodSync(dir, 0o777); // anyone could replace the database: a problem, not advice
    const writable = await moxie(dir, ["doctor"]);
    expect(writable.code).toBe(1);
    expect(writable.stdout).toContain(`${dir} (the database directory) is writable by group or other (mode 0777): chmod 700 ${dir}`);
  }, 60_000);
});

describe("smaller things an operator trips on", () => {
  test("audit --prune-days -1 says what is wrong with the number (exit 2), and prunes nothing", async () => {
    const dir = await installDir();
    expect((await createAdmin(dir)).code).toBe(0);
    for (const value of ["-1", "0", "x"]) {
      const result = await moxie(dir, ["audit", "--prune-days", value]);
      expect(result.code).toBe(2);
      expectOneLineError(result.stderr);
      expect(result.stderr).toBe(`moxie: --prune-days: '${value}' is not a whole number from 1 to 36500\n`);
      expect(result.stderr).not.toContain("ambiguous");
    }
    expect((await moxie(dir, ["audit"])).stdout).toContain("1 event");
  }, 60_000);

  test("backup to an existing file or into a missing directory is bad input: exit 2, one sentence, nothing written", async () => {
    const dir = await installDir();
    expect((await createAdmin(dir)).code).toBe(0);
    writeFileSync(join(dir, "taken.db"), "keep me");
    const taken = await moxie(dir, ["backup", "taken.db"]);
    expect(taken.code).toBe(2);
    expectOneLineError(taken.stderr);
    expect(taken.stderr).toBe(`moxie: ${join(dir, "taken.db")} already exists; moxie never overwrites a file, choose another path\n`);
    expect(readFileSync(join(dir, "taken.db"), "utf8")).toBe("keep me");
    const missing = await moxie(dir, ["backup", "no/such/dir/b.db"]);
    expect(missing.code).toBe(2);
    expectOneLineError(missing.stderr);
    expect(missing.stderr).toContain(`the directory ${join(dir, "no/such/dir")} does not exist`);
    expect(existsSync(join(dir, "no"))).toBe(false);
  }, 60_000);

  test("two backups at once get distinct names (-2 when they share a second), not a refusal", async () => {
    const dir = await installDir();
    expect((await createAdmin(dir)).code).toBe(0);
    mkdirSync(join(dir, "backups"));
    // Both runs are started together, so they almost always share a second; the names must differ either way.
    const [first, second] = await Promise.all([moxie(dir, ["backup", "backups"]), moxie(dir, ["backup", "backups"])]);
    expect([first.code, second.code]).toEqual([0, 0]);
    const names = readdirSync(join(dir, "backups")).sort();
    expect(names).toHaveLength(2);
    for (const name of names) expect(name).toMatch(/^moxie-backup-\d{8}T\d{6}Z(-2)?\.db$/);
    for (const name of names) expect(emails(join(dir, "backups", name))).toEqual(["admin@example.com"]);
  }, 60_000);

  test("restore of a missing file, a directory or the database itself is bad input: exit 2, nothing restored", async () => {
    const dir = await installDir();
    expect((await createAdmin(dir)).code).toBe(0);
    mkdirSync(join(dir, "a-directory"));
    for (const [source, says] of [
      ["no-such-backup.db", `${join(dir, "no-such-backup.db")} does not exist; nothing was restored`],
      ["a-directory", `${join(dir, "a-directory")} is not a file; name a backup file`],
      ["moxie.db", `${join(dir, "moxie.db")} is the database itself; name a backup file`],
    ] as const) {
      const result = await moxie(dir, ["restore", source]);
      expect(result.code).toBe(2);
      expect(result.stderr).toBe(`moxie: ${says}\n`);
    }
    expect(emails(join(dir, "moxie.db"))).toEqual(["admin@example.com"]);
  }, 60_000);

  // Only root can hand a file to another user; CI and the deployment steps run as root.
  test.if(process.getuid?.() === 0)("root restoring for the service user leaves the database owned by that user; a backup root copied in is refused saying why, and restores after the chown", async () => {
    const dir = await installDir();
    const state = join(dir, "state");
    mkdirSync(state);
    chmodSync(dir, 0o755);
    chownSync(state, 65534, 65534); // nobody: the service user here
    const env = { SECRET_KEY: SECRET, DATABASE_URL: join(state, "moxie.db") };
    const asService = (args: string[]) =>
      runCli(["runuser", "-u", "nobody", "--", "env", `SECRET_KEY=${SECRET}`, `DATABASE_URL=${env.DATABASE_URL}`, join(dir, "moxie"), ...args], { cwd: dir, env: {}, command: [] });
    expect((await asService(["create-admin", "--email", "svc@example.com", "--name", "Svc", "--password", PASSWORD])).code).toBe(0);
    expect((await asService(["backup", join(state, "b.db")])).code).toBe(0);
    // The operator forgets `sudo -u moxie`.
    const restored = await moxie(dir, ["restore", join(state, "b.db")], env);
    expect(restored.code).toBe(0);
    expect(statSync(join(state, "moxie.db")).uid).toBe(65534);
    expect(readdirSync(state).filter((name) => name.endsWith("-wal") || name.endsWith("-shm"))).toEqual([]);
    const users = await asService(["users"]);
    expect({ code: users.code, stderr: users.stderr }).toEqual({ code: 0, stderr: "" });
    expect(users.stdout).toContain("svc@example.com");

    // The README's new-machine step: a backup copied in by root is root's and owner-only; the service user is
    // told why it cannot read it, and after the chown the step names, the restore works.
    const copied = join(state, "copied-in.db");
    copyFileSync(join(state, "b.db"), copied);
    chownSync(copied, 0, 0);
    chmodSync(copied, 0o600);
    const refused = await asService(["restore", copied]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`cannot open ${copied}: permission denied: this user (uid 65534) cannot read it`);
    chownSync(copied, 65534, 65534);
    expect((await asService(["restore", copied])).code).toBe(0);
  }, 60_000);

  test("restore of a backup too damaged to check: names the backup and the finding, nothing restored", async () => {
    const dir = await installDir();
    expect((await createAdmin(dir)).code).toBe(0);
    expect((await moxie(dir, ["backup", "good.db"])).code).toBe(0);
    // Overwrite part of the second page (the schema's tables live past the header page).
    const bytes = readFileSync(join(dir, "good.db"));
    bytes.fill(0xff, 4096 + 8, 4096 + 24);
    writeFileSync(join(dir, "broken.db"), bytes);
    const before = readFileSync(join(dir, "moxie.db"));
    const result = await moxie(dir, ["restore", "broken.db"]);
    expect(result.code).toBe(1);
    expectOneLineError(result.stderr);
    // SQLite's first finding, on the one line (it reports several, some in one multi-line row).
    expect(result.stderr).toMatch(new RegExp(`^moxie: ${join(dir, "broken.db")} fails the integrity check: (database disk image is malformed|Tree \\d+ page \\d+)`));
    expect(readFileSync(join(dir, "moxie.db")).equals(before)).toBe(true);
  }, 60_000);

  test("an empty file where the database should be is not a database: read commands refuse, and leave it empty", async () => {
    const dir = await installDir();
    writeFileSync(join(dir, "moxie.db"), "");
    for (const args of [["users"], ["audit"], ["backup", "b.db"], ["migrate", "--status"], ["migrate"]]) {
      const result = await moxie(dir, args);
      expect({ args, code: result.code }).toEqual({ args, code: 1 });
      expectOneLineError(result.stderr);
      expect(result.stderr).toContain(`${join(dir, "moxie.db")} is an empty file (0 bytes), not a database`);
      expect(readFileSync(join(dir, "moxie.db")).length).toBe(0);
    }
    expect(existsSync(join(dir, "b.db"))).toBe(false);
    const doctor = await moxie(dir, ["doctor"]);
    expect(doctor.code).toBe(1);
    expect(doctor.stdout).toContain("is an empty file (0 bytes), not a database: restore a backup, or remove it to start anew");
    expect(doctor.stdout).not.toContain("pending");
    // create-admin makes it the database, owner-only like one it creates (the empty file was 0644).
    chmodSync(join(dir, "moxie.db"), 0o644);
    expect((await createAdmin(dir)).code).toBe(0);
    expect(statSync(join(dir, "moxie.db")).mode & 0o777).toBe(0o600);
  }, 60_000);

  test("GET / points to the console and the docs that are enabled, instead of a bare 404", async () => {
    const dir = await installDir();
    const server = startServe(["--port", "0"], { cwd: dir, command: ["./moxie"], env: { SECRET_KEY: SECRET } });
    const url = await listeningUrl(server);
    const root = await fetch(`${url}/`);
    expect(root.status).toBe(200);
    expect(root.headers.get("content-type")).toContain("application/json");
    const links = (await root.json()) as Record<string, string>;
    expect(links).toEqual({ service: "moxie", console: "/console/", docs: "/docs", openapi: "/openapi.json", health: "/health" });
    for (const path of [links.console, links.docs, links.openapi, links.health]) expect((await fetch(`${url}${path}`)).status).toBe(200);
    expect(await stopServer(server)).toBe(0);

    const bare = startServe(["--port", "0"], { cwd: dir, command: ["./moxie"], env: { SECRET_KEY: SECRET, DOCS: "false", CONSOLE: "false" } });
    const bareUrl = await listeningUrl(bare);
    expect(await (await fetch(`${bareUrl}/`)).json()).toEqual({ service: "moxie", health: "/health" });
    expect((await fetch(`${bareUrl}/nothing-here`)).status).toBe(404);
    expect(await stopServer(bare)).toBe(0);
  }, 60_000);

  test("a checkout stays clean: what serve, backup and restore leave beside the database is ignored by .gitignore", async () => {
    const dir = await installDir();
    copyFileSync(join(ROOT, ".gitignore"), join(dir, ".gitignore"));
    const git = (args: string[]) => Bun.spawnSync(["git", ...args], { cwd: dir, env: cleanEnv({ GIT_CONFIG_NOSYSTEM: "1" }) });
    expect(git(["init", "-q"]).exitCode).toBe(0);
    expect((await createAdmin(dir)).code).toBe(0);
    const server = startServe(["--port", "0"], { cwd: dir, command: ["./moxie"] });
    await listeningUrl(server);
    expect((await moxie(dir, ["backup"])).code).toBe(0); // moxie-backup-<UTC>.db beside the database
    expect(await stopServer(server)).toBe(0);
    const backup = readdirSync(dir).find((name) => name.startsWith("moxie-backup-"))!;
    expect((await moxie(dir, ["restore", backup])).code).toBe(0); // leaves moxie.db.before-restore-<UTC>
    const left = readdirSync(dir);
    expect(left.some((name) => name.includes(".before-restore-"))).toBe(true);
    expect(left).toContain("moxie.db.secret");
    const status = git(["status", "--porcelain", "--untracked-files=all"]);
    expect(status.stdout.toString()).toBe("?? .gitignore\n");
  }, 90_000);
});
