import { describe, expect, test } from "bun:test";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { databaseChoice, loadSettings, loadSettingsWithOrigin, parseSettings, SettingsError } from "../src/settings/index.ts";
import { tempDir } from "./helpers.ts";

const GOOD_SECRET = "0123456789abcdef0123456789abcdef";

function problemsOf(env: Record<string, string>): string[] {
  try {
    parseSettings(env, "/srv/app");
  } catch (error) {
    if (error instanceof SettingsError) return error.problems;
    throw error;
  }
  return [];
}

describe("settings", () => {
  test("defaults match the original", () => {
    const settings = parseSettings({}, "/srv/app");
    expect(settings).toMatchObject({
      databasePath: "/srv/app/moxie.db",
      secretKey: undefined,
      corsOrigins: ["http://localhost:3000", "http://localhost:5173"],
      host: "127.0.0.1",
      port: 8000,
      docs: true,
      console: true,
      bodyLimitBytes: 65536,
      loginMaxFailures: 5,
      loginMaxFailuresPerAddress: 30,
      loginMaxFailuresPerAccount: 50,
      loginWindowSeconds: 900,
      loginIpv6PrefixLength: 64,
      trustedProxy: undefined,
      logLevel: "info",
      logFormat: "json",
      shutdownGraceSeconds: 10,
      maxSessionsPerAccount: 10,
    });
  });

  test("MAX_SESSIONS_PER_ACCOUNT: a whole number from 1 to 1000 (default 10); anything else names the variable", () => {
    const max = (raw: string) => parseSettings({ MAX_SESSIONS_PER_ACCOUNT: raw }, "/").maxSessionsPerAccount;
    expect(max("")).toBe(10);
    expect(max("1")).toBe(1);
    expect(max("1000")).toBe(1000);
    for (const bad of ["0", "1001", "-1", "2.5", "ten"]) {
      expect(problemsOf({ MAX_SESSIONS_PER_ACCOUNT: bad })).toEqual([`MAX_SESSIONS_PER_ACCOUNT: '${bad}' is not a whole number from 1 to 1000`]);
    }
  });

  test("DATABASE_URL: SQLAlchemy URLs and plain paths", () => {
    const path = (url: string) => parseSettings({ DATABASE_URL: url }, "/srv/app").databasePath;
    expect(path("sqlite:///./data/moxie.db")).toBe("/srv/app/data/moxie.db");
    expect(path("sqlite:///moxie.db")).toBe("/srv/app/moxie.db");
    expect(path("sqlite:////var/lib/moxie/moxie.db")).toBe("/var/lib/moxie/moxie.db");
    expect(path("/var/lib/moxie/m.db")).toBe("/var/lib/moxie/m.db");
    expect(path("rel/m.db")).toBe("/srv/app/rel/m.db");
    // SQLAlchemy URL options are for Python's driver: not part of the file name.
    expect(path("sqlite:///./moxie.db?timeout=30")).toBe("/srv/app/moxie.db");
    expect(path("sqlite:////var/lib/moxie/moxie.db?check_same_thread=false&timeout=5")).toBe("/var/lib/moxie/moxie.db");
  });

  test("TRUSTED_PROXY: any spelling of an address is kept in the one spelling the socket's is compared in", () => {
    const proxy = (raw: string) => parseSettings({ TRUSTED_PROXY: raw }, "/").trustedProxy;
    expect(proxy("127.0.0.1")).toBe("127.0.0.1");
    expect(proxy("::ffff:127.0.0.1")).toBe("127.0.0.1");
    expect(proxy("::FFFF:7f00:1")).toBe("127.0.0.1");
    expect(proxy("0:0:0:0:0:0:0:1")).toBe("::1");
    expect(proxy("[::1]")).toBe("::1");
    expect(proxy("2001:DB8:0:0:0:0:0:1")).toBe("2001:db8::1");
    for (const bad of ["localhost", "10.0.0.256", "proxy.example.com"]) {
      expect(problemsOf({ TRUSTED_PROXY: bad })).toEqual([expect.stringMatching(/^TRUSTED_PROXY: /)]);
    }
  });

  test("LOGIN_IPV6_PREFIX: a prefix length from 32 to 128 (default 64); anything else names the variable", () => {
    const prefix = (raw: string) => parseSettings({ LOGIN_IPV6_PREFIX: raw }, "/").loginIpv6PrefixLength;
    expect(prefix("")).toBe(64);
    expect(prefix("48")).toBe(48);
    expect(prefix("32")).toBe(32);
    expect(prefix("128")).toBe(128);
    for (const bad of ["31", "129", "0", "/64", "64.5", "-64", "sixty-four"]) {
      expect(problemsOf({ LOGIN_IPV6_PREFIX: bad })).toEqual([`LOGIN_IPV6_PREFIX: '${bad}' is not a whole number from 32 to 128`]);
    }
  });

  test("SECRET_KEY: short or the original's default is refused, naming the variable", () => {
    expect(problemsOf({ SECRET_KEY: "short" })).toEqual([expect.stringMatching(/^SECRET_KEY: .*32/)]);
    // The boundary itself: 31 characters stop moxie, 32 are enough.
    expect(problemsOf({ SECRET_KEY: "k".repeat(31) })).toEqual([expect.stringMatching(/^SECRET_KEY: .*32/)]);
    expect(parseSettings({ SECRET_KEY: "k".repeat(32) }, "/").secretKey).toBe("k".repeat(32));
    expect(problemsOf({ SECRET_KEY: "change-me-in-production" })).toEqual([expect.stringMatching(/^SECRET_KEY: /)]);
    expect(parseSettings({ SECRET_KEY: GOOD_SECRET }, "/").secretKey).toBe(GOOD_SECRET);
    expect(parseSettings({ SECRET_KEY: "" }, "/").secretKey).toBeUndefined();
  });

  test("CORS_ORIGINS: full origins only", () => {
    expect(parseSettings({ CORS_ORIGINS: "https://a.example.com, http://localhost:8080/" }, "/").corsOrigins).toEqual([
      "https://a.example.com",
      "http://localhost:8080",
    ]);
    for (const bad of ["*", "null", "https://a.com,,https://b.com", "a.example.com", "https://a.com/path", "ftp://a.com", "https://a.com?x=1", "http://*.a.com", "https://a.com:443", "http://a.com:80"]) {
      expect(problemsOf({ CORS_ORIGINS: bad })).toEqual([expect.stringMatching(/^CORS_ORIGINS: /)]);
    }
    // A default port is refused with the spelling that works, not as "not an origin".
    expect(problemsOf({ CORS_ORIGINS: "https://moxie.example.com:443" })).toEqual([
      "CORS_ORIGINS: 'https://moxie.example.com:443' names the default port of https; write it as https://moxie.example.com",
    ]);
  });

  test("PORT and HOST", () => {
    expect(parseSettings({ PORT: "9000", HOST: "0.0.0.0" }, "/")).toMatchObject({ port: 9000, host: "0.0.0.0" });
    for (const bad of ["abc", "-1", "65536", "80.5", "8000x"]) {
      expect(problemsOf({ PORT: bad })).toEqual([expect.stringMatching(/^PORT: /)]);
    }
  });

  test("every bad key is named at once", () => {
    const problems = problemsOf({ PORT: "x", SECRET_KEY: "short", CORS_ORIGINS: "*", DATABASE_URL: "postgres://db/x" });
    expect(problems.map((problem) => problem.split(":")[0]).sort()).toEqual(["CORS_ORIGINS", "DATABASE_URL", "PORT", "SECRET_KEY"]);
  });

  test(".env in the working directory is read, and the real environment wins", () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, ".env"),
      ['# comment', 'PORT=9100', 'export HOST="0.0.0.0"', `SECRET_KEY='${GOOD_SECRET}'`, "CORS_ORIGINS=https://a.example.com # trailing"].join("\n"),
    );
    const fromFile = loadSettings(dir, {});
    expect(fromFile).toMatchObject({ port: 9100, host: "0.0.0.0", secretKey: GOOD_SECRET, corsOrigins: ["https://a.example.com"] });
    expect(loadSettings(dir, { PORT: "9200" }).port).toBe(9200);
  });

  test("names in a settings file are read in any case, as the Python original read its .env; upper case wins a tie", () => {
    const dir = tempDir();
    writeFileSync(join(dir, ".env"), [`secret_key=${GOOD_SECRET}`, "database_url=sqlite:///./data/moxie.db", "Port=9100", "PORT=9200"].join("\n"));
    expect(loadSettings(dir, {})).toMatchObject({ secretKey: GOOD_SECRET, databasePath: join(dir, "data/moxie.db"), port: 9200 });
    expect(loadSettingsWithOrigin(dir, {}).origin.from.DATABASE_URL).toBe("file");
  });

  test("a ./.env that is there but cannot be read stops everything, naming it; it is never skipped", () => {
    const dir = tempDir();
    mkdirSync(join(dir, ".env"));
    expect(() => loadSettings(dir, {})).toThrow(new SettingsError([`./.env ${join(dir, ".env")}: cannot read it: it is a directory`]));
    // A link to a settings file that is not there (a server's file not installed yet, a typo in the link).
    const linked = tempDir();
    symlinkSync(join(linked, "missing.env"), join(linked, ".env"));
    expect(() => loadSettings(linked, {})).toThrow(
      new SettingsError([`./.env ${join(linked, ".env")}: cannot read it: it is a symbolic link to a file that does not exist`]),
    );
  });

  test("HOST is an IP address or localhost, checked like every other setting", () => {
    for (const good of ["127.0.0.1", "0.0.0.0", "::1", "::", "[::1]", "localhost", "LOCALHOST", "192.168.1.20"]) {
      expect(problemsOf({ HOST: good })).toEqual([]);
    }
    expect(parseSettings({ HOST: "[::1]" }, "/").host).toBe("::1");
    for (const bad of ["not-a-host", "example.com", "127.0.0.1 0.0.0.0", "300.1.1.1", "http://127.0.0.1"]) {
      expect(problemsOf({ HOST: bad })).toEqual([expect.stringMatching(/^HOST: '.*' is not an address to listen on/)]);
    }
  });

  test("a command that never listens ignores a bad HOST or PORT (and runs with the defaults); the rest still count", () => {
    const settings = parseSettings({ HOST: "nowhere", PORT: "eighty" }, "/", { listening: false });
    expect(settings).toMatchObject({ host: "127.0.0.1", port: 8000 });
    expect(() => parseSettings({ PORT: "eighty", SECRET_KEY: "short" }, "/", { listening: false })).toThrow(/SECRET_KEY/);
    expect(() => parseSettings({ PORT: "eighty" }, "/")).toThrow(/PORT/);
  });

  test("a named settings file replaces ./.env, must be readable, and says which setting chose the database", () => {
    const dir = tempDir();
    writeFileSync(join(dir, ".env"), "DATABASE_URL=./from-dotenv.db\n");
    const named = join(tempDir(), "moxie.env");
    writeFileSync(named, "DATABASE_URL=sqlite:////srv/moxie/moxie.db\nPORT=9300\n");

    const viaFlag = loadSettingsWithOrigin(dir, {}, { envFile: named });
    expect(viaFlag.settings).toMatchObject({ databasePath: "/srv/moxie/moxie.db", port: 9300 });
    expect(viaFlag.origin).toEqual({ file: named, named: true, from: { DATABASE_URL: "file", PORT: "file" } });
    expect(databaseChoice(viaFlag.origin, dir)).toBe(`DATABASE_URL in ${named}`);

    const viaVariable = loadSettingsWithOrigin(dir, { MOXIE_ENV_FILE: named, PORT: "9400" });
    expect(viaVariable.settings).toMatchObject({ databasePath: "/srv/moxie/moxie.db", port: 9400 });
    expect(viaVariable.origin.from.PORT).toBe("environment");

    const dotEnv = loadSettingsWithOrigin(dir, {});
    expect(dotEnv.settings.databasePath).toBe(join(dir, "from-dotenv.db"));
    expect(databaseChoice(dotEnv.origin, dir)).toBe(`DATABASE_URL in ${join(dir, ".env")}`);
    expect(databaseChoice(loadSettingsWithOrigin(dir, { DATABASE_URL: "/x.db" }).origin, dir)).toBe("DATABASE_URL in the environment");
    const bare = tempDir();
    expect(databaseChoice(loadSettingsWithOrigin(bare, {}).origin, bare)).toBe(
      `the default ./moxie.db in the working directory ${bare}: DATABASE_URL is not set and there is no ./.env`,
    );

    expect(() => loadSettings(dir, {}, { envFile: join(dir, "missing.env") })).toThrow(
      new SettingsError([`--env-file ${join(dir, "missing.env")}: cannot read it: no such file`]),
    );
  });
});

describe("S3 settings (backups off the machine)", () => {
  test("S3_* or the AWS_* spelling Bun reads, S3_* winning; the variable each came from is kept for messages", () => {
    const s3 = parseSettings({ AWS_ACCESS_KEY_ID: "aws-id", S3_ACCESS_KEY_ID: "s3-id", AWS_SECRET_ACCESS_KEY: "aws-secret", AWS_BUCKET: "b1", S3_REGION: "auto" }, "/").s3;
    expect(s3).toMatchObject({ accessKeyId: "s3-id", secretAccessKey: "aws-secret", bucket: "b1", region: "auto", prefix: "moxie/", endpoint: undefined });
    expect(s3.names).toEqual({ accessKeyId: "S3_ACCESS_KEY_ID", secretAccessKey: "AWS_SECRET_ACCESS_KEY", bucket: "AWS_BUCKET", region: "S3_REGION" });
    expect(parseSettings({}, "/").s3).toMatchObject({ bucket: undefined, accessKeyId: undefined, secretAccessKey: undefined, prefix: "moxie/" });
  });

  test("a prefix gets its one trailing slash; the endpoint is an address without credentials or a path", () => {
    const prefix = (raw: string) => parseSettings({ S3_PREFIX: raw }, "/").s3.prefix;
    expect(prefix("office")).toBe("office/");
    expect(prefix("/office/nightly/")).toBe("office/nightly/");
    expect(parseSettings({ S3_ENDPOINT: "https://acct.r2.cloudflarestorage.com/" }, "/").s3.endpoint).toBe("https://acct.r2.cloudflarestorage.com");
    const problems = (env: Record<string, string>) => {
      try {
        parseSettings(env, "/");
        return [];
      } catch (error) {
        return (error as SettingsError).problems;
      }
    };
    // The endpoint is printed by doctor and in errors: a user and password in it are refused, never echoed.
    const withSecret = problems({ S3_ENDPOINT: "https://id:hunter2@s3.example.com" });
    expect(withSecret).toEqual(["S3_ENDPOINT: must not hold a user name or password; set S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY"]);
    expect(problems({ AWS_ENDPOINT: "s3.example.com" })[0]).toStartWith("AWS_ENDPOINT: ");
    expect(problems({ S3_ENDPOINT: "https://s3.example.com/bucket" })[0]).toContain("the bucket goes in S3_BUCKET");
    expect(problems({ S3_BUCKET: "s3://bucket/x" })[0]).toStartWith("S3_BUCKET: 's3://bucket/x' is not a bucket name");
    expect(problems({ S3_PREFIX: "a//b" })[0]).toStartWith("S3_PREFIX: ");
  });
});
