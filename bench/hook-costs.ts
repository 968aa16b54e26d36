// What each of moxie's request hooks costs per request, in process (no network, no wrk): the app is built as
// createApp builds it, then again with one piece left out, and the difference in CPU time per request is that
// piece's cost. Interleaved rounds, medians; CPU time (process.cpuUsage), so other load on the machine
// matters less than for wall time.
//
//   bun bench/hook-costs.ts [--requests 30000] [--rounds 5]      (about 30 s on 2 cores)
//
// The request log writes to a file in a temporary directory, as `moxie serve > file` would (stdout batched).
// Prints a markdown table; bench/README.md keeps the last one.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Elysia } from "elysia";
import { authGuard } from "../src/http/guard.ts";
import { authRoutes } from "../src/http/routes/auth.ts";
import { LoginThrottle } from "../src/sign-in/throttle.ts";
import { createTokenService } from "../src/tokens/tokens.ts";
import { readGeneration } from "../src/db/generation.ts";
import { openDatabase } from "../src/db/index.ts";
import { healthRoutes } from "../src/http/routes/health.ts";
import { jsonBodies } from "../src/http/body.ts";
import { corsFor } from "../src/http/cors.ts";
import { errorHandling } from "../src/http/errors.ts";
import { requestIds } from "../src/http/request-ids.ts";
import { requestLog } from "../src/http/request-log.ts";
import { securityHeaders } from "../src/http/security-headers.ts";
import { createLogger, silentLogger } from "../src/lib/log.ts";
import { createUser } from "../src/accounts/service.ts";
import { createSession } from "../src/sessions/store.ts";
import { ACCESS_TOKEN_TTL_SECONDS } from "../src/tokens/tokens.ts";

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: { requests: { type: "string", default: "30000" }, rounds: { type: "string", default: "5" } },
});
const REQUESTS = Number(values.requests);
const ROUNDS = Number(values.rounds);
const SECRET = "hook-costs-secret-0123456789abcdef-0123456789abcdef";
const ORIGIN = "http://localhost:3000";

const dir = mkdtempSync(join(tmpdir(), "moxie-hook-costs-"));
try {
  const db = openDatabase(join(dir, "moxie.db"));
  const user = await createUser(db, { name: "Bench", email: "bench@example.com", password: "bench-password-long" });
  const tokens = createTokenService(SECRET);
  const generation = readGeneration(db.$client);
  // A token as a sign-in issues it (with the database's generation and a session), not the baseline's shorter one.
  const session = createSession(db, { userId: user.id, ip: "127.0.0.1", userAgent: "hook-costs", lifetimeMs: ACCESS_TOKEN_TTL_SECONDS * 1000 });
  const token = await tokens.issue({ userId: user.id, tokenVersion: 0, generation: generation.id, sessionId: session.id });
  // The request log goes where `moxie serve > file` sends it: process.stdout, batched. Point stdout at a file.
  const logFile = Bun.file(join(dir, "requests.log"));
  const writer = logFile.writer();
  const fileLogger = createLogger({ write: (line) => writer.write(line + "\n") });

  type Piece = "requestLog" | "logWrite" | "securityHeaders" | "errorHandling" | "jsonBodies" | "cors";
  function build(without: Piece | "all" | null) {
    const has = (piece: Piece) => without !== "all" && without !== piece;
    const guard = authGuard({ db, tokens, generation });
    const throttle = new LoginThrottle();
    const idOf = requestIds();
    return new Elysia({ encodeSchema: false }) // as createApp configures it
      .use(has("requestLog") ? requestLog(has("logWrite") ? fileLogger : silentLogger, idOf) : new Elysia())
      .use(has("securityHeaders") ? securityHeaders() : new Elysia())
      .use(has("errorHandling") ? errorHandling(silentLogger) : new Elysia())
      .use(has("jsonBodies") ? jsonBodies({ maxBytes: 65536 }) : new Elysia())
      .use(has("cors") ? corsFor([ORIGIN]) : new Elysia())
      .use(healthRoutes())
      .use(authRoutes({ db, tokens, guard, generation, throttle, addressOf: () => "127.0.0.1", refusalWindowMs: 900_000 }));
  }

  const variants: Array<{ name: string; without: Piece | "all" | null }> = [
    { name: "moxie (every hook)", without: null },
    { name: "without the request log's line (id still set)", without: "logWrite" },
    { name: "without the request log hooks", without: "requestLog" },
    { name: "without CORS", without: "cors" },
    { name: "without security headers", without: "securityHeaders" },
    { name: "without the error mapper", without: "errorHandling" },
    { name: "without the JSON body parser", without: "jsonBodies" },
    { name: "no hooks at all (routes and guard only)", without: "all" },
  ];
  const apps = variants.map((v) => build(v.without));
  const me = () => new Request("http://localhost/auth/me", { headers: { authorization: `Bearer ${token}`, origin: ORIGIN } });

  // A raw handler doing /auth/me's work with no framework: the in-process floor.
  const raw = rawMe(db.$client, SECRET);

  async function measure(handle: (r: Request) => Response | Promise<Response>): Promise<number> {
    const start = process.cpuUsage();
    for (let i = 0; i < REQUESTS; i++) {
      const response = await handle(me());
      if (response.status !== 200) throw new Error(`status ${response.status}`);
      await response.arrayBuffer();
    }
    await new Promise((r) => setImmediate(r)); // let the last after-response hooks and log flushes run
    const used = process.cpuUsage(start);
    return (used.user + used.system) / REQUESTS;
  }
  for (const app of apps) await measure((r) => app.handle(r)); // compile and warm every variant
  await measure(raw);
  const samples = variants.map(() => [] as number[]);
  const rawSamples: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < apps.length; i++) samples[i]!.push(await measure((r) => apps[i]!.handle(r)));
    rawSamples.push(await measure(raw));
    console.error(`round ${round + 1}/${ROUNDS} done`);
  }
  await writer.end();
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const full = median(samples[0]!);
  console.log(`GET /auth/me through app.handle(), ${REQUESTS} requests × ${ROUNDS} rounds, median CPU µs per request (Bun ${Bun.version})\n`);
  console.log("| variant | µs/request | cost of what is left out |\n| --- | ---: | ---: |");
  variants.forEach((v, i) => {
    const m = median(samples[i]!);
    console.log(`| ${v.name} | ${m.toFixed(2)} | ${i === 0 ? "" : (full - m).toFixed(2)} |`);
  });
  console.log(`| raw handler, same work, no framework | ${median(rawSamples).toFixed(2)} | ${(full - median(rawSamples)).toFixed(2)} |`);
  db.$client.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}

function rawMe(client: import("bun:sqlite").Database, secret: string) {
  const key = Buffer.from(secret);
  // The session and its account in one statement, as the guard reads them.
  const bySession = client.query<Record<string, unknown>, [string, number, string]>(
    "SELECT (SELECT expires_at > ?3 FROM sessions INDEXED BY sessions_guard_idx WHERE id = ?1 AND user_id = ?2) AS live, " +
      "id, name, email, role, is_active, created_at, token_version FROM users WHERE id = ?2",
  );
  const cache = new Map<string, { sub: number; ver: number; exp: number; sid: string }>();
  return (request: Request) => {
    const auth = request.headers.get("authorization") ?? "";
    const token = /^bearer ([^\s,]+)$/i.exec(auth)?.[1] ?? "";
    let claims = cache.get(token);
    if (!claims) {
      const [h, p, s] = token.split(".");
      if (new Bun.CryptoHasher("sha256", key).update(`${h}.${p}`).digest("base64url") !== s) return new Response(null, { status: 401 });
      const payload = JSON.parse(Buffer.from(p!, "base64url").toString());
      claims = { sub: Number(payload.sub), ver: payload.ver, exp: payload.exp, sid: payload.sid };
      cache.set(token, claims);
    }
    const row = bySession.get(claims.sid, claims.sub, new Date().toISOString())!;
    if (row.live !== 1) return new Response(null, { status: 401 });
    return Response.json(
      { id: row.id, name: row.name, email: row.email, role: row.role, is_active: row.is_active === 1, created_at: row.created_at },
      { headers: { "x-request-id": "x", vary: "Origin", "access-control-allow-origin": request.headers.get("origin") ?? "" } },
    );
  };
}
