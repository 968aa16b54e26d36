// Each setting's parser: a raw value in, the checked value out, or an Error whose message says what is wrong with it.
import { isAbsolute, resolve } from "node:path";
import { canonicalAddress, isIP } from "../lib/ip.ts";
import { parseBucket, parseS3Prefix, type S3Settings } from "../offsite/locations.ts";
import { MIN_SECRET_KEY_LENGTH } from "../tokens/secret.ts";
import type { Environment } from "./env-file.ts";

/** The Python original shipped this value as its default; a deployment still using it is forgeable. */
const KNOWN_PUBLIC_SECRETS = new Set(["change-me-in-production"]);

/**
 * The S3_* variables, each with its AWS_* spelling as a fallback (the names Bun.S3Client reads by itself:
 * moxie reads them here and hands them to the client, so --env-file and MOXIE_ENV_FILE work for them too).
 */
export function parseS3Settings(env: Environment, problems: string[]): S3Settings {
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

export function parseSecretKey(raw: string): string {
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

// navigator.hardwareConcurrency: the core count without a call into node:os.
export function defaultHashingConcurrency(): number {
  return Math.max(1, navigator.hardwareConcurrency);
}

export function integerIn(min: number, max: number): (raw: string) => number {
  return (raw) => {
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      throw new Error(`'${raw}' is not a whole number from ${min} to ${max}`);
    }
    return Number(raw);
  };
}

export function oneOf<T extends string>(choices: readonly T[]): (raw: string) => T {
  return (raw) => {
    const value = raw.toLowerCase() as T;
    if (!choices.includes(value)) throw new Error(`'${raw}' is not one of ${choices.join(", ")}`);
    return value;
  };
}

/** An IPv4 or IPv6 address, in the one spelling the socket's address is compared in (canonicalAddress). */
export function parseAddress(raw: string): string {
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
