// Backups off the machine, on the compiled binary against a real S3 API server (s3rver, started here on
// 127.0.0.1): the README's new-machine steps as written, retention, every failure as one line with nothing
// under the copy's name, a copy that changed after upload refused with the database untouched, doctor's look
// at the newest copy, the backup unit pushing off the machine, and no credential in any output or log.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { Database } from "bun:sqlite";
import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, tempDir } from "./helpers.ts";
import { binaryAloneIn } from "./support/binary.ts";
import {
  cleanEnv,
  expectOneLineError,
  freePort,
  listeningUrl,
  login,
  readExistingDb,
  runCli,
  startServe,
  type Env,
  type RunResult,
} from "./support/processes.ts";
import { S3_TEST_KEY_ID, S3_TEST_SECRET, startS3Server, testClient, type S3TestServer } from "./support/s3-server.ts";

setDefaultTimeout(60_000);

const FIXTURE = join(ROOT, "test/fixtures/original-era.sqlite");
const SECRET_KEY = "offsite-test-secret-key-0123456789abcdef-0123456789";
const ACCOUNTS = [
  { email: "admin@example.com", password: "AdminPass#2026" },
  { email: "ana@example.com", password: "AnaPass#2026" },
];
const INACTIVE = { email: "ivan@example.com", password: "IvanPass#2026" };
const BUCKET = "moxie-backups";

let binary: string;
beforeAll(async () => {
  binary = await binaryAloneIn();
}, 180_000);

/** Everything a run printed, for the sweep: neither half of the key pair may be in it. */
const seen: string[] = [];

async function moxie(cwd: string, args: string[], env: Env = {}): Promise<RunResult> {
  const result = await runCli(args, { cwd, env, command: [binary], timeoutMs: 40_000 });
  seen.push(result.stdout, result.stderr);
  return result;
}

function expectNoCredentials(...texts: string[]): void {
  for (const text of [...texts, ...seen]) {
    expect(text).not.toContain(S3_TEST_SECRET);
    expect(text).not.toContain(S3_TEST_KEY_ID);
  }
}

/** The settings block the README gives for Cloudflare R2, with this server's address and keys. */
function readmeR2Settings(server: S3TestServer): string {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const at = readme.indexOf("<!-- offhost-settings:");
  expect(at).toBeGreaterThan(-1);
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(at))![1]!;
  return block
    .replace("https://<account id>.r2.cloudflarestorage.com", server.endpoint)
    .replace("<access key id>", S3_TEST_KEY_ID)
    .replace("<secret access key>", S3_TEST_SECRET);
}

/** A host's files: a state directory (0700) and a settings file (0640) naming its database, plus `extra`. */
function host(extra: string): { state: string; settings: string; db: string } {
  const root = tempDir("moxie-offsite-host-");
  const state = join(root, "var/lib/moxie");
  mkdirSync(state, { recursive: true, mode: 0o700 });
  mkdirSync(join(root, "etc/moxie"), { recursive: true });
  const settings = join(root, "etc/moxie/moxie.env");
  writeFileSync(settings, `DATABASE_URL=sqlite:///${state}/moxie.db\nSECRET_KEY=${SECRET_KEY}\n${extra}`, { mode: 0o640 });
  return { state, settings, db: join(state, "moxie.db") };
}

/** The S3 settings as environment variables, for tests that do not need a settings file. */
function s3Env(server: S3TestServer, extra: Env = {}): Env {
  return { S3_ENDPOINT: server.endpoint, S3_ACCESS_KEY_ID: S3_TEST_KEY_ID, S3_SECRET_ACCESS_KEY: S3_TEST_SECRET, S3_BUCKET: BUCKET, ...extra };
}

/** A directory with an original-era database (the Python original's file, its tables included). */
function originalDeployment(): { dir: string; db: string } {
  const dir = tempDir("moxie-offsite-");
  const db = join(dir, "moxie.db");
  copyFileSync(FIXTURE, db);
  chmodSync(db, 0o600);
  return { dir, db };
}

/** The fixture's own rows, read from a copy: a read-only open of a WAL file would leave -wal/-shm in test/fixtures. */
let fixtureRows: Record<string, unknown[]> | undefined;
function fixtureTables(): Record<string, unknown[]> {
  if (fixtureRows === undefined) {
    const copy = join(tempDir("moxie-offsite-fixture-"), "original-era.sqlite");
    copyFileSync(FIXTURE, copy);
    fixtureRows = originalTables(copy);
  }
  return fixtureRows;
}

/** The original's own tables, as rows, to compare a restored file with what was backed up. */
function originalTables(path: string): Record<string, unknown[]> {
  return readExistingDb(path, (db) =>
    Object.fromEntries(["buildings", "units", "scrape_runs", "alembic_version"].map((table) => [table, db.query(`SELECT * FROM ${table} ORDER BY rowid`).all()])),
  );
}

async function keysUnder(server: S3TestServer, prefix: string): Promise<string[]> {
  const listing = await testClient(server).list({ prefix });
  return (listing.contents ?? []).map((entry) => entry.key).sort();
}

describe("README: Backups off the machine", () => {
  test("the new-machine steps run as written: the copy goes up, comes back on a host with no database, and every account signs in", async () => {
    const s3dir = tempDir("moxie-s3-");
    const server = await startS3Server(s3dir, { buckets: [BUCKET] });
    try {
      const settingsBlock = readmeR2Settings(server);
      const old = host(settingsBlock);
      copyFileSync(FIXTURE, old.db); // a host that switched from the Python original: its tables are in the file
      chmodSync(old.db, 0o600);
      const fresh = host(settingsBlock);
      const tmp = tempDir("moxie-offsite-tmp-");

      const readme = readFileSync(join(ROOT, "README.md"), "utf8");
      const at = readme.indexOf("<!-- offhost-steps:");
      expect(at).toBeGreaterThan(-1);
      const lines = /```sh\n([\s\S]*?)```/.exec(readme.slice(at))![1]!.split("\n");
      let machine = old;
      const outputs: Array<{ line: string; stdout: string }> = [];
      let url = "";
      let serverProc: ReturnType<typeof startServe> | undefined;
      const port = freePort();
      for (const raw of lines) {
        if (raw.startsWith("# On the new machine")) machine = fresh;
        if (raw.trim() === "" || raw.trimStart().startsWith("#")) continue;
        // Only the paths move to this test's; the running user is the test's own (sudo -u moxie, -o/-g moxie).
        const line = raw
          .replaceAll("sudo -u moxie moxie", binary)
          .replaceAll("/etc/moxie/moxie.env", machine.settings)
          .replaceAll("/var/lib/moxie", machine.state)
          .replace("-o moxie -g moxie ", "");
        if (line === "systemctl start moxie") {
          // As deploy/moxie.service runs it: in the state directory, with the settings file named.
          serverProc = startServe([], { cwd: machine.state, command: [binary], env: { MOXIE_ENV_FILE: machine.settings, PORT: String(port) } });
          url = await listeningUrl(serverProc);
          continue;
        }
        const run = Bun.spawnSync(["bash", "-c", line], { cwd: tempDir("moxie-operator-"), env: cleanEnv({ TMPDIR: tmp }), stdout: "pipe", stderr: "pipe" });
        const stdout = run.stdout.toString();
        seen.push(stdout, run.stderr.toString());
        expect({ line, code: run.exitCode, stderr: run.stderr.toString() }).toEqual({ line, code: 0, stderr: "" });
        outputs.push({ line: raw, stdout });
      }
      const of = (verb: string) => outputs.find((output) => output.line.includes(` ${verb}`))!.stdout;

      // Old machine: the copy and its checksum, named by the time, under the configured prefix.
      expect(of("backup --off-host")).toMatch(/^Backup uploaded: s3:\/\/moxie-backups\/moxie\/moxie-backup-\d{8}T\d{6}Z\.db \([\d.]+ KiB, \d+ bytes\)\nsha256 [0-9a-f]{64} /);
      const keys = await keysUnder(server, "moxie/");
      expect(keys).toHaveLength(2);
      expect(keys[1]).toBe(`${keys[0]}.sha256`);
      const name = keys[0]!.slice("moxie/".length);
      const sha = /sha256 ([0-9a-f]{64})/.exec(of("backup --off-host"))![1]!;
      expect(await testClient(server).file(`${keys[0]}.sha256`).text()).toBe(`${sha}  ${name}\n`);
      expect(of("backups")).toContain("s3://moxie-backups/moxie/: 1 copy, newest first");
      expect(of("backups")).toMatch(new RegExp(`${name.replaceAll(".", "\\.")}\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\s+[\\d.]+ KiB\\s+sha256`));

      // New machine: restored from the object, adopted, everyone signed in with their passwords.
      const restored = of("restore --latest");
      expect(restored).toContain(`The newest copy under s3://moxie-backups/moxie/ is ${name}`);
      expect(restored).toContain(`Downloaded s3://moxie-backups/moxie/${name}`);
      expect(restored).toContain(`its sha256 matches s3://moxie-backups/moxie/${name}.sha256`);
      expect(restored).toContain(`Restored ${fresh.db} from s3://moxie-backups/moxie/${name} (3 users)`);
      expect(restored).toContain(`There was no previous database; wrote a new one at ${fresh.db} (DATABASE_URL in ${fresh.settings})`);
      expect(restored).toContain("Signed everyone out");
      expect(restored).not.toContain(tmp); // the temp file is never named
      expect(readdirSync(tmp)).toEqual([]); // and is gone
      expect(of("doctor")).toContain(`newest        ${name}, `);
      expect(of("doctor")).toContain("No problems.");
      // The original's tables came along, row for row.
      expect(originalTables(fresh.db)).toEqual(fixtureTables());
      for (const account of ACCOUNTS) expect({ account: account.email, status: (await login(url, account.email, account.password)).status }).toEqual({ account: account.email, status: 200 });
      const inactive = await login(url, INACTIVE.email, INACTIVE.password);
      expect(await inactive.json()).toEqual({ detail: "Account is inactive" });
      seen.push(serverProc!.stdout(), serverProc!.stderr());
      expectNoCredentials();
    } finally {
      await server.stop();
    }
  }, 120_000);
});

describe("moxie backup s3://…", () => {
  test("--keep N keeps the newest N copies moxie named (and their checksums), and leaves other objects alone; restore of one key works", async () => {
    const s3dir = tempDir("moxie-s3-");
    const server = await startS3Server(s3dir, { buckets: [BUCKET] });
    try {
      const { dir, db } = originalDeployment();
      const env = s3Env(server);
      const client = testClient(server);
      await client.write("office/notes.txt", "not a backup");
      await client.write("office/moxie-before-switch.db", "kept by hand");
      await client.write("office/deeper/moxie-backup-20200101T000000Z.db", "in a folder below");
      const made: string[] = [];
      for (let i = 0; i < 4; i++) {
        const run = await moxie(dir, ["backup", "s3://moxie-backups/office/", "--keep", "2"], env);
        expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
        made.push(/Backup uploaded: s3:\/\/moxie-backups\/(\S+)/.exec(run.stdout)![1]!);
        if (i >= 2) expect(run.stdout).toMatch(/Kept the newest 2 under s3:\/\/moxie-backups\/office\/; deleted 1: moxie-backup-/);
      }
      // Four copies made (in one or two seconds: -2, -3 … within a second); the newest two are left.
      expect(new Set(made).size).toBe(4);
      const newest = made.slice(2);
      expect(await keysUnder(server, "office/")).toEqual(
        [...newest, ...newest.map((key) => `${key}.sha256`), "office/deeper/moxie-backup-20200101T000000Z.db", "office/moxie-before-switch.db", "office/notes.txt"].sort(),
      );
      const listed = await moxie(dir, ["backups", "s3://moxie-backups/office/"], env);
      expect(listed.code).toBe(0);
      const names = listed.stdout.split("\n").filter((line) => line.startsWith("  moxie-")).map((line) => line.trim().split(/\s+/)[0]);
      // Newest first as the storage dates them; the hand-made one has no checksum.
      expect(names).toContain("moxie-before-switch.db");
      expect(listed.stdout).toMatch(/moxie-before-switch\.db .* none\n/);
      expect(names.filter((n) => n !== "moxie-before-switch.db")).toEqual(newest.map((key) => key.slice("office/".length)).reverse());

      const restored = await moxie(dir, ["restore", `s3://moxie-backups/${newest[0]}`], { ...env, TMPDIR: tempDir("moxie-offsite-tmp-") });
      expect({ code: restored.code, stderr: restored.stderr }).toEqual({ code: 0, stderr: "" });
      expect(restored.stdout).toContain(`Restored ${db} from s3://moxie-backups/${newest[0]} (3 users)`);
      expect(originalTables(db)).toEqual(fixtureTables());

      for (const keep of ["0", "-1", "two"]) {
        const bad = await moxie(dir, ["backup", "s3://moxie-backups/office/", "--keep", keep], env);
        expect({ keep, code: bad.code }).toEqual({ keep, code: 2 });
        expectOneLineError(bad.stderr);
        expect(bad.stderr).toContain("--keep");
      }
      // A copy dated ahead (another host's clock) cannot push out the copy just made.
      await client.write("ahead/moxie-backup-20991231T235959Z.db", "from a clock ahead");
      await client.write("ahead/moxie-backup-20991231T235959Z.db.sha256", "0".repeat(64));
      const ahead = await moxie(dir, ["backup", "s3://moxie-backups/ahead/", "--keep", "1"], env);
      expect(ahead.code).toBe(0);
      const kept = /Backup uploaded: s3:\/\/moxie-backups\/(\S+)/.exec(ahead.stdout)![1]!;
      expect(await keysUnder(server, "ahead/")).toEqual([kept, `${kept}.sha256`]);

      const object = await moxie(dir, ["backup", "s3://moxie-backups/office/copy.db"], env);
      expect(object.code).toBe(2);
      expect(object.stderr).toContain("names an object; name a prefix ending in '/'");
      expectNoCredentials();
    } finally {
      await server.stop();
    }
  }, 90_000);

  test("each failure is one line, exit 1 (2 for missing credentials), and nothing is stored: wrong key, missing bucket, no server", async () => {
    const s3dir = tempDir("moxie-s3-");
    const server = await startS3Server(s3dir, { buckets: [BUCKET] });
    try {
      const { dir } = originalDeployment();
      const cases: Array<{ what: string; env: Env; target: string; code: number; says: string }> = [
        {
          what: "wrong access key id",
          env: s3Env(server, { S3_ACCESS_KEY_ID: "AKIANOTAKEY000000000" }),
          target: "s3://moxie-backups/office/",
          code: 1,
          says: `cannot list s3://moxie-backups/office/: ${server.endpoint} refused the credentials (InvalidAccessKeyId); check S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY; nothing was uploaded`,
        },
        {
          what: "a bucket that does not exist",
          env: s3Env(server),
          target: "s3://no-such-bucket/office/",
          code: 1,
          says: `the bucket no-such-bucket does not exist at ${server.endpoint}`,
        },
        {
          what: "no credentials",
          env: { S3_ENDPOINT: server.endpoint },
          target: "s3://moxie-backups/office/",
          code: 2,
          says: "no S3 credentials: set S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY (or the AWS_* spelling) in the environment or the settings file; nothing was uploaded",
        },
        {
          what: "nothing listening at the endpoint",
          env: s3Env(server, { S3_ENDPOINT: `http://127.0.0.1:${freePort()}` }),
          target: "s3://moxie-backups/office/",
          code: 1,
          says: "(ConnectionRefused); check the network and S3_ENDPOINT; nothing was uploaded",
        },
      ];
      for (const { what, env, target, code, says } of cases) {
        const run = await moxie(dir, ["backup", target], env);
        expect({ what, code: run.code, stdout: run.stdout }).toEqual({ what, code, stdout: "" });
        expectOneLineError(run.stderr);
        expect(run.stderr).toContain(says);
      }
      // The AWS_* spelling works the same, and a wrong one is named by its own name.
      const aws = await moxie(dir, ["backup", "s3://moxie-backups/office/"], {
        AWS_ENDPOINT: server.endpoint,
        AWS_ACCESS_KEY_ID: "AKIANOTAKEY000000000",
        AWS_SECRET_ACCESS_KEY: S3_TEST_SECRET,
      });
      expect(aws.code).toBe(1);
      expect(aws.stderr).toContain("check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
      expect(await keysUnder(server, "")).toEqual([]);
      expectNoCredentials();
    } finally {
      await server.stop();
    }
  });

  test("a storage that quotes the key id in its refusal (some S3-compatible servers do): the line says why, with the key taken out", async () => {
    // s3rver never quotes a credential, so this one answer comes from a stand-in on 127.0.0.1.
    const quoting = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: () =>
        new Response(
          `<?xml version="1.0" encoding="UTF-8"?><Error><Code>Forbidden</Code><Message>No such key: ${S3_TEST_KEY_ID}</Message></Error>`,
          { status: 403, headers: { "content-type": "application/xml" } },
        ),
    });
    try {
      const { dir } = originalDeployment();
      const run = await moxie(dir, ["backup", "s3://moxie-backups/office/"], s3Env({ endpoint: `http://127.0.0.1:${quoting.port}` } as S3TestServer));
      expect(run.code).toBe(1);
      expectOneLineError(run.stderr);
      expect(run.stderr).toContain("Forbidden: No such key: [redacted]");
      expectNoCredentials();
    } finally {
      quoting.stop(true);
    }
  });

  test("a server that dies in the middle of a multipart upload: exit 1 with one line, and no object under the copy's name", async () => {
    const { dir, db } = originalDeployment();
    // The original's scrape data, grown past two 5 MiB parts (random text: nothing for VACUUM to shrink).
    const grow = new Database(db);
    const insert = grow.prepare(
      "INSERT INTO units (building_id, unit_number, bed_type, rent_cents, availability_date, floor_plan_url, scrape_run_at) VALUES (1, ?, '1BR', 250000, '2026-12-01', ?, '2026-11-30 05:00:00')",
    );
    grow.transaction(() => {
      for (let i = 0; i < 3000; i++) insert.run(`pad-${i}`, Buffer.from(crypto.getRandomValues(new Uint8Array(2048))).toString("hex"));
    })();
    grow.close();

    const s3dir = tempDir("moxie-s3-");
    const dying = await startS3Server(s3dir, { buckets: [BUCKET], dieAtPart: 2 });
    const run = await moxie(dir, ["backup", "s3://moxie-backups/office/"], { ...s3Env(dying), TMPDIR: tempDir("moxie-offsite-tmp-") });
    await dying.proc.exited;
    expect(dying.proc.signalCode).toBe("SIGKILL"); // it did die, in the middle
    expect(dying.requests().some((line) => /^POST \/moxie-backups\/office\/moxie-backup-\S+\.db\?uploads/.test(line))).toBe(true);
    expect(dying.requests().some((line) => /^PUT .*partNumber=2/.test(line))).toBe(true);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expectOneLineError(run.stderr);
    expect(run.stderr).toMatch(/cannot upload s3:\/\/moxie-backups\/office\/moxie-backup-\d{8}T\d{6}Z\.db: cannot reach .* \((Connection\w+|E[A-Z]+)\); .* no copy was stored under s3:\/\/moxie-backups\/office\//);

    // Started again on what it kept: no copy under its name, and `moxie backups` shows none.
    const again = await startS3Server(s3dir, { buckets: [BUCKET] });
    try {
      const keys = await keysUnder(again, "office/");
      expect(keys.filter((key) => key.endsWith(".db"))).toEqual([]);
      const listed = await moxie(dir, ["backups", "s3://moxie-backups/office/"], s3Env(again));
      expect(listed.stdout).toBe("s3://moxie-backups/office/: no copies\n");
      // The next night's run works and leaves exactly one copy with its checksum.
      const next = await moxie(dir, ["backup", "s3://moxie-backups/office/", "--keep", "30"], s3Env(again));
      expect({ code: next.code, stderr: next.stderr }).toEqual({ code: 0, stderr: "" });
      expect(next.stdout).toMatch(/\(1[0-9]\.\d MiB, \d+ bytes\)/);
      // The checksum the dead server kept from the failed upload went with it.
      const copy = /Backup uploaded: s3:\/\/moxie-backups\/(\S+)/.exec(next.stdout)![1]!;
      expect(await keysUnder(again, "office/")).toEqual([copy, `${copy}.sha256`]);
      expectNoCredentials();
    } finally {
      await again.stop();
    }
  }, 90_000);

  test("a storage that fails a part: the multipart upload is aborted, exit 1, no object and no checksum left", async () => {
    const { dir, db } = originalDeployment();
    const grow = new Database(db);
    grow.run("CREATE TABLE padding (blob TEXT)");
    const insert = grow.prepare("INSERT INTO padding VALUES (?)");
    grow.transaction(() => {
      for (let i = 0; i < 1600; i++) insert.run(Buffer.from(crypto.getRandomValues(new Uint8Array(4096))).toString("base64"));
    })();
    grow.close();
    const server = await startS3Server(tempDir("moxie-s3-"), { buckets: [BUCKET], failAtPart: 2 });
    try {
      const run = await moxie(dir, ["backup", "s3://moxie-backups/office/"], s3Env(server));
      expect(run.code).toBe(1);
      expectOneLineError(run.stderr);
      expect(run.stderr).toContain("InternalError");
      expect(run.stderr).toContain("no copy was stored under s3://moxie-backups/office/");
      // Bun's writer sent AbortMultipartUpload for the upload it began.
      const begun = server.requests().find((line) => /^PUT .*partNumber=1&uploadId=/.test(line))!;
      const uploadId = /uploadId=(\w+)/.exec(begun)![1]!;
      expect(server.requests().some((line) => line.startsWith("DELETE ") && line.includes(`uploadId=${uploadId}`))).toBe(true);
      expect(await keysUnder(server, "office/")).toEqual([]);
    } finally {
      await server.stop();
    }
  }, 60_000);
});

describe("moxie restore s3://…", () => {
  test("a copy that changed after upload (still a sound database) or is not a database is refused; the database stays byte for byte", async () => {
    const server = await startS3Server(tempDir("moxie-s3-"), { buckets: [BUCKET] });
    try {
      const { dir, db } = originalDeployment();
      const tmp = tempDir("moxie-offsite-tmp-");
      const env = { ...s3Env(server), TMPDIR: tmp };
      const made = await moxie(dir, ["backup", "s3://moxie-backups/office/"], env);
      expect(made.code).toBe(0);
      const key = /Backup uploaded: s3:\/\/moxie-backups\/(\S+)/.exec(made.stdout)![1]!;
      const client = testClient(server);

      // One letter of the admin's name changed: SQLite's checks pass, only the checksum tells.
      const bytes = new Uint8Array(await client.file(key).arrayBuffer());
      const text = Buffer.from(bytes).toString("latin1");
      const at = text.indexOf("Office Admin");
      expect(at).toBeGreaterThan(-1);
      bytes[at + "Office Admi".length] = "m".charCodeAt(0);
      await client.write(key, bytes);
      const altered = join(tempDir("moxie-offsite-altered-"), "altered.db");
      writeFileSync(altered, bytes);
      expect(readExistingDb(altered, (copy) => copy.query("PRAGMA integrity_check").get())).toEqual({ integrity_check: "ok" });

      const before = readFileSync(db);
      const refused = await moxie(dir, ["restore", `s3://moxie-backups/${key}`], env);
      expect(refused.code).toBe(1);
      expect(refused.stdout).toBe("");
      expectOneLineError(refused.stderr);
      expect(refused.stderr).toContain(`s3://moxie-backups/${key} does not match its checksum`);
      expect(refused.stderr).toContain("nothing was restored");
      const latest = await moxie(dir, ["restore", "--latest", "s3://moxie-backups/office/"], env);
      expect(latest.code).toBe(1);
      expect(latest.stderr).toContain("does not match its checksum");
      expect(readFileSync(db).equals(before)).toBe(true);
      expect(readdirSync(dir).sort()).toEqual(["moxie.db"]);
      expect(readdirSync(tmp)).toEqual([]);

      // Not a database at all, with a checksum that matches: refused by the checks a local restore makes.
      const junk = "office/moxie-backup-20991231T000000Z.db";
      await client.write(junk, "hello, not a database\n".repeat(300));
      await client.write(`${junk}.sha256`, `${new Bun.CryptoHasher("sha256").update("hello, not a database\n".repeat(300)).digest("hex")}  x\n`);
      const notDb = await moxie(dir, ["restore", `s3://moxie-backups/${junk}`], env);
      expect(notDb.code).toBe(2); // a file that is no database is bad input, as for a local restore
      expectOneLineError(notDb.stderr);
      expect(notDb.stderr).toContain(`s3://moxie-backups/${junk}`);
      expect(notDb.stderr).not.toContain(tmp);
      // A copy without its checksum, and one that is not there.
      await client.write("office/by-hand.db", bytes);
      const unchecked = await moxie(dir, ["restore", "s3://moxie-backups/office/by-hand.db"], env);
      expect(unchecked.code).toBe(1);
      expect(unchecked.stderr).toContain("has no checksum beside it");
      const missing = await moxie(dir, ["restore", "s3://moxie-backups/office/gone.db"], env);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain("s3://moxie-backups/office/gone.db does not exist; nothing was restored");
      expect(readFileSync(db).equals(before)).toBe(true);
      expect(readdirSync(dir).sort()).toEqual(["moxie.db"]);
      expect(readdirSync(tmp)).toEqual([]);
      expectNoCredentials();
    } finally {
      await server.stop();
    }
  }, 60_000);
});

describe("moxie doctor and the backup unit, with S3_BUCKET set", () => {
  test("the unit's off-host step uploads to s3://$S3_BUCKET/moxie/; doctor shows the copy, and a problem once it is older than two days", async () => {
    const server = await startS3Server(tempDir("moxie-s3-"), { buckets: [BUCKET] });
    try {
      const machine = host(readmeR2Settings(server));
      copyFileSync(FIXTURE, machine.db);
      chmodSync(machine.db, 0o600);
      const unit = readFileSync(join(ROOT, "deploy/moxie-backup.service"), "utf8");
      const offHost = [...unit.matchAll(/^ExecStartPost=(.*moxie backup --off-host.*)$/gm)].map((match) => match[1]!);
      expect(offHost).toHaveLength(1);
      const command = offHost[0]!.replace("/usr/local/bin/moxie", binary);
      // As systemd runs it: in the state directory, MOXIE_ENV_FILE from the unit.
      const pushed = Bun.spawnSync(["/bin/sh", "-c", command], { cwd: machine.state, env: cleanEnv({ MOXIE_ENV_FILE: machine.settings }) });
      seen.push(pushed.stdout.toString(), pushed.stderr.toString());
      expect({ code: pushed.exitCode, stderr: pushed.stderr.toString() }).toEqual({ code: 0, stderr: "" });
      const key = (await keysUnder(server, "moxie/")).find((k) => k.endsWith(".db"))!;
      expect(key).toMatch(/^moxie\/moxie-backup-\d{8}T\d{6}Z\.db$/);

      const doctor = await moxie(machine.state, ["--env-file", machine.settings, "doctor"]);
      expect(doctor.stdout).toContain(`location      s3://moxie-backups/moxie/ at ${server.endpoint}`);
      expect(doctor.stdout).toContain(`newest        ${key.slice("moxie/".length)}, `);
      expect(doctor.stdout).toContain("S3_SECRET_ACCESS_KEY            set");
      expect(doctor.stdout).not.toContain("off-host copy");

      // The nightly push stopped three days ago: the newest copy there is one taken then.
      const client = testClient(server);
      await client.delete(key);
      await client.delete(`${key}.sha256`);
      const stamp = new Date(Date.now() - 3 * 24 * 3600 * 1000).toISOString().replace(/\.\d{3}Z$/, "Z").replace(/[-:]/g, "");
      const old = `moxie/moxie-backup-${stamp}.db`;
      await client.write(old, "a copy taken three days ago");
      await client.write(`${old}.sha256`, `${"0".repeat(64)}  moxie-backup-${stamp}.db\n`);
      const stale = await moxie(machine.state, ["--env-file", machine.settings, "doctor"]);
      expect(stale.code).toBe(1);
      expect(stale.stdout).toContain(`the newest off-host copy (s3://moxie-backups/${old}) is 3 days old, older than two days`);
      expectNoCredentials();
    } finally {
      await server.stop();
    }
  }, 60_000);

  test("doctor does not wait long for storage that never answers: it says so, and exits 1", async () => {
    // Accepts connections and never says a word.
    const silent = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      const machine = host(`S3_BUCKET=${BUCKET}\nS3_ENDPOINT=http://127.0.0.1:${silent.port}\nS3_ACCESS_KEY_ID=${S3_TEST_KEY_ID}\nS3_SECRET_ACCESS_KEY=${S3_TEST_SECRET}\n`);
      copyFileSync(FIXTURE, machine.db);
      chmodSync(machine.db, 0o600);
      // runCli kills it at 40 s: this detects a hang, it is not a speed limit.
      const doctor = await moxie(machine.state, ["--env-file", machine.settings, "doctor"]);
      expect(doctor.code).toBe(1);
      expect(doctor.stdout).toContain(`cannot check the off-host copies: cannot list s3://moxie-backups/moxie/: http://127.0.0.1:${silent.port} did not answer within 10 s`);
      expectNoCredentials();
    } finally {
      silent.stop(true);
    }
  }, 60_000);

  test("without S3_BUCKET the unit's off-host step says so and succeeds; doctor says it is not configured, with no problem for it", async () => {
    const machine = host("");
    copyFileSync(FIXTURE, machine.db);
    chmodSync(machine.db, 0o600);
    const run = await moxie(machine.state, ["backup", "--off-host", "--keep", "30"], { MOXIE_ENV_FILE: machine.settings });
    expect({ code: run.code, stdout: run.stdout, stderr: run.stderr }).toEqual({
      code: 0,
      stdout: 'No off-host copy made: S3_BUCKET is not set (see "Backups off the machine" in the README)\n',
      stderr: "",
    });
    const doctor = await moxie(machine.state, ["--env-file", machine.settings, "doctor"]);
    expect(doctor.stdout).toContain("location      not configured (S3_BUCKET is not set)");
    expect(doctor.stdout).not.toContain("off-host copy");
  });
});

describe("moxie backups and restore --latest, on this machine", () => {
  test("lists the copies beside the database and in its backups/ newest first (by the time in their names), and restores the newest", async () => {
    const { dir, db } = originalDeployment();
    mkdirSync(join(dir, "backups"), { mode: 0o700 });
    for (const stamp of ["20260101T000000Z", "20260301T000000Z", "20260201T000000Z"]) {
      const made = await moxie(dir, ["backup", `backups/moxie-backup-${stamp}.db`]);
      expect(made.code).toBe(0);
    }
    writeFileSync(join(dir, "backups", "notes.db"), "not a database"); // a *.db that is no SQLite file is not listed
    const listed = await moxie(dir, ["backups"]);
    expect({ code: listed.code, stderr: listed.stderr }).toEqual({ code: 0, stderr: "" });
    expect(listed.stdout).toContain(`${dir}/: no copies\n`);
    expect(listed.stdout).toContain(`${join(dir, "backups")}/: 3 copies, newest first\n`);
    const names = listed.stdout.split("\n").filter((line) => line.startsWith("  moxie-")).map((line) => line.trim().split(/\s+/).slice(0, 3).join(" "));
    expect(names).toEqual([
      "moxie-backup-20260301T000000Z.db 2026-03-01 00:00:00",
      "moxie-backup-20260201T000000Z.db 2026-02-01 00:00:00",
      "moxie-backup-20260101T000000Z.db 2026-01-01 00:00:00",
    ]);
    expect(listed.stdout).toContain("Off-host: S3_BUCKET is not set");
    const restored = await moxie(dir, ["restore", "--latest", "backups"]);
    expect({ code: restored.code, stderr: restored.stderr }).toEqual({ code: 0, stderr: "" });
    expect(restored.stdout).toContain(`The newest copy in ${join(dir, "backups")}/ is moxie-backup-20260301T000000Z.db`);
    expect(restored.stdout).toContain(`Restored ${db} from ${join(dir, "backups", "moxie-backup-20260301T000000Z.db")} (3 users)`);
    const none = await moxie(dir, ["restore", "--latest"]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("--latest needs a place to look");
  });
});

