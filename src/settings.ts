// The only reader of the environment: every setting is parsed and checked here, once, at start.
import { existsSync, lstatSync, readFileSync } from "node:fs";
import { isIP } from "node:net";
import { userInfo } from "node:os";
import { isAbsolute, resolve } from "node:path";
import { canonicalAddress } from "./http/client-address.ts";
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
  /** Off-host backups to S3-compatible storage: credentials, endpoint and the configured bucket and prefix. */
  s3: S3Settings;
}

/**
 * S3_* (or the AWS_* spellings Bun's own client reads; S3_* wins). Every field is undefined when unset: the
 * S3 commands say which one is missing. The secret and session token are never printed (`moxie doctor` says
 * "set"); neither is the access key id.
 */
export interface S3Settings {
  /** The bucket of the off-host copies the timer and `moxie doctor` look at. */
  bucket: string | undefined;
  /** Where under the bucket those copies go: "" or ending in "/" (default "moxie/"). */
  prefix: string;
  /** e.g. https://<account>.r2.cloudflarestorage.com; unset means AWS S3 in the region. */
  endpoint: string | undefined;
  region: string | undefined;
  accessKeyId: string | undefined;
  secretAccessKey: string | undefined;
  sessionToken: string | undefined;
  /** The variable each value came from, by field (e.g. bucket: "S3_BUCKET"), for messages that name it. */
  names: Partial<Record<"bucket" | "endpoint" | "region" | "accessKeyId" | "secretAccessKey" | "sessionToken", string>>;
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

/** Names the settings file to read instead of ./.env (as `--env-file PATH` does); for systemd units and shells. */
export const ENV_FILE_VARIABLE = "MOXIE_ENV_FILE";
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
    s3,
  };
}

/**
 * The S3_* variables, each with its AWS_* spelling as a fallback (the names Bun.S3Client reads by itself:
 * moxie reads them here and hands them to the client, so --env-file and MOXIE_ENV_FILE work for them too).
 */
function parseS3Settings(env: Environment, problems: string[]): S3Settings {
  const names: S3Settings["names"] = {};
  const read = (field: keyof S3Settings["names"], suffix: string, parse: (raw: string) => string = (raw) => raw): string | undefined => {
    for (const name of [`S3_${suffix}`, `AWS_${suffix}`]) {
      const raw = env[name]?.trim();
      if (raw === undefined || raw === "") continue;
      names[field] = name;
      try {
        return parse(raw);
      } catch (error) {
        problems.push(`${name}: ${(error as Error).message}`);
        return undefined;
      }
    }
    return undefined;
  };
  const s3 = {
    bucket: read("bucket", "BUCKET", parseBucket),
    endpoint: read("endpoint", "ENDPOINT", parseEndpoint),
    region: read("region", "REGION"),
    accessKeyId: read("accessKeyId", "ACCESS_KEY_ID"),
    secretAccessKey: read("secretAccessKey", "SECRET_ACCESS_KEY"),
    sessionToken: read("sessionToken", "SESSION_TOKEN"),
  };
  let prefix = "moxie/";
  const rawPrefix = env.S3_PREFIX?.trim();
  if (rawPrefix !== undefined && rawPrefix !== "") {
    try {
      prefix = parseS3Prefix(rawPrefix);
    } catch (error) {
      problems.push(`S3_PREFIX: ${(error as Error).message}`);
    }
  }
  return { ...s3, prefix, names };
}

/** A bucket name as S3, R2, B2, MinIO and Garage accept them (3-63 characters; older AWS buckets may be longer). */
export function parseBucket(raw: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{1,254}$/.test(raw)) {
    throw new Error(`'${raw}' is not a bucket name (letters, digits, '.', '-', '_'; no '/' or s3://)`);
  }
  return raw;
}

/** A key prefix: no leading '/', and a trailing '/' added, so the copies sit in a folder of their own. */
export function parseS3Prefix(raw: string): string {
  const prefix = raw.replace(/^\/+/, "");
  if (prefix === "") return "";
  if (/[\u0000-\u001f\u007f]|\/\//.test(prefix)) throw new Error(`'${raw}' is not a key prefix (no control characters or '//')`);
  return prefix.endsWith("/") ? prefix : `${prefix}/`;
}

/** http(s)://host[:port] with no user or password in it: the endpoint is printed by doctor and in errors. */
function parseEndpoint(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`'${raw}' is not a URL like https://s3.eu-west-1.amazonaws.com`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error(`'${raw}' must start with https:// (or http://)`);
  if (url.username !== "" || url.password !== "") throw new Error("must not hold a user name or password; set S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY");
  if ((url.pathname !== "/" && url.pathname !== "") || url.search !== "" || url.hash !== "") {
    throw new Error(`'${raw}' must be the service's address only (scheme://host[:port]); the bucket goes in S3_BUCKET or the s3:// URL`);
  }
  return url.origin;
}

/** Accepts `sqlite:////abs/path.db`, `sqlite:///./rel.db` and a plain file path (absolute or relative). */
export function parseDatabaseUrl(raw: string, cwd: string): string {
  if (raw === "") throw new Error("must not be empty");
  let path = raw;
  if (raw.includes("://")) {
    const prefix = "sqlite:///";
    if (!raw.startsWith(prefix)) throw new Error("only sqlite:/// URLs or a file path are supported");
    // As SQLAlchemy reads it: sqlite:///./x.db and sqlite:///x.db are relative, sqlite:////srv/x.db is absolute.
    // A query string (`?timeout=30`, `?check_same_thread=false`) holds options for Python's sqlite driver;
    // they mean nothing here, and are not part of the file name.
    path = raw.slice(prefix.length).replace(/\?.*$/s, "");
  }
  if (path === "" || path === ":memory:" || path.endsWith("/")) throw new Error("must name a database file");
  if (path.includes("\0")) throw new Error("must not contain NUL");
  return isAbsolute(path) ? resolve(path) : resolve(cwd, path);
}

function parseSecretKey(raw: string): string {
  if (KNOWN_PUBLIC_SECRETS.has(raw)) {
    throw new Error(
      "is the Python moxie's published default, so anyone can sign tokens with it; set a random value " +
        "(openssl rand -hex 32); sessions signed with the old key end, so everyone signs in again once",
    );
  }
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
    if (entry.includes("*") || entry.toLowerCase() === "null") throw new Error(`'${entry}' is not allowed; list each origin`);
    let url: URL;
    try {
      url = new URL(entry);
    } catch {
      throw new Error(`'${entry}' is not an origin like http://localhost:3000`);
    }
    const candidate = entry.endsWith("/") ? entry.slice(0, -1) : entry;
    if ((url.protocol === "http:" || url.protocol === "https:") && url.port === "" && /:\d+$/.test(candidate)) {
      // Browsers send Origin without the scheme's default port, so `https://a.com:443` would never match.
      throw new Error(`'${entry}' names the default port of ${url.protocol.slice(0, -1)}; write it as ${url.origin}`);
    }
    if ((url.protocol !== "http:" && url.protocol !== "https:") || url.origin !== candidate.toLowerCase()) {
      throw new Error(`'${entry}' is not an origin like http://localhost:3000 (scheme://host[:port], no path)`);
    }
    origins.push(url.origin);
  }
  return origins;
}

/**
 * The address to listen on: an IP address (IPv6 with or without brackets) or `localhost`. A host name would
 * need DNS at start and could name another machine; an operator gives this machine's address instead.
 */
export function parseHost(raw: string): string {
  const bare = raw.startsWith("[") && raw.endsWith("]") ? raw.slice(1, -1) : raw;
  if (bare.toLowerCase() === "localhost") return "localhost";
  if (isIP(bare)) return bare;
  throw new Error(
    `'${raw}' is not an address to listen on: give an IP address of this machine ` +
      "(127.0.0.1 for this machine only, 0.0.0.0 for every interface, ::1 or :: for IPv6) or localhost",
  );
}

export function parsePort(raw: string): number {
  if (!/^\d{1,5}$/.test(raw) || Number(raw) > 65535) throw new Error(`'${raw}' is not a port number (0-65535)`);
  return Number(raw);
}

// navigator.hardwareConcurrency: the core count without a call into node:os (cheap too; this file loads it for userInfo).
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

/** An IPv4 or IPv6 address, in the one spelling the socket's address is compared in (canonicalAddress). */
function parseAddress(raw: string): string {
  const bare = raw.startsWith("[") && raw.endsWith("]") ? raw.slice(1, -1) : raw;
  if (!isIP(bare)) throw new Error(`'${raw}' is not an IP address (the proxy's address as moxie sees it)`);
  return canonicalAddress(bare);
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

/**
 * Reads `KEY=value` lines from `.env` in `cwd`; a missing file is no error. One that is there but cannot be
 * read is: ignoring it would start on the default database and a generated key, as if there were no settings.
 */
export function readDotEnv(cwd: string): Environment {
  const path = resolve(cwd, ".env");
  // lstat, not exists: a link to a missing or unreachable file is a .env that cannot be read, not no .env.
  try {
    lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return {};
  }
  return readEnvFile(path, "./.env");
}

/** A settings file the operator named: it must exist and be readable, or nothing starts. */
export function readEnvFile(path: string, source = "--env-file"): Environment {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT"
        ? isLink(path)
          ? "it is a symbolic link to a file that does not exist"
          : "no such file"
        : code === "EACCES"
          ? `permission denied for ${userName()} (the file must be readable by the user moxie runs as)`
          : code === "EISDIR"
            ? "it is a directory"
            : (error as Error).message;
    throw new SettingsError([`${source} ${path}: cannot read it: ${why}`]);
  }
  return parseEnvText(text);
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** "alice (uid 1000)"; the uid alone when the system has no name for it. */
function userName(): string {
  const uid = process.getuid?.();
  let name: string | undefined;
  try {
    name = userInfo().username;
  } catch {
    name = undefined;
  }
  // Bun reports "unknown" for a uid without a passwd entry (and for some system users).
  return name && name !== "unknown" ? `${name} (uid ${uid ?? "?"})` : `uid ${uid ?? "?"}`;
}

/**
 * `KEY=value` lines as systemd's EnvironmentFile and shells write them: comments, `export`, quotes. Names are
 * read in any case, as the Python original's settings (pydantic) read them: its `.env` may say `secret_key=`;
 * where a file spells one name both ways, the upper-case line wins.
 */
function parseEnvText(text: string): Environment {
  const values: Environment = {};
  const otherCase: Environment = {};
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!match) continue;
    const [, key, rawValue = ""] = match;
    if (key === key!.toUpperCase()) values[key!] = unquote(rawValue);
    else otherCase[key!.toUpperCase()] = unquote(rawValue);
  }
  return { ...otherCase, ...values };
}

function unquote(value: string): string {
  const quote = value[0];
  if ((quote === '"' || quote === "'") && value.endsWith(quote) && value.length >= 2) return value.slice(1, -1);
  const comment = value.indexOf(" #");
  return comment === -1 ? value : value.slice(0, comment).trimEnd();
}
