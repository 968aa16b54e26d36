// Test harness: a real SQLite file in a temp dir built by the shipped migrations, the app in-process,
// and small helpers to seed accounts and sign in. Nothing is mocked.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApp } from "../src/http/app.ts";
import { createTokenService, type TokenService } from "../src/tokens/tokens.ts";
import { readGeneration, type Generation } from "../src/db/generation.ts";
import { openDatabase, type Db } from "../src/db/index.ts";
import type { Role } from "../src/db/vocabulary.ts";
import { createLogger, type Logger } from "../src/lib/log.ts";
import { parseSettings, type Settings } from "../src/settings/index.ts";
import { createUser } from "../src/accounts/service.ts";
import { createSession } from "../src/sessions/store.ts";
import { ACCESS_TOKEN_TTL_SECONDS } from "../src/tokens/tokens.ts";

export const TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789";
export const ROOT = join(import.meta.dir, "..");

// Removed by test/setup.ts (a bunfig.toml preload), whose afterAll runs once after every test file; an
// afterAll here would only be registered for the first file that imports this module.
const made: string[] = [];

/** Removes every directory tempDir() made so far. */
export function removeTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** A fresh directory removed when the test file ends. */
export function tempDir(prefix = "moxie-test-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

export function testDb(): { db: Db; path: string; dir: string } {
  const dir = tempDir();
  const path = join(dir, "moxie.db");
  return { db: openDatabase(path), path, dir };
}

/** Collects log lines so tests can assert what was (and was not) logged. */
export function captureLog(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: createLogger({ level: "debug", write: (line) => lines.push(line) }), lines };
}

export interface TestResponse {
  status: number;
  headers: Headers;
  text: string;
  // Parsed JSON body, or undefined when the body is not JSON.
  json: any;
}

export interface RequestOptions {
  body?: unknown;
  rawBody?: string;
  token?: string;
  headers?: Record<string, string>;
}

export type Requester = (method: string, path: string, options?: RequestOptions) => Promise<TestResponse>;

/** Sends a request through `handle` (the app in-process) and reads the whole answer. */
export function requester(handle: (request: Request) => Promise<Response> | Response): Requester {
  return async (method, path, options = {}) => {
    const headers = new Headers(options.headers);
    let body: string | undefined = options.rawBody;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      if (!headers.has("content-type")) headers.set("content-type", "application/json");
    }
    if (options.token) headers.set("authorization", `Bearer ${options.token}`);
    return readAnswer(await handle(new Request(`http://localhost${path}`, { method, headers, body })));
  };
}

/** The whole answer: status, headers, text, and the JSON when the text is JSON. */
export async function readAnswer(response: Response): Promise<TestResponse> {
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

export interface TestContext {
  db: Db;
  dbPath: string;
  tokens: TokenService;
  /** The database's generation, as the app read it at start: what tokens issued directly must carry. */
  generation: Generation;
  request: Requester;
  logLines: string[];
  app: ReturnType<typeof createApp>;
}

/** Settings as a deployment with no environment would have them, with `env` as its variables. */
export function testSettings(env: Record<string, string> = {}): Settings {
  return parseSettings({ SECRET_KEY: TEST_SECRET, ...env }, tempDir());
}

export function createTestApp(options: { corsOrigins?: string[]; docs?: boolean; env?: Record<string, string> } = {}): TestContext {
  const { db, path } = testDb();
  const tokens = createTokenService(TEST_SECRET);
  const { log, lines } = captureLog();
  const settings = {
    ...testSettings(options.env),
    databasePath: path,
    ...(options.corsOrigins && { corsOrigins: options.corsOrigins }),
    ...(options.docs !== undefined && { docs: options.docs }),
  };
  const app = createApp({ db, settings, tokens, log });
  return { db, dbPath: path, tokens, generation: readGeneration(db.$client), request: requester((r) => app.handle(r)), logLines: lines, app };
}

let counter = 0;

export interface SeededUser {
  id: number;
  email: string;
  password: string;
  role: Role;
}

export async function seedUser(
  db: Db,
  options: { role?: Role; email?: string; password?: string; name?: string } = {},
): Promise<SeededUser> {
  counter++;
  const email = options.email ?? `user${counter}@example.com`;
  const password = options.password ?? `password-${counter}-ok`;
  const role = options.role ?? "agent";
  const user = await createUser(db, { name: options.name ?? `User ${counter}`, email, password, role });
  return { id: user.id, email: user.email, password, role };
}

/**
 * A session of account `userId` made directly (as a sign-in makes it, without the password) and a token for it,
 * as the app issues them: for tests about rules other than sign-in, without spending argon2.
 */
export async function sessionToken(
  ctx: { db: Db; tokens: TokenService; generation: Generation },
  userId: number,
  options: { tokenVersion?: number; userAgent?: string; ip?: string } = {},
): Promise<{ token: string; sessionId: string }> {
  const session = createSession(ctx.db, {
    userId,
    ip: options.ip ?? "127.0.0.1",
    userAgent: options.userAgent ?? null,
    lifetimeMs: ACCESS_TOKEN_TTL_SECONDS * 1000,
  });
  const token = await ctx.tokens.issue({ userId, tokenVersion: options.tokenVersion ?? 0, generation: ctx.generation.id, sessionId: session.id });
  return { token, sessionId: session.id };
}

export async function signIn(request: Requester, user: { email: string; password: string }): Promise<string> {
  const response = await request("POST", "/auth/login", { body: { email: user.email, password: user.password } });
  if (response.status !== 200) throw new Error(`sign-in failed: ${response.status} ${response.text}`);
  return response.json.access_token;
}

/** Substrings that must never appear in a response: hashes, traces, paths, SQL. */
export const LEAK_PATTERNS: RegExp[] = [/\$argon2/i, /password_hash/i, /passwordHash/, /\bat .+:\d+:\d+/, /SQLITE/i, /\/src\//, /node_modules/];

export function expectNoLeak(text: string, extra: string[] = []): void {
  for (const pattern of LEAK_PATTERNS) {
    if (pattern.test(text)) throw new Error(`response leaks ${pattern}: ${text.slice(0, 300)}`);
  }
  for (const secret of extra) {
    if (secret && text.includes(secret)) throw new Error(`response contains a submitted secret: ${text.slice(0, 300)}`);
  }
}

/** The pwdlib (argon2-cffi defaults m=65536,t=3,p=4) hash of "correct horse battery", as the original stored it. */
export const PWDLIB_HASH = "$argon2id$v=19$m=65536,t=3,p=4$cnE9cAd0Yt1bZ2xevZVG1Q$YS9Mtr8vTaxTNwLhGkV4pO1qn6apABMQMw+cAsgmPM0";
export const PWDLIB_PASSWORD = "correct horse battery";
