// Black-box harness for the security suite: the compiled ./moxie (built with the package.json `build`
// script, see test/support/binary.ts), copied alone into a fresh temp dir, `create-admin` run there, `serve`
// started on 127.0.0.1 with an explicit environment, and every response the suite sees recorded for the leak
// and header sweeps.
import { afterAll, afterEach, expect, setDefaultTimeout, test } from "bun:test";
import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tempDir as helperTempDir } from "../helpers.ts";
import { BINARY_CACHE_PREFIX, binaryAloneIn } from "../support/binary.ts";
import { freePort, runCli, spawnServe, type Env, type RunResult } from "../support/processes.ts";

export const SECRET = "sec-suite-signing-key-0123456789abcdef-ZZ";
export const OTHER_SECRET = "another-signing-key-nobody-configured-0123456789";
export const ADMIN = { email: "admin@sec.example.com", name: "Suite Admin", password: "sec-suite-Admin-7f3" } as const;
/** Origins allowed on every instance unless a test says otherwise. */
export const ALLOWED_ORIGINS = ["http://localhost:3000", "https://app.example.com"];
/** A stack frame as Bun/V8 print them. */
export const STACK_FRAME = /^\s+at\s/m;
/** A CLI run still going after this long is killed: a safety net against hangs, never a timing assertion. */
export const RUN_TIMEOUT_MS = 30_000;

// ---------------------------------------------------------------------------------------------------------
// Responses

export interface Res {
  status: number;
  headers: Headers;
  text: string;
  /** Parsed JSON body, or undefined. */
  json: any;
}

export interface Recorded extends Res {
  label: string;
  path: string;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export interface RequestOptions {
  /** Sent as JSON with content-type application/json. */
  json?: unknown;
  body?: RequestInit["body"];
  headers?: Record<string, string>;
  token?: string;
}

/** One raw HTTP/1.1 exchange over a TCP socket: the bytes are sent as given (no URL or header normalization). */
export function rawExchange(port: number, parts: Array<string | Uint8Array>): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port });
    let buffer = Buffer.alloc(0);
    let settled = false;
    const finish = (error?: Error) => {
      if (settled) return;
      const parsed = tryParseResponse(buffer, error !== undefined || socket.readableEnded);
      if (!parsed && error === undefined) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (parsed) resolve(parsed);
      else {
        const got = buffer.length === 0 ? "nothing" : JSON.stringify(buffer.subarray(0, 200).toString("latin1"));
        reject(new Error(`${error?.message ?? "connection closed"} (received ${got})`));
      }
    };
    // A safety net so a hung server fails the test instead of hanging the run; never a timing assertion.
    const timer = setTimeout(() => finish(new Error("no complete response within 15 s")), 15_000);
    socket.on("data", (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      finish();
    });
    socket.on("end", () => finish(new Error("connection closed before a full response")));
    socket.on("close", () => finish(new Error("connection closed before a full response")));
    // Writing after the server answered early (413) may fail; the answer already read is what counts.
    socket.on("error", (error) => finish(error));
    socket.on("connect", async () => {
      for (const part of parts) {
        if (socket.destroyed) return;
        const flushed = socket.write(part);
        if (!flushed) await new Promise<void>((r) => socket.once("drain", () => r()).once("close", () => r()));
      }
    });
  });
}

function tryParseResponse(buffer: Buffer, complete: boolean): Res | undefined {
  const end = buffer.indexOf("\r\n\r\n");
  if (end === -1) return undefined;
  const head = buffer.subarray(0, end).toString("latin1").split("\r\n");
  const statusLine = /^HTTP\/1\.[01] (\d{3})/.exec(head[0] ?? "");
  if (!statusLine) return undefined;
  const headers = new Headers();
  for (const line of head.slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  const status = Number(statusLine[1]);
  let body = buffer.subarray(end + 4);
  const length = headers.get("content-length");
  if (status === 204 || status === 304) {
    body = Buffer.alloc(0);
  } else if (length !== null) {
    if (body.length < Number(length)) return undefined;
    body = body.subarray(0, Number(length));
  } else if ((headers.get("transfer-encoding") ?? "").toLowerCase().includes("chunked")) {
    const decoded: Buffer[] = [];
    let at = 0;
    for (;;) {
      const lineEnd = body.indexOf("\r\n", at);
      if (lineEnd === -1) return undefined;
      const size = parseInt(body.subarray(at, lineEnd).toString("latin1"), 16);
      if (Number.isNaN(size)) return undefined;
      if (size === 0) break;
      if (body.length < lineEnd + 2 + size + 2) return undefined;
      decoded.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
      at = lineEnd + 2 + size + 2;
    }
    body = Buffer.concat(decoded);
  } else if (!complete) {
    return undefined;
  }
  const text = body.toString("utf8");
  return { status, headers, text, json: parseJson(text) };
}

// ---------------------------------------------------------------------------------------------------------
// Tokens

export function b64url(input: string | Uint8Array): string {
  return Buffer.from(input).toString("base64url");
}

export const nowSeconds = () => Math.floor(Date.now() / 1000);

/** A JWT signed with HMAC (`hash`) over the given header and payload (objects are JSON-encoded). */
export function signJwt(
  header: unknown,
  payload: unknown,
  options: { key?: string; hash?: "sha256" | "sha384" | "sha512" } = {},
): string {
  const h = typeof header === "string" ? header : b64url(JSON.stringify(header));
  const p = typeof payload === "string" ? payload : b64url(JSON.stringify(payload));
  const signature = createHmac(options.hash ?? "sha256", options.key ?? SECRET).update(`${h}.${p}`).digest("base64url");
  return `${h}.${p}.${signature}`;
}

/**
 * Claims the server accepts for account `sub` at token version `ver`, valid for an hour. Without `gen` (the
 * database's generation) they are shaped as moxie's tokens from before generations, which a database that was
 * never restored still accepts.
 */
export function validClaims(sub = "1", ver = 0, gen?: string): Record<string, unknown> {
  const iat = nowSeconds();
  return { sub, ver, ...(gen === undefined ? {} : { gen }), iat, exp: iat + 3600 };
}

export const HS256 = { alg: "HS256", typ: "JWT" };

// ---------------------------------------------------------------------------------------------------------
// Processes

/** True when something accepts TCP connections on 127.0.0.1:`port`. */
export function isListening(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (value: boolean) => {
      socket.destroy();
      resolve(value);
    };
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

export interface Instance {
  name: string;
  dir: string;
  dbPath: string;
  port: number;
  url: string;
  env: Env;
  proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
  stdout(): string;
  stderr(): string;
  /** fetch() against the instance; the answer is recorded for the sweeps. */
  request(method: string, path: string, options?: RequestOptions): Promise<Res>;
  /** Raw bytes over a socket, for what fetch would normalize; recorded too. */
  raw(parts: Array<string | Uint8Array>): Promise<Res>;
  /** POST /auth/login; returns the response. */
  login(email: string, password: string, headers?: Record<string, string>): Promise<Res>;
  /** Signs in and returns the access token (fails the test otherwise). */
  token(email: string, password: string): Promise<string>;
  /** A token for the first admin (#1) signed with SECRET: no password hashing spent. */
  adminToken(): string;
  /** `./moxie <args>` in the instance's directory with its environment. */
  cli(args: string[], options?: { env?: Env; stdin?: "ignore" | Blob }): Promise<RunResult>;
  /** `./moxie users --json` */
  users(): Promise<Array<Record<string, unknown>>>;
  alive(): Promise<boolean>;
}

export interface StartOptions {
  /** Extra environment (wins over the defaults). */
  env?: Env;
  /** Leave SECRET_KEY unset (a key is generated beside the database). */
  noSecret?: boolean;
  /** Run create-admin before serve (default true). */
  admin?: boolean;
}

// ---------------------------------------------------------------------------------------------------------
// The per-file suite

export interface Suite {
  /** A fresh directory, removed after the run (helpers.ts tempDir()). */
  tempDir(prefix?: string): string;
  /** A fresh directory holding only a copy of the binary. */
  installDir(): Promise<{ dir: string; binary: string }>;
  start(name: string, options?: StartOptions): Promise<Instance>;
  /** Stops an instance now (SIGKILL, or SIGTERM: a clean stop) and stops health-checking it. */
  stop(instance: Instance, signal?: "SIGKILL" | "SIGTERM"): Promise<void>;
  /** Records a response collected outside an instance (for the sweeps). */
  record(label: string, path: string, response: Res): void;
  /** Marks a string the suite submitted as a secret: no response and no server log line may contain it. */
  secret(value: string): string;
  /** Marks a string no server log line may contain (e.g. a token sent where tokens do not belong). */
  logSecret(value: string): string;
  responses: Recorded[];
  /** Defines the closing test: every recorded response has the security headers and leaks nothing. */
  sweep(): void;
  /** Asserts the one response leaks nothing. */
  expectNoLeak(response: Res | string): void;
}

const LEAK_PATTERNS: Array<[string, RegExp]> = [
  ["an argon2 hash", /\$argon2/i],
  ["password_hash", /password_hash/i],
  ["passwordHash", /passwordHash/],
  ["SQLite internals", /SQLITE/i],
  ["a stack frame", / {4}at /],
  ["a source path", /\/src\//],
  ["node_modules", /node_modules/],
  ["a bunfs path", /\$bunfs|\/~BUN\//],
];

export function createSuite(): Suite {
  // A safety net against hangs (argon2 costs ~½ s here); no case asserts on time.
  setDefaultTimeout(45_000);
  const dirs: string[] = [];
  const instances = new Set<Instance>();
  const everStarted: Instance[] = [];
  const responses: Recorded[] = [];
  const secrets = new Set<string>([ADMIN.password, SECRET]);
  const logSecrets = new Set<string>();

  /** Made by helpers.ts (removed after the run); listed here for the leak checks. */
  const tempDir = (prefix = "moxie-sec-") => {
    const dir = helperTempDir(prefix);
    dirs.push(dir);
    return dir;
  };

  const record = (label: string, path: string, response: Res) => {
    responses.push({ ...response, label, path });
  };

  const installDir = async () => {
    const dir = tempDir("moxie-sec-inst-");
    return { dir, binary: await binaryAloneIn(dir) };
  };

  const leakProblems = (text: string): string[] => {
    const problems: string[] = [];
    for (const [what, pattern] of LEAK_PATTERNS) if (pattern.test(text)) problems.push(what);
    for (const value of secrets) if (value && text.includes(value)) problems.push("a submitted secret");
    for (const dir of [tmpdir() + "/moxie-sec", BINARY_CACHE_PREFIX, ...dirs]) if (text.includes(dir)) problems.push(`a temp path (${dir})`);
    return problems;
  };

  async function start(name: string, options: StartOptions = {}): Promise<Instance> {
    const { dir } = await installDir();
    const env = {
      CORS_ORIGINS: ALLOWED_ORIGINS.join(","),
      ...(options.noSecret ? {} : { SECRET_KEY: SECRET }),
      ...options.env,
    };
    const cli = (args: string[], extra: { env?: Env; stdin?: "ignore" | Blob } = {}) =>
      runCli(args, { cwd: dir, env: { ...env, ...extra.env }, stdin: extra.stdin, command: ["./moxie"], timeoutMs: RUN_TIMEOUT_MS });
    if (options.admin !== false) {
      const created = await cli(["create-admin", "--email", ADMIN.email, "--name", ADMIN.name, "--password", ADMIN.password]);
      if (created.code !== 0) throw new Error(`create-admin failed (${created.code}): ${created.stderr}`);
    }

    for (let attempt = 0; ; attempt++) {
      const port = freePort();
      const served = spawnServe(["--port", String(port)], { cwd: dir, env, command: ["./moxie"] });
      const { proc } = served;
      const url = `http://127.0.0.1:${port}`;

      const request = async (method: string, path: string, opts: RequestOptions = {}): Promise<Res> => {
        const headers = new Headers(opts.headers);
        let body = opts.body;
        if (opts.json !== undefined) {
          body = JSON.stringify(opts.json);
          if (!headers.has("content-type")) headers.set("content-type", "application/json");
        }
        if (opts.token !== undefined) headers.set("authorization", `Bearer ${opts.token}`);
        const response = await fetch(url + path, { method, headers, body, redirect: "manual" });
        const text = await response.text();
        const res: Res = { status: response.status, headers: response.headers, text, json: parseJson(text) };
        record(`${name}: ${method} ${path}`, path, res);
        return res;
      };
      const raw = async (parts: Array<string | Uint8Array>) => {
        const first = typeof parts[0] === "string" ? parts[0] : Buffer.from(parts[0] ?? new Uint8Array()).toString("latin1");
        const line = first.split("\r\n")[0] ?? "";
        const res = await rawExchange(port, parts);
        record(`${name}: raw ${line}`, line.split(" ")[1] ?? "", res);
        return res;
      };
      const login = (email: string, password: string, headers: Record<string, string> = {}) =>
        request("POST", "/auth/login", { json: { email, password }, headers });
      const instance: Instance = {
        name,
        dir,
        dbPath: join(dir, "moxie.db"),
        port,
        url,
        env,
        proc,
        stdout: served.stdout,
        stderr: served.stderr,
        request,
        raw,
        login,
        async token(email, password) {
          const res = await login(email, password);
          if (res.status !== 200 || typeof res.json?.access_token !== "string") {
            throw new Error(`sign-in of ${email} failed: ${res.status} ${res.text}`);
          }
          return res.json.access_token as string;
        },
        adminToken() {
          if (options.noSecret) throw new Error("this instance generated its own key");
          return signJwt(HS256, validClaims("1", 0));
        },
        cli,
        async users() {
          const listed = await cli(["users", "--json"]);
          if (listed.code !== 0) throw new Error(`users --json failed (${listed.code}): ${listed.stderr}`);
          return JSON.parse(listed.stdout) as Array<Record<string, unknown>>;
        },
        async alive() {
          try {
            const response = await fetch(`${url}/health`);
            return response.status === 200 && (await response.text()) === '{"status":"ok"}';
          } catch {
            return false;
          }
        },
      };
      instances.add(instance);
      everStarted.push(instance);

      // Bounded wait for /health; fails early when serve exits (a port taken between probe and bind: retry).
      let healthy = false;
      for (let poll = 0; poll < 200 && proc.exitCode === null; poll++) {
        if (await instance.alive()) {
          healthy = true;
          break;
        }
        await Bun.sleep(50);
      }
      if (healthy) return instance;
      instances.delete(instance);
      proc.kill("SIGKILL");
      await proc.exited;
      if (attempt < 2 && /in use/.test(served.stderr())) continue;
      throw new Error(`serve did not become healthy (exit ${proc.exitCode}): ${served.stderr()} ${served.stdout()}`);
    }
  }

  async function stop(instance: Instance, signal: "SIGKILL" | "SIGTERM" = "SIGKILL"): Promise<void> {
    instances.delete(instance);
    instance.proc.kill(signal);
    await instance.proc.exited;
  }

  // Every case ends with the servers of this file still answering: GET /health → 200, and (since /health may
  // be answered natively, without running JavaScript) a route through the whole app → its usual 401.
  afterEach(async () => {
    for (const instance of instances) {
      const healthy = await instance.alive();
      if (!healthy) throw new Error(`instance ${instance.name} no longer answers GET /health: ${instance.stderr()}`);
      expect(healthy).toBe(true);
      const me = await fetch(`${instance.url}/auth/me`);
      expect(me.status).toBe(401);
      expect(await me.json()).toEqual({ detail: "Not authenticated" });
    }
  });

  afterAll(async () => {
    for (const instance of [...instances]) await stop(instance);
  });

  const suite: Suite = {
    tempDir,
    installDir,
    start,
    stop,
    record,
    secret(value) {
      secrets.add(value);
      return value;
    },
    logSecret(value) {
      logSecrets.add(value);
      return value;
    },
    responses,
    expectNoLeak(response) {
      const text = typeof response === "string" ? response : response.text;
      expect(leakProblems(text)).toEqual([]);
    },
    sweep() {
      test("sweep: every response of this file has the security headers and {detail} errors; no response or log leaks", () => {
        expect(responses.length).toBeGreaterThan(0);
        const problems: string[] = [];
        for (const response of responses) {
          for (const what of leakProblems(response.text)) problems.push(`${response.label} → ${response.status} leaks ${what}`);
          for (const what of securityHeaderProblems(response)) problems.push(`${response.label} → ${response.status}: ${what}`);
          if (response.status >= 500 && response.status !== 503) problems.push(`${response.label} → ${response.status}`);
          if (response.status === 401 && response.headers.get("www-authenticate") !== "Bearer") {
            problems.push(`${response.label} → 401 without WWW-Authenticate: Bearer`);
          }
          // /ready's 503 is its own documented shape, {"status": "unavailable", "detail": <string>}.
          const errorShape = response.path === "/ready" ? ["detail", "status"] : ["detail"];
          if (response.status >= 400 && (typeof response.json?.detail !== "string" || Object.keys(response.json).sort().join() !== errorShape.join())) {
            problems.push(`${response.label} → ${response.status} is not {"detail": <string>}: ${response.text.slice(0, 120)}`);
          }
        }
        for (const instance of everStarted) {
          if (STACK_FRAME.test(instance.stderr()) || STACK_FRAME.test(instance.stdout())) {
            problems.push(`${instance.name}: the server printed a stack trace`);
          }
          if (instance.stdout().includes("unhandled error")) problems.push(`${instance.name}: the server logged an unhandled error`);
          const logs = instance.stdout() + instance.stderr();
          for (const value of [...secrets, ...logSecrets]) {
            if (value && logs.includes(value)) problems.push(`${instance.name}: the server log contains a password, key or token`);
          }
        }
        expect(problems).toEqual([]);
      });
    },
  };
  return suite;
}

/** What is wrong with a response's security headers (empty when nothing). */
export function securityHeaderProblems(response: { headers: Headers; path: string; status: number }): string[] {
  const problems: string[] = [];
  const expectHeader = (name: string, value: string) => {
    const got = response.headers.get(name);
    if (got !== value) problems.push(`${name} is ${JSON.stringify(got)}, not ${JSON.stringify(value)}`);
  };
  expectHeader("x-content-type-options", "nosniff");
  expectHeader("x-frame-options", "DENY");
  expectHeader("referrer-policy", "no-referrer");
  if ((response.headers.get("content-type") ?? "").includes("json")) {
    expectHeader("content-security-policy", "default-src 'none'; frame-ancestors 'none'");
  }
  const path = response.path.split("?")[0]!.toLowerCase();
  if (/^\/+(auth|admin)(\/|$)/.test(path)) expectHeader("cache-control", "no-store");
  for (const name of ["server", "x-powered-by"]) {
    const value = response.headers.get(name);
    if (value !== null && /\d/.test(value)) problems.push(`${name} names a version: ${value}`);
  }
  return problems;
}

/** Asserts `response` is `status` with exactly `{"detail": <string>}` and, when given, that detail. */
export function expectDetail(response: Res, status: number, detail?: string | RegExp): void {
  if (response.status !== status) throw new Error(`expected ${status}, got ${response.status}: ${response.text.slice(0, 300)}`);
  expect(response.json).toBeObject();
  expect(Object.keys(response.json as object)).toEqual(["detail"]);
  expect(typeof response.json.detail).toBe("string");
  if (typeof detail === "string") expect(response.json.detail).toBe(detail);
  else if (detail instanceof RegExp) expect(response.json.detail).toMatch(detail);
  expect(response.text).not.toMatch(STACK_FRAME);
}

/** A clean client error: some 4xx (not 500), `{"detail": <string>}`, no stack. */
export function expectClean4xx(response: Res): void {
  if (response.status < 400 || response.status > 499) {
    throw new Error(`expected a 4xx, got ${response.status}: ${response.text.slice(0, 300)}`);
  }
  expectDetail(response, response.status);
}

/** 401 with the bearer challenge and the given detail. */
export function expect401(response: Res, detail: string): void {
  expectDetail(response, 401, detail);
  expect(response.headers.get("www-authenticate")).toBe("Bearer");
}

/** Distinct, policy-compliant passwords for fixtures (never on the common list). */
let passwordCounter = 0;
export function fixturePassword(tag = "pw"): string {
  passwordCounter++;
  return `sec-suite-${tag}-${passwordCounter}-${Math.random().toString(36).slice(2, 8)}-Q7`;
}

/**
 * The local addresses (as /proc/net/tcp{,6} spell them, hex) of sockets listening on `port`, any interface.
 * "0100007F" is 127.0.0.1; "00000000" and 32 zeros are every interface.
 */
export function listeningAddresses(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  const found: string[] = [];
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      const local = fields[1];
      const state = fields[3];
      if (!local || state !== "0A") continue; // 0A = LISTEN
      const [address, localPort] = local.split(":");
      if (localPort === hexPort && address) found.push(address);
    }
  }
  return found;
}

const LOOPBACK_HEX = new Set(["0100007F", "00000000000000000000000001000000", "0000000000000000FFFF00000100007F"]);

/** True when every address (from listeningAddresses) is a loopback address. */
export function allLoopback(addresses: string[]): boolean {
  return addresses.every((address) => LOOPBACK_HEX.has(address));
}
