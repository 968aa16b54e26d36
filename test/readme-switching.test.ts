// The README's "Switching from the Python moxie" steps, run as a new user would run them: line by line with
// bash, from the directory the original ran in (its moxie.db and .env, copies of test/fixtures/original-era.*),
// with the compiled binary as ./moxie. Only the port (a free one instead of 8000) and the placeholders change.
import { beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
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

let dir: string;
beforeAll(async () => {
  dir = tempDir("moxie-switch-");
  copyFileSync(join(ROOT, "test/fixtures/original-era.sqlite"), join(dir, "moxie.db"));
  chmodSync(join(dir, "moxie.db"), 0o644); // as the original left it; the steps make it private
  writeFileSync(
    join(dir, ".env"),
    "DATABASE_URL=sqlite:///./moxie.db\nSECRET_KEY=original-secret-key-0123456789abcdef0123456789\n" +
      "CORS_ORIGINS=http://localhost:3000,http://localhost:5173\nGOOGLE_SHEETS_ID=abc\nANTHROPIC_API_KEY=sk-ant-x\n",
  );
  chmodSync(join(dir, ".env"), 0o644);
  await binaryAloneIn(dir);
}, 90_000);

describe("README: Switching from the Python moxie", () => {
  test("every step runs as written and ends with the original's accounts served", async () => {
    const port = freePort();
    const env = cleanEnv({ PORT: String(port) });
    const outputs: Array<{ line: string; stdout: string }> = [];
    let url = "";
    for (const raw of switchingSteps()) {
      const line = raw
        .replaceAll("localhost:8000", `localhost:${port}`)
        .replaceAll("<an admin>", "admin@example.com")
        .replaceAll("<its password>", "AdminPass#2026");
      if (line.trim() === "" || line.trimStart().startsWith("#")) continue;
      if (line.startsWith("./moxie serve")) {
        const server = startServe(line.slice("./moxie serve".length).trim().split(/\s+/).filter(Boolean), {
          cwd: dir,
          command: [join(dir, "moxie")],
          env: { PORT: String(port) },
        });
        url = await listeningUrl(server);
        expect(server.logs().some((entry) => entry.msg === "adopted the Python moxie's database")).toBe(true);
        continue;
      }
      const run = Bun.spawnSync(["bash", "-c", line], { cwd: dir, env, stdout: "pipe", stderr: "pipe" });
      const stdout = run.stdout.toString();
      expect({ line, code: run.exitCode, stderr: run.stderr.toString() }).toEqual({ line, code: 0, stderr: "" });
      outputs.push({ line, stdout });
    }
    const of = (start: string) => outputs.filter((o) => o.line.startsWith(start)).map((o) => o.stdout);

    expect(url).not.toBe("");
    expect(existsSync(join(dir, "moxie-before-switch.db"))).toBe(true);
    expect(statSync(join(dir, "moxie.db")).mode & 0o077).toBe(0);
    expect(of("./moxie migrate --status")[0]).toContain("adopt    0000_users");
    const [doctorBefore, doctorAfter] = of("./moxie doctor");
    expect(doctorBefore).toContain("No problems.");
    expect(doctorAfter).toContain("No problems.");
    expect(doctorAfter).toContain("server        running");
    expect(JSON.parse(of("curl -s localhost")[0]!)).toEqual({ status: "ok" });
    const token = JSON.parse(of("curl -s localhost")[1]!).access_token as string;
    expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    const users = of("./moxie users")[0]!;
    for (const email of ["admin@example.com", "ana@example.com", "ivan@example.com"]) expect(users).toContain(email);

    // What the section says moxie does not answer: the scraper's routes.
    const auth = { authorization: `Bearer ${token}` };
    for (const path of ["/units", "/admin/buildings", "/admin/rescrape/job-1"]) {
      expect({ path, status: (await fetch(`${url}${path}`, { headers: auth })).status }).toEqual({ path, status: 404 });
    }
    expect((await fetch(`${url}/admin/rescrape/1`, { method: "POST", headers: auth })).status).toBe(404);
  }, 120_000);
});
