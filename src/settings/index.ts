// The only reader of the environment: every setting is parsed and checked here, once, at start.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { LOG_LEVELS, type LogFormat, type LogLevel } from "../lib/log.ts";
import type { S3Settings } from "../offsite/locations.ts";
import { ENV_FILE_VARIABLE, readDotEnv, readEnvFile, SettingsError, type Environment } from "./env-file.ts";
import {
  defaultHashingConcurrency,
  integerIn,
  oneOf,
  parseAddress,
  parseBoolean,
  parseDatabaseUrl,
  parseHost,
  parseOrigins,
  parsePort,
  parseS3Settings,
  parseSecretKey,
} from "./values.ts";

export { SettingsError } from "./env-file.ts";

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
  /** Failures for one account across every address in a window; past it sign-in for that account answers 429. */
  loginMaxFailuresPerAccount: number;
  loginWindowSeconds: number;
  /** An IPv6 client is counted by its network of this many bits for the login throttle and counted refusals. */
  loginIpv6PrefixLength: number;
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
  /** Live sessions an account may hold; the sign-in past it ends the account's oldest session. */
  maxSessionsPerAccount: number;
  /** Off-host backups to S3-compatible storage: credentials, endpoint and the configured bucket and prefix. */
  s3: S3Settings;
}

export const DEFAULT_DATABASE_URL = "sqlite:///./moxie.db";
export const DEFAULT_CORS_ORIGINS = "http://localhost:3000,http://localhost:5173";

/** Settings only `serve` uses: a command that never listens ignores a bad value (and uses the default). */
export const LISTEN_SETTINGS = ["HOST", "PORT"] as const;

export interface LoadOptions {
  /** The settings file named by `--env-file` (relative to cwd); wins over MOXIE_ENV_FILE. */
  envFile?: string;
  /** False for commands that never listen: a bad HOST or PORT is not their problem. Default true. */
  listening?: boolean;
}

/** Where the settings in effect came from, to tell an operator which one chose what. */
export interface SettingsOrigin {
  /** The settings file that was read (./.env or the named file), or undefined when there was none. */
  file: string | undefined;
  /** True when the file was named (--env-file or MOXIE_ENV_FILE) rather than found as ./.env. */
  named: boolean;
  /** Each variable that was set, and where: the process environment or the settings file. */
  from: Record<string, "environment" | "file">;
}

/**
 * The settings in effect for a process started in `cwd`: the real environment wins over the settings file,
 * which is `--env-file`/MOXIE_ENV_FILE when named (and must then be readable), else `.env` in `cwd` if any.
 * Throws SettingsError naming every bad variable.
 */
export function loadSettings(cwd: string, environment: Environment = process.env, options: LoadOptions = {}): Settings {
  return loadSettingsWithOrigin(cwd, environment, options).settings;
}

export function loadSettingsWithOrigin(
  cwd: string,
  environment: Environment = process.env,
  options: LoadOptions = {},
): { settings: Settings; origin: SettingsOrigin } {
  const real = definedOnly(environment);
  const namedRaw = options.envFile ?? (real[ENV_FILE_VARIABLE]?.trim() || undefined);
  let file: string | undefined;
  let fromFile: Environment;
  if (namedRaw !== undefined) {
    const source = options.envFile !== undefined ? "--env-file" : ENV_FILE_VARIABLE;
    file = resolve(cwd, namedRaw);
    fromFile = readEnvFile(file, source);
  } else {
    const dotEnv = resolve(cwd, ".env");
    fromFile = readDotEnv(cwd);
    file = existsSync(dotEnv) ? dotEnv : undefined;
  }
  const from: SettingsOrigin["from"] = {};
  // An empty value counts as unset (see parseSettings), so it chose nothing.
  for (const [key, value] of Object.entries(fromFile)) if (value?.trim()) from[key] = "file";
  for (const [key, value] of Object.entries(real)) if (value?.trim()) from[key] = "environment";
  const settings = parseSettings({ ...fromFile, ...real }, cwd, { listening: options.listening });
  return { settings, origin: { file, named: namedRaw !== undefined, from } };
}

/** Which setting chose the database file, in words, e.g. "DATABASE_URL in /etc/moxie/moxie.env". */
export function databaseChoice(origin: SettingsOrigin, cwd: string): string {
  const from = origin.from.DATABASE_URL;
  if (from === "environment") return "DATABASE_URL in the environment";
  if (from === "file") return `DATABASE_URL in ${origin.file}`;
  const unset = origin.file ? `set neither in the environment nor in ${origin.file}` : "not set and there is no ./.env";
  return `the default ./moxie.db in the working directory ${cwd}: DATABASE_URL is ${unset}`;
}

/** Parses already-merged variables; exported for tests, which pass their own. */
export function parseSettings(env: Environment, cwd: string, options: { listening?: boolean } = {}): Settings {
  const problems: string[] = [];
  const ignored = new Set<string>(options.listening === false ? LISTEN_SETTINGS : []);
  const take = <T>(key: string, parse: (raw: string) => T, fallback: string | undefined): T | undefined => {
    // An empty value (`SECRET_KEY=` in a .env template) means "not set".
    const given = env[key]?.trim();
    const raw = given === undefined || given === "" ? fallback : given;
    if (raw === undefined) return undefined;
    try {
      return parse(raw.trim());
    } catch (error) {
      // A command that never listens runs with the default rather than refusing over serve's setting.
      if (ignored.has(key) && fallback !== undefined) return parse(fallback);
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
  const loginMaxFailuresPerAccount = take("LOGIN_MAX_FAILURES_PER_ACCOUNT", integerIn(1, 100_000), "50");
  const loginWindowSeconds = take("LOGIN_WINDOW_SECONDS", integerIn(1, 86_400), "900");
  // 64: one host's usual share. Shorter than 32 would count a whole provider as one client; 128 counts each address.
  const loginIpv6PrefixLength = take("LOGIN_IPV6_PREFIX", integerIn(32, 128), "64");
  const trustedProxy = take("TRUSTED_PROXY", parseAddress, undefined);
  const logLevel = take("LOG_LEVEL", oneOf(LOG_LEVELS), "info");
  const logFormat = take("LOG_FORMAT", oneOf(["json", "pretty"] as const), "json");
  const shutdownGraceSeconds = take("SHUTDOWN_GRACE_SECONDS", integerIn(0, 3600), "10");
  const auditRetentionDays = take("AUDIT_RETENTION_DAYS", integerIn(0, 36_500), "0");
  // Set only to pin the bound (tests make refusals certain with 1 and 0); the defaults follow the machine.
  const hashingConcurrency = take("HASHING_CONCURRENCY", integerIn(1, 1024), String(defaultHashingConcurrency()));
  const hashingQueue = take("HASHING_QUEUE", integerIn(0, 100_000), String((hashingConcurrency ?? 1) * 32));
  // 10: a phone, an office PC and a few browsers each for one agent, with room; a script signing in in a loop
  // cannot grow the table past it. 1 would make every sign-in end the last one.
  const maxSessionsPerAccount = take("MAX_SESSIONS_PER_ACCOUNT", integerIn(1, 1000), "10");
  const s3 = parseS3Settings(env, problems);

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
    loginMaxFailuresPerAccount: loginMaxFailuresPerAccount!,
    loginWindowSeconds: loginWindowSeconds!,
    loginIpv6PrefixLength: loginIpv6PrefixLength!,
    trustedProxy,
    logLevel: logLevel!,
    logFormat: logFormat!,
    shutdownGraceSeconds: shutdownGraceSeconds!,
    auditRetentionDays: auditRetentionDays!,
    hashingConcurrency: hashingConcurrency!,
    hashingQueue: hashingQueue!,
    maxSessionsPerAccount: maxSessionsPerAccount!,
    s3,
  };
}

function definedOnly(environment: Environment): Environment {
  return Object.fromEntries(Object.entries(environment).filter(([, value]) => value !== undefined));
}
