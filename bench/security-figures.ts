// Issue 11's figures against a compiled binary: `bun bench/security-figures.ts [path/to/moxie]` (steps 1 and 3)
// and `bun bench/security-figures.ts path/to/moxie hashing` (step 2, with the throttle out of the way).
// 1. guesses checked in a burst of 20 concurrent wrong passwords for one email (limit 5);
// 2. an admin's sign-in latency alone, and while one agent floods PUT /auth/password (45 at a time);
// 3. audit rows written by a 2 000-request refused (429) burst.
// Each run uses a fresh temp directory and a server on 127.0.0.1; everything is bounded in count.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Database } from "bun:sqlite";

const binary = resolve(process.argv[2] ?? "./moxie");
const dir = mkdtempSync(join(tmpdir(), "moxie-figures-"));
const port = 20000 + Math.floor(Math.random() * 20000);
const url = `http://127.0.0.1:${port}`;
const env = { PATH: process.env.PATH ?? "", SECRET_KEY: "figures-signing-key-0123456789abcdef-XYZ", DATABASE_URL: join(dir, "moxie.db"), LOG_LEVEL: "error" };
const ADMIN = { email: "admin@figures.test", password: "Figures-Admin-2026" };
const AGENT = { email: "agent@figures.test", password: "Figures-Agent-2026" };

const run = (args: string[]) => Bun.spawnSync([binary, ...args], { cwd: dir, env });
run(["create-admin", "--email", ADMIN.email, "--name", "Admin", "--password", ADMIN.password]);
// Step 2 measures the hashing bound alone: the throttle is set out of the way (the script's first argument
// after the binary, "hashing"), so the agent's wrong current passwords are not refused by it.
const hashingOnly = process.argv[3] === "hashing";
const limits = hashingOnly
  ? { LOGIN_MAX_FAILURES: "1000", LOGIN_MAX_FAILURES_PER_ADDRESS: "100000", LOGIN_MAX_FAILURES_PER_ACCOUNT: "100000" }
  : {};
const server = Bun.spawn([binary, "serve", "--port", String(port)], { cwd: dir, env: { ...env, ...limits }, stdout: "ignore", stderr: "ignore" });
try {
  for (let i = 0; i < 400; i++) {
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch {}
    await Bun.sleep(50);
  }
  const post = (path: string, body: unknown, token?: string, method = "POST") =>
    fetch(`${url}${path}`, {
      method,
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
  const login = (email: string, password: string) => post("/auth/login", { email, password });
  const adminToken = ((await (await login(ADMIN.email, ADMIN.password)).json()) as { access_token: string }).access_token;
  await post("/admin/users", { name: "Agent", email: AGENT.email, password: AGENT.password }, adminToken);
  const agentToken = ((await (await login(AGENT.email, AGENT.password)).json()) as { access_token: string }).access_token;

  if (!hashingOnly) {
  // 1. Burst of 20 concurrent wrong guesses for the agent.
  const burst = await Promise.all(Array.from({ length: 20 }, () => login(AGENT.email, "wrong-guess-123")));
  const checked = burst.filter((r) => r.status === 401).length;
  console.log(`burst of 20 concurrent wrong guesses: ${checked} checked (401), ${burst.filter((r) => r.status === 429).length} refused (429)`);

  } else {
  // 2. Admin sign-in latency, alone and during an agent's PUT /auth/password flood.
  const timeLogin = async () => {
    const start = performance.now();
    const status = (await login(ADMIN.email, ADMIN.password)).status;
    return { ms: performance.now() - start, status };
  };
  const alone = [];
  for (let i = 0; i < 3; i++) alone.push(await timeLogin());
  let flooding = true;
  let sent = 0;
  const statuses: Record<number, number> = {};
  const flood = Array.from({ length: 45 }, async () => {
    while (flooding) {
      const r = await post("/auth/password", { current_password: "not-the-password", new_password: "Whatever-New-2026" }, agentToken, "PUT");
      statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      sent++;
      if (r.status === 429) await Bun.sleep(10);
    }
  });
  await Bun.sleep(300);
  const during = [];
  for (let i = 0; i < 3; i++) during.push(await timeLogin());
  flooding = false;
  await Promise.all(flood);
  const fmt = (xs: Array<{ ms: number; status: number }>) => xs.map((x) => `${x.ms.toFixed(0)} ms (${x.status})`).join(", ");
  console.log(`admin sign-in alone: ${fmt(alone)}`);
  console.log(`admin sign-in during 45-way PUT /auth/password flood: ${fmt(during)}; flood answers ${JSON.stringify(statuses)} of ${sent}`);

  }
  if (!hashingOnly) {
  // 3. A 2 000-request refused burst (the agent's email is throttled by now), in batches of 200.
  const db = new Database(join(dir, "moxie.db"), { readonly: true });
  const rows = () => (db.query("SELECT count(*) AS n FROM audit_events").get() as { n: number }).n;
  const counted = () => (db.query("SELECT coalesce(sum(count), 0) AS n FROM audit_events").get() as { n: number }).n;
  const countedBefore = counted();
  const before = rows();
  const start = performance.now();
  let refused = 0;
  for (let b = 0; b < 10; b++) {
    const answers = await Promise.all(Array.from({ length: 200 }, () => login(AGENT.email, "wrong-guess-123")));
    refused += answers.filter((r) => r.status === 429).length;
  }
  const seconds = (performance.now() - start) / 1000;
  const written = rows() - before;
  console.log(
    `2000-request refused burst: ${refused} answered 429 in ${seconds.toFixed(2)} s; audit rows written: ${written} ` +
      `(${(written / seconds).toFixed(1)} rows/s); attempts recorded (sum of count): ${counted() - countedBefore}`,
  );
  db.close();
  }
} finally {
  server.kill();
  await server.exited;
  rmSync(dir, { recursive: true, force: true });
}
