// The README's "Switching from the Python moxie" steps, run as a new user would run them: line by line with
// bash, from the directory the original ran in (its moxie.db and .env, copies of test/fixtures/original-era.*),
// with the compiled binary as ./moxie, for both kinds of file the original may have left. Only the port (a free one
// instead of 8000) and the placeholders change.
import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { binaryAloneIn } from "./support/binary.ts";
import { ROOT, tempDir } from "./helpers.ts";
import { cleanEnv, freePort, listeningUrl, startServe } from "./support/processes.ts";

const MARKER = "<!-- switching-steps:";

/** The shell block right after the marker in README.md, as lines. */
function switchingSteps(): string[] {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const at = readme.indexOf(MARKER);
  expect(at).toBeGreaterThan(-1);
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(at));
  expect(block).not.toBeNull();
  return block![1]!.split("\n");
}

/** The two kinds of file the original may have left: with its users table, and from before its users migration. */
const KINDS = [
  { label: "an original file with its users table (alembic b89cce9ed1af)", withUsers: true },
  { label: "an original file from before its users migration (alembic 3522f8b6e283, no users table)", withUsers: false },
] as const;

const ADMIN = { email: "admin@example.com", password: "AdminPass#2026" };

/** The directory the original ran in: its moxie.db (a copy of the fixture, made as it left it) and .env, and ./moxie. */
async function originalDirectory(withUsers: boolean): Promise<string> {
  const dir = tempDir("moxie-switch-");
  copyFileSync(join(ROOT, "test/fixtures/original-era.sqlite"), join(dir, "moxie.db"));
  if (!withUsers) {
    const db = new Database(join(dir, "moxie.db"));
    db.run("DROP TABLE users");
    db.run("UPDATE alembic_version SET version_num = '3522f8b6e283'");
    db.run("VACUUM");
    db.close();
  }
  chmodSync(join(dir, "moxie.db"), 0o644); // as the original left it; the steps make it private
  writeFileSync(
    join(dir, ".env"),
    "DATABASE_URL=sqlite:///./moxie.db\nSECRET_KEY=original-secret-key-0123456789abcdef0123456789\n" +
      "CORS_ORIGINS=http://localhost:3000,http://localhost:5173\nGOOGLE_SHEETS_ID=abc\nANTHROPIC_API_KEY=sk-ant-x\n",
  );
  chmodSync(join(dir, ".env"), 0o644);
  await binaryAloneIn(dir);
  return dir;
}

/** The head of the original's own migrations (test/fixtures/original-alembic): what its `alembic upgrade head` brings a file to. */
function alembicHead(): string {
  const dir = join(ROOT, "test/fixtures/original-alembic");
  const files = readdirSync(dir).filter((name) => name.endsWith(".py")).map((name) => readFileSync(join(dir, name), "utf8"));
  const revisions = files.map((text) => ({
    revision: /^revision: str = '(\w+)'/m.exec(text)![1]!,
    down: /^down_revision: .* = (?:'(\w+)'|None)/m.exec(text)![1] ?? null,
  }));
  return revisions.find((r) => !revisions.some((other) => other.down === r.revision))!.revision;
}

const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

describe("README: Switching from the Python moxie", () => {
  for (const kind of KINDS) {
    test(`every step runs as written, for ${kind.label}, and the way back finds alembic at the original's head`, async () => {
      const dir = await originalDirectory(kind.withUsers);
      const port = freePort();
      const env = cleanEnv({ PORT: String(port) });
      const outputs: Array<{ line: string; stdout: string }> = [];
      const untouched = sha256(join(dir, "moxie.db"));
      let url = "";
      let started = false;
      const steps = switchingSteps();
      for (const raw of steps) {
        const line = raw
          .replaceAll("localhost:8000", `localhost:${port}`)
          .replaceAll("<an admin>", ADMIN.email)
          .replaceAll("<its password>", ADMIN.password);
        // The step's note for a file without accounts: its create-admin, run where the note says (after the start).
        const note = /^#\s+.*?(\.\/moxie create-admin .*?)\.?\)?$/.exec(line);
        if (note && !kind.withUsers) {
          const created = Bun.spawnSync(["bash", "-c", note[1]!], { cwd: dir, env, stdin: Buffer.from(`${ADMIN.password}\n`), stdout: "pipe", stderr: "pipe" });
          expect({ line: note[1], code: created.exitCode, stderr: created.stderr.toString() }).toEqual({ line: note[1], code: 0, stderr: "" });
          continue;
        }
        if (line.trim() === "" || line.trimStart().startsWith("#")) continue;
        if (line.startsWith("./moxie serve")) {
          // Until the start, nothing the steps ran wrote to the file (the backup and the looks only read it).
          expect(sha256(join(dir, "moxie.db"))).toBe(untouched);
          const server = startServe(line.slice("./moxie serve".length).trim().split(/\s+/).filter(Boolean), {
            cwd: dir,
            command: [join(dir, "moxie")],
            env: { PORT: String(port) },
          });
          url = await listeningUrl(server);
          expect(server.logs().some((entry) => entry.msg === "adopted the Python moxie's database")).toBe(true);
          started = true;
          continue;
        }
        const run = Bun.spawnSync(["bash", "-c", line], { cwd: dir, env, stdout: "pipe", stderr: "pipe" });
        const stdout = run.stdout.toString();
        // Step 3's doctor on a file without accounts says what the README says it says: that one problem, exit 1.
        const expectedCode = !kind.withUsers && !started && line === "./moxie doctor" ? 1 : 0;
        expect({ line, code: run.exitCode, stderr: run.stderr.toString() }).toEqual({
          line,
          code: expectedCode,
          stderr: expectedCode === 1 ? "moxie: doctor found 1 problem\n" : "",
        });
        if (expectedCode === 1) expect(stdout).toContain("  - there is no active admin: create one with `moxie create-admin");
        outputs.push({ line, stdout });
      }
      const of = (start: string) => outputs.filter((o) => o.line.startsWith(start)).map((o) => o.stdout);

      expect(url).not.toBe("");
      expect(existsSync(join(dir, "moxie-before-switch.db"))).toBe(true);
      expect(statSync(join(dir, "moxie.db")).mode & 0o077).toBe(0);
      expect(of("./moxie migrate --status")[0]).toContain(kind.withUsers ? "adopt    0000_users" : "pending  0000_users");
      const [doctorBefore, doctorAfter] = of("./moxie doctor");
      if (kind.withUsers) expect(doctorBefore).toContain("No problems.");
      expect(doctorAfter).toContain("No problems.");
      expect(doctorAfter).toContain("server        running");
      expect(JSON.parse(of("curl -s localhost")[0]!)).toEqual({ status: "ok" });
      const token = JSON.parse(of("curl -s localhost")[1]!).access_token as string;
      expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
      const users = of("./moxie users")[0]!;
      for (const email of kind.withUsers ? ["admin@example.com", "ana@example.com", "ivan@example.com"] : ["admin@example.com"]) {
        expect(users).toContain(email);
      }

      // What the section says moxie does not answer: the scraper's routes.
      const auth = { authorization: `Bearer ${token}` };
      for (const path of ["/units", "/admin/buildings", "/admin/rescrape/job-1"]) {
        expect({ path, status: (await fetch(`${url}${path}`, { headers: auth })).status }).toEqual({ path, status: 404 });
      }
      expect((await fetch(`${url}/admin/rescrape/1`, { method: "POST", headers: auth })).status).toBe(404);

      // The way back: the original's start runs `alembic upgrade head`, which runs nothing when the file is at the
      // head of its migrations (alembic itself is not installed here; its decision is this comparison).
      const db = new Database(join(dir, "moxie.db"), { readonly: true });
      const versions = db.query("SELECT version_num FROM alembic_version").all();
      db.close();
      expect(versions).toEqual([{ version_num: alembicHead() }]);
    }, 120_000);
  }
});
