// Issue 18 (6): logging never stops the server. The compiled binary logs into a real pipe (a FIFO) whose reader,
// `head -n 1`, exits after the first line, as in `./moxie serve | head -1`: requests go on being answered, the
// lines that cannot be written are dropped and counted, said on stderr (once when it starts, the total at exit),
// and SIGTERM still ends in a clean exit 0, with no stack trace.
import { describe, expect, test } from "bun:test";
import { dirname, join } from "node:path";
import { tempDir } from "./helpers.ts";
import { binaryAloneIn } from "./support/binary.ts";
import { cleanEnv, freePort, login, runCli } from "./support/processes.ts";

const ADMIN = { email: "pipe-admin@example.com", name: "Pipe Admin", password: "pipe-Admin-pass-2026" };
const SECRET = "log-pipe-suite-key-0123456789abcdef-012345";
const STACK_FRAME = /^\s+at\s/m;

describe("stdout a pipe whose reader has gone", () => {
  test("requests are answered, the lost log lines are counted on stderr, SIGTERM exits 0 without a stack trace", async () => {
    const binary = await binaryAloneIn();
    const dir = dirname(binary);
    const env = { SECRET_KEY: SECRET };
    const created = await runCli(["create-admin", "--email", ADMIN.email, "--name", ADMIN.name, "--password", ADMIN.password], { cwd: dir, env, command: [binary] });
    expect(created.code).toBe(0);

    const fifo = join(tempDir("moxie-fifo-"), "log");
    expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
    const head = Bun.spawn(["head", "-n", "1", fifo], { stdout: "pipe", stderr: "pipe" });
    const port = freePort();
    // exec: the shell only opens the FIFO for moxie's stdout; the pid is moxie's.
    const server = Bun.spawn(["sh", "-c", 'exec "$0" serve --port "$1" > "$2"', binary, String(port), fifo], {
      cwd: dir,
      env: cleanEnv(env),
      stdin: "ignore",
      stdout: "ignore",
      stderr: "pipe",
    });
    let stderr = "";
    const collecting = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of server.stderr) stderr += decoder.decode(chunk, { stream: true });
    })();
    try {
      // The reader takes the first line and goes: from now on every write to the pipe fails (EPIPE).
      const first = await new Response(head.stdout).text();
      expect(await head.exited).toBe(0);
      expect(JSON.parse(first)).toMatchObject({ level: "info", msg: "moxie listening", url: `http://127.0.0.1:${port}` });

      const url = `http://127.0.0.1:${port}`;
      for (let round = 0; round < 3; round++) {
        const signedIn = await login(url, ADMIN.email, ADMIN.password);
        expect(signedIn.status).toBe(200);
        const { access_token: token } = (await signedIn.json()) as { access_token: string };
        expect((await fetch(`${url}/auth/me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
        expect((await fetch(`${url}/ready`)).status).toBe(200);
        expect((await fetch(`${url}/nowhere`)).status).toBe(404);
      }
      expect(server.exitCode).toBeNull();

      server.kill("SIGTERM");
      expect(await server.exited).toBe(0);
      await collecting;
      const lines = stderr.trim().split("\n");
      expect(lines).toHaveLength(2);
      expect(lines[0]).toBe("moxie: cannot write the log to stdout (EPIPE); log lines are dropped and counted from now on");
      const total = /^moxie: (\d+) log lines were dropped: stdout could not be written \(EPIPE\)$/.exec(lines[1]!);
      expect(total).not.toBeNull();
      // At least the 12 request lines, "stopping" and "stopped".
      expect(Number(total![1])).toBeGreaterThanOrEqual(14);
      expect(stderr).not.toMatch(STACK_FRAME);
      expect(stderr).not.toContain("broken pipe");
    } finally {
      server.kill("SIGKILL");
      head.kill("SIGKILL");
      await Promise.all([server.exited, head.exited]);
    }
  }, 60_000);
});
