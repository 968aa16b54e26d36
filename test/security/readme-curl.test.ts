// Issue 12 (2): the README's curl sequence works as written against the compiled binary, through the own
// password change (whose answer is this session's fresh token) to the logout. Only the placeholders and the
// address are filled in.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../helpers.ts";
import { ADMIN, createSuite } from "./harness.ts";

const suite = createSuite();

test("the README's API curl block runs top to bottom with no error answer", async () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const block = /```sh\n(curl -s localhost:8000\/health\n[\s\S]*?)```/.exec(readme)?.[1];
  expect(block).toBeDefined();
  const server = await suite.start("readme-curl");
  const script = block!
    .replaceAll("localhost:8000", `127.0.0.1:${server.port}`)
    .replaceAll("admin@example.com", ADMIN.email)
    .replaceAll("<the password>", ADMIN.password)
    .replaceAll("<8+ characters>", "Ana-Agent-Pass-2026")
    .replaceAll("<new>", "Ana-Reset-Pass-2026")
    .replaceAll("<your new password>", "Admin-New-Pass-2026");
  expect(script).not.toMatch(/<[^>]+>/);
  const run = Bun.spawn(["bash", "-e", "-o", "pipefail", "-c", script], { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(run.stdout).text(), new Response(run.stderr).text(), run.exited]);
  expect(stderr).toBe("");
  expect(code).toBe(0);
  expect(stdout).not.toContain('"detail"');
  // /auth/me answered twice: before and after the password change, with the fresh token.
  expect(stdout.match(/"email":"admin@sec\.example\.com"/g)?.length).toBeGreaterThanOrEqual(2);
  expect(stdout.trimEnd().endsWith('{"status":"ready"}')).toBe(true);
  // The new password is the one that works now.
  expect((await server.login(ADMIN.email, "Admin-New-Pass-2026")).status).toBe(200);
}, 90_000);

test("every README shell line quotes a URL with a query: zsh, the macOS default, stops at an unquoted ? (no matches found)", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const lines = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((block) => block[1]!.split("\n"));
  expect(lines.filter((line) => line.includes("?")).length).toBeGreaterThan(0);
  // What the shell sees outside quotes: the quoted parts removed, comments too.
  const unquoted = lines
    .filter((line) => !line.trimStart().startsWith("#"))
    .map((line) => line.replace(/'[^']*'|"(?:[^"\\]|\\.)*"/g, "''"))
    .filter((line) => /[?*[]/.test(line));
  expect(unquoted).toEqual([]);
});
