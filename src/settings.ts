// The only reader of the environment: every setting is parsed and checked here, once, at start.
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { isAbsolute, resolve } from "node:path";
import { LOG_LEVELS, type LogFormat, type LogLevel } from "./log.ts";

export interface Settings {
  /** Absolute path of the SQLite database file. */
  databasePath: string;
  /** HMAC key for access tokens; undefined means "generate one beside the database". */
  secretKey: string | undefined;
  corsOrigins: string[];
  host: string;
  port: number;
  /** Serve /openapi.json and /docs. */
  docs: boolean;
  /** Serve the admin console at /console/. */
  console: boolean;
  /** Largest request body accepted, in bytes. */
  bodyLimitBytes: number;
  loginMaxFailures: number;
  loginMaxFailuresPerAddress: number;
  loginWindowSeconds: number;
  /** The reverse proxy's address; only its X-Forwarded-For is believed. */
  trustedProxy: string | undefined;
  logLevel: LogLevel;
  logFormat: LogFormat;
  /** How long in-flight requests get to finish after SIGTERM/SIGINT. */
  shutdownGraceSeconds: number;
  /** Audit events older than this many days are pruned at start and daily; 0 keeps them forever. */
  auditRetentionDays: number;
  /** argon2 operations run at once (default: one per core). */
  hashingConcurrency: number;
  /** Sign-ins that may wait for a hashing slot before the rest are answered 503 (default: 32 per slot). */
  hashingQueue: number;
}

/** Raised with every bad key at once, so an operator fixes the whole file in one pass. */
export class SettingsError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join("; "));
    this.name = "SettingsError";
  }
}

export const DEFAULT_DATABASE_URL = "sqlite:///./moxie.db";
export const DEFAULT_CORS_ORIGINS = "http://localhost:3000,http://localhost:5173";
export const MIN_SECRET_KEY_LENGTH = 32;
/** The Python original shipped this value as its default; a deployment still using it is forgeable. */
const KNOWN_PUBLIC_SECRETS = new Set(["change-me-in-production"]);

export type Environment = Record<string, string | undefined>;

/**
 * The settings in effect for a process started in `cwd`: the real environment wins over `.env`.
 * Throws SettingsError naming every bad variable.
 */
export function loadSettings(cwd: string, environment: Environment = process.env): Settings {
  return parseSettings({ ...readDotEnv(cwd), ...definedOnly(environment) }, cwd);
}

/** Parses already-merged variables; exported for tests, which pass their own. */
export function parseSettings(env: Environment, cwd: string): Settings {
  const problems: string[] = [];
  const take = <T>(key: string, parse: (raw: string) => T, fallback: string | undefined): T | undefined => {
    // An empty value (`SECRET_KEY=` in a .env template) means "not set".
    const given = env[key]?.trim();
    const raw = given === undefined || given === "" ? fallback : given;
    if (raw === undefined) return undefined;
    try {
      return parse(raw.trim());
    } catch (error) {
      problems.push(`${key}: ${(error as Error).message}`);
      return undefined;
    }
  };

  const databasePath = take("DATABASE_URL", (raw) => parseDatabaseUrl(raw, cwd), DEFAULT_DATABASE_URL);
  const secretKey = take("SECRET_KEY", parseSecretKey, undefined);
  const corsOrigins = take("CORS_ORIGINS", parseOrigins, DEFAULT_CORS_ORIGINS);
  const host = take("HOST", parseHost, "127.0.0.1");
  const port = take("PORT", parsePort, "8000");
  const docs = take("DOCS", parseBoolean, "true");
  const consolePage = take("CONSOLE", parseBoolean, "true");
  const bodyLimitBytes = take("BODY_LIMIT_BYTES", integerIn(1024, 16 * 1024 * 1024), "65536");
  const loginMaxFailures = take("LOGIN_MAX_FAILURES", integerIn(1, 1000), "5");
  const loginMaxFailuresPerAddress = take("LOGIN_MAX_FAILURES_PER_ADDRESS", integerIn(1, 100_000), "30");
  const loginWindowSeconds = take("LOGIN_WINDOW_SECONDS", integerIn(1, 86_400), "900");
  const trustedProxy = take("TRUSTED_PROXY", parseAddress, undefined);
  const logLevel = take("LOG_LEVEL", oneOf(LOG_LEVELS), "info");
  const logFormat = take("LOG_FORMAT", oneOf(["json", "pretty"] as const), "json");
  const shutdownGraceSeconds = take("SHUTDOWN_GRACE_SECONDS", integerIn(0, 3600), "10");
  const auditRetentionDays = take("AUDIT_RETENTION_DAYS", integerIn(0, 36_500), "0");
  // Set only to pin the bound (tests make refusals certain with 1 and 0); the defaults follow the machine.
  const hashingConcurrency = take("HASHING_CONCURRENCY", integerIn(1, 1024), String(defaultHashingConcurrency()));
  const hashingQueue = take("HASHING_QUEUE", integerIn(0, 100_000), String((hashingConcurrency ?? 1) * 32));

  if (problems.length > 0) throw new SettingsError(problems);
  return {
    databasePath: databasePath!,
    secretKey,
    corsOrigins: corsOrigins!,
    host: host!,
    port: port!,
    docs: docs!,
    console: consolePage!,
    bodyLimitBytes: bodyLimitBytes!,
    loginMaxFailures: loginMaxFailures!,
    loginMaxFailuresPerAddress: loginMaxFailuresPerAddress!,
    loginWindowSeconds: loginWindowSeconds!,
    trustedProxy,
    logLevel: logLevel!,
    logFormat: logFormat!,
    shutdownGraceSeconds: shutdownGraceSeconds!,
    auditRetentionDays: auditRetentionDays!,
    hashingConcurrency: hashingConcurrency!,
    hashingQueue: hashingQueue!,
  };
}

/** Accepts `sqlite:////abs/path.db`, `sqlite:///./rel.db` and a plain file path (absolute or relative). */
export function parseDatabaseUrl(raw: string, cwd: string): string {
  if (raw === "") throw new Error("must not be empty");
  let path = raw;
  if (raw.includes("://")) {
    const prefix = "sqlite:///";
    if (!raw.startsWith(prefix)) throw new Error("only sqlite:/// URLs or a file path are supported");
    // As SQLAlchemy reads it: sqlite:///./x.db and sqlite:///x.db are relative, sqlite:////srv/x.db is absolute.
    path = raw.slice(prefix.length);
  }
  if (path === "" || path === ":memory:" || path.endsWith("/")) throw new Error("must name a database file");
  if (path.includes("\0")) throw new Error("must not contain NUL");
  return isAbsolute(path) ? resolve(path) : resolve(cwd, path);
}

function parseSecretKey(raw: string): string {
  if (KNOWN_PUBLIC_SECRETS.has(raw)) throw new Error("is the original's public default; set a random value");
  if (raw.length < MIN_SECRET_KEY_LENGTH) {
    throw new Error(`must be at least ${MIN_SECRET_KEY_LENGTH} characters (try: openssl rand -hex 32)`);
  }
  return raw;
}

/** Each entry must be a full origin, `scheme://host[:port]`; a wildcard would reflect any site. */
export function parseOrigins(raw: string): string[] {
  const entries = raw.split(",").map((entry) => entry.trim());
  if (raw === "") return [];
  const origins: string[] = [];
  for (const entry of entries) {
    if (entry === "") throw new Error("has an empty entry");
    if (entry === "*" || entry.toLowerCase() === "null") throw new Error(`'${entry}' is not allowed; list each origin`);
    let url: URL;
    try {
      url = new URL(entry);
    } catch {
      throw new Error(`'${entry}' is not an origin like http://localhost:3000`);
    }
    const candidate = entry.endsWith("/") ? entry.slice(0, -1) : entry;
    if ((url.protocol !== "http:" && url.protocol !== "https:") || url.origin !== candidate.toLowerCase()) {
      throw new Error(`'${entry}' is not an origin like http://localhost:3000 (scheme://host[:port], no path)`);
    }
    origins.push(url.origin);
  }
  return origins;
}

export function parseHost(raw: string): string {
  if (raw === "" || /\s/.test(raw)) throw new Error("must be a host name or address");
  return raw;
}

export function parsePort(raw: string): number {
  if (!/^\d{1,5}$/.test(raw) || Number(raw) > 65535) throw new Error(`'${raw}' is not a port number (0-65535)`);
  return Number(raw);
}

// navigator.hardwareConcurrency, not node:os: loading node:os alone costs tens of ms at start-up.
function defaultHashingConcurrency(): number {
  return Math.max(1, navigator.hardwareConcurrency);
}

function integerIn(min: number, max: number): (raw: string) => number {
  return (raw) => {
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      throw new Error(`'${raw}' is not a whole number from ${min} to ${max}`);
    }
    return Number(raw);
  };
}

function oneOf<T extends string>(choices: readonly T[]): (raw: string) => T {
  return (raw) => {
    const value = raw.toLowerCase() as T;
    if (!choices.includes(value)) throw new Error(`'${raw}' is not one of ${choices.join(", ")}`);
    return value;
  };
}

/** An IPv4 or IPv6 address, as the socket reports it. */
function parseAddress(raw: string): string {
  if (!isIP(raw)) throw new Error(`'${raw}' is not an IP address (the proxy's address as moxie sees it)`);
  return raw;
}

export function parseBoolean(raw: string): boolean {
  const value = raw.toLowerCase();
  if (["true", "1", "yes", "on"].includes(value)) return true;
  if (["false", "0", "no", "off"].includes(value)) return false;
  throw new Error(`'${raw}' is not true or false`);
}

function definedOnly(environment: Environment): Environment {
  return Object.fromEntries(Object.entries(environment).filter(([, value]) => value !== undefined));
}

/** Reads `KEY=value` lines from `.env` in `cwd`; a missing file is no error. */
export function readDotEnv(cwd: string): Environment {
  const path = resolve(cwd, ".env");
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return {};
  }
  const values: Environment = {};
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!match) continue;
    const [, key, rawValue = ""] = match;
    values[key!] = unquote(rawValue);
  }
  return values;
}

function unquote(value: string): string {
  const quote = value[0];
  if ((quote === '"' || quote === "'") && value.endsWith(quote) && value.length >= 2) return value.slice(1, -1);
  const comment = value.indexOf(" #");
  return comment === -1 ? value : value.slice(0, comment).trimEnd();
}
