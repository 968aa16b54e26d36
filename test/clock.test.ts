// Every process a test starts runs on the test's own clock. `.ci/run` runs the whole suite a second time with
// the clock a year ahead (Debian's faketime, an LD_PRELOAD library): a helper that spawned with a trimmed
// environment would drop it, and its server would date rows a year before the test reads them. That would
// pass the run a year ahead while proving nothing about the servers; this file makes it fail instead.
import { expect, setDefaultTimeout, test } from "bun:test";
import { binaryAloneIn } from "./support/binary.ts";
import { listeningUrl, runCli, startServe, stopServer } from "./support/processes.ts";
import { TEST_SECRET, tempDir } from "./helpers.ts";

setDefaultTimeout(60_000);

/** Generous for a loaded machine: the clocks under test differ by a year when this breaks, not by seconds. */
const SAME_CLOCK_MS = 10 * 60 * 1000;

function expectNearNow(instant: string, label: string): void {
  const distance = Math.abs(Date.parse(instant) - Date.now());
  if (!(distance < SAME_CLOCK_MS)) throw new Error(`${label} said ${instant}; this test's clock says ${new Date().toISOString()}`);
  expect(distance).toBeLessThan(SAME_CLOCK_MS);
}

test("the compiled server dates its log lines and HTTP answers with the test's clock", async () => {
  const cwd = tempDir("moxie-clock-");
  const binary = await binaryAloneIn(cwd);
  const server = startServe(["--port", "0"], { cwd, command: [binary], env: { SECRET_KEY: TEST_SECRET } });
  const url = await listeningUrl(server);
  const answer = await fetch(`${url}/health`);
  expectNearNow(new Date(answer.headers.get("date")!).toISOString(), "the server's Date header");
  const listening = server.logs().find((line) => line.msg === "moxie listening");
  expectNearNow(String(listening?.time), "the server's 'moxie listening' log line");
  expect(await stopServer(server)).toBe(0);
});

test("a command from the sources writes the database with the test's clock", async () => {
  const cwd = tempDir("moxie-clock-");
  const env = { SECRET_KEY: TEST_SECRET };
  const created = await runCli(["create-admin", "--email", "clock@example.com", "--name", "Clock", "--password", "clock-password-1"], { cwd, env });
  expect(created.stderr).toBe("");
  expect(created.code).toBe(0);
  const listed = await runCli(["users", "--json"], { cwd, env });
  expect(listed.code).toBe(0);
  const [admin] = JSON.parse(listed.stdout) as Array<{ created_at: string }>;
  expectNearNow(admin!.created_at, "created_at written by `moxie create-admin`");
});
