// `bun run mutate`: puts small, named bugs into the security-critical code one at a time, runs the tests that
// should notice each, and prints which bugs survived. Not part of CI; the score is recorded in test/README.md.
//
//   bun run mutate                 every mutation (a baseline run of the mapped test files first)
//   bun run mutate --only a,b      just these mutation ids
//   bun run mutate --list          the mutations and their test files, without running anything
//   bun run mutate --check         only confirm each mutation's text still occurs exactly once in its file
//   bun run mutate --no-baseline   skip the unmutated run (when you know the tests are green)
//
// Each mutation replaces one exact piece of text, which must occur exactly once in its file; when the code has
// moved on and it does not, the mutation is reported "stale" (fix its text here) instead of silently passing.
// The original file is written back after every run, on Ctrl-C and on SIGTERM, and a journal
// (.mutate-journal.json) lets the next run put back a file left mutated by a run that was killed outright.
//
// Most mutations map to test files that run the sources (in-process, or `bun src/cli.ts`). Where a promise is
// defended only on the compiled binary (test/security/*, test/original-era.test.ts), the mutation names that
// file with a `-t` pattern for the few tests concerned: the binary is rebuilt from the mutated sources (under a
// second; test/support/binary.ts caches by source hash) and that build is removed again after the run.
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cacheDirFor, sourceHash } from "../test/support/source-hash.ts";

const ROOT = join(import.meta.dir, "..");
const JOURNAL = join(ROOT, ".mutate-journal.json");
/** Per mutation: a bound on a hung run (then counted killed: a hang is noticed), not a speed assertion. */
const RUN_TIMEOUT_MS = 300_000;
const PER_TEST_TIMEOUT_MS = 30_000;

interface Mutation {
  id: string;
  /** The promise the bug breaks, as README.md / SECURITY.md state it. */
  breaks: string;
  file: string;
  find: string;
  replace: string;
  /** Further edits of the same file, applied together with the first (each must occur exactly once). */
  also?: Array<{ find: string; replace: string }>;
  /**
   * Test files run together (with `filter`), then each [file, pattern] on its own with its `-t` pattern,
   * stopping at the first run that fails.
   */
  tests: Array<string | [file: string, pattern: string]>;
  /** `bun test -t` pattern for the plain files, to run only the relevant tests of a slow file. */
  filter?: string;
  /** Why a survivor is acceptable (an equivalent mutation, or defence in depth behind another check). */
  acceptable?: string;
}

const T = {
  password: "test/password.test.ts",
  auth: "test/auth.test.ts",
  throttle: "test/throttle.test.ts",
  tokens: "test/tokens.test.ts",
  tokenClock: "test/token-clock.test.ts",
  json: "test/json.test.ts",
  body: "test/body.test.ts",
  http: "test/http.test.ts",
  operations: "test/operations.test.ts",
  accounts: "test/accounts.test.ts",
  opsCli: "test/ops-cli.test.ts",
  damaged: "test/damaged-db.test.ts",
  cli: "test/cli.test.ts",
  cliAccounts: "test/cli-accounts.test.ts",
  writes: "test/write-rules.test.ts",
  originalApp: "test/original-era-app.test.ts",
  fullDisk: "test/security/full-disk.test.ts",
  lifecycle: "test/lifecycle.test.ts",
  settings: "test/settings.test.ts",
  operator: "test/operator.test.ts",
  emails: "test/security/emails.test.ts",
  login: "test/security/login.test.ts",
  // On the compiled binary: always with a -t pattern.
  races: "test/security/races.test.ts",
  originalEra: "test/original-era.test.ts",
  consoleBrowser: "test/console/browser.test.ts",
  docsBrowser: "test/docs/browser.test.ts",
};

export const MUTATIONS: Mutation[] = [
  // --- hashing and the unknown-email path ---------------------------------------------------------------
  {
    id: "dummy-hash-empty",
    breaks: "an unknown email verifies against a real dummy hash of the same cost",
    file: "src/auth/password.ts",
    find: "await verifyPasswordHash(await dummyHash, password, options);",
    replace: 'await verifyPasswordHash("", password, options);',
    tests: [T.password, T.auth],
  },
  {
    id: "dummy-hash-cheap",
    breaks: "an unknown email verifies against a real dummy hash of the same cost",
    file: "src/auth/password.ts",
    find: 'dummyHash ??= Bun.password.hash(crypto.randomUUID(), {\n    algorithm: "argon2id",\n    memoryCost: ARGON2_MEMORY_KIB,',
    replace: 'dummyHash ??= Bun.password.hash(crypto.randomUUID(), {\n    algorithm: "argon2id",\n    memoryCost: 1024,',
    tests: [T.password, T.auth],
  },
  {
    id: "dummy-verify-skipped",
    breaks: "an unknown email verifies against a real dummy hash of the same cost",
    file: "src/auth/password.ts",
    find: "  await verifyPasswordHash(await dummyHash, password, options);\n  return false;",
    replace: "  await dummyHash;\n  return false;",
    tests: [T.password, T.auth],
  },
  {
    id: "dummy-verify-not-awaited",
    breaks: "an unknown email costs as much as a wrong password",
    file: "src/auth/password.ts",
    find: "  await verifyPasswordHash(await dummyHash, password, options);\n  return false;",
    replace: "  void verifyPasswordHash(await dummyHash, password, options);\n  return false;",
    tests: [T.password, T.auth],
  },
  {
    id: "argon2-cost-lowered",
    breaks: "passwords are argon2id, 64 MiB, 2 passes",
    file: "src/auth/password.ts",
    find: "export const ARGON2_MEMORY_KIB = 65_536;",
    replace: "export const ARGON2_MEMORY_KIB = 19_456;",
    tests: [T.password],
  },
  {
    id: "nfc-skipped",
    breaks: "passwords are NFC-normalized",
    file: "src/auth/password.ts",
    find: '  return password.normalize("NFC");',
    replace: "  return password;",
    tests: [T.password, T.accounts],
  },
  {
    id: "malformed-hash-matches",
    breaks: "a damaged stored hash matches nothing",
    file: "src/auth/password.ts",
    find: "      return false; // a malformed stored hash matches nothing",
    replace: "      return true;",
    tests: [T.password],
  },
  // --- the hashing gate ----------------------------------------------------------------------------------
  {
    id: "gate-never-refuses",
    breaks: "beyond the short queue, login answers 503 with Retry-After",
    file: "src/auth/password.ts",
    find: 'if (who === "anonymous" && this.full()) throw',
    replace: 'if (false && who === "anonymous" && this.full()) throw',
    tests: [T.password, T.throttle],
    // Only the gate's own tests: a broken gate makes every other hashing test wait out its timeout.
    filter: "HashingGate",
  },
  {
    id: "gate-queue-off-by-one",
    breaks: "a short, bounded queue",
    file: "src/auth/password.ts",
    find: "return this.running >= this.concurrency && this.waiting >= this.maxQueue;",
    replace: "return this.running >= this.concurrency && this.waiting > this.maxQueue;",
    tests: [T.password, T.throttle],
    // Only the gate's own tests: a broken gate makes every other hashing test wait out its timeout.
    filter: "HashingGate",
  },
  {
    id: "gate-concurrency-unbounded",
    breaks: "at most one argon2 operation per core runs at once",
    file: "src/auth/password.ts",
    find: "    if (this.running >= this.concurrency) {\n      if (forAccount",
    replace: "    if (this.running >= this.concurrency * 2) {\n      if (forAccount",
    tests: [T.password, T.throttle],
    // Only the gate's own tests: a broken gate makes every other hashing test wait out its timeout.
    filter: "HashingGate",
  },
  {
    id: "gate-slot-leaks",
    breaks: "the gate frees its slot when work ends",
    file: "src/auth/password.ts",
    find: "    else this.running--;",
    replace: "    else if (false) this.running--;",
    tests: [T.password, T.throttle],
    // Only the gate's own tests: a broken gate makes every other hashing test wait out its timeout.
    filter: "HashingGate",
  },
  {
    id: "saturated-precheck-removed",
    breaks: "a full queue is answered 503 before any database work",
    file: "src/auth/routes.ts",
    find: "        if (hashingGate.saturated) return busy();\n",
    replace: "",
    tests: [T.throttle, T.auth],
    acceptable:
      "equivalent: the gate's own check is the same condition (running at capacity and the queue full) and throws at once into the same busy() answer, row and give-back; the pre-check only saves entering the gate (and, once per process, making the dummy hash)",
  },
  {
    id: "busy-becomes-500",
    breaks: "a sign-in refused as busy is recorded as one counted row and not counted as a failed sign-in",
    file: "src/auth/routes.ts",
    find: "          if (error instanceof HashingBusyError) return busy();\n",
    replace: "",
    tests: [T.throttle],
  },
  // --- login throttle --------------------------------------------------------------------------------------
  {
    id: "success-clears-address",
    breaks: "a success clears the pair, not the address (one good account does not launder spraying)",
    file: "src/auth/throttle.ts",
    find: "        this.failures.delete(keys[0]![0]);\n",
    replace: "        this.failures.delete(keys[0]![0]);\n        this.failures.delete(keys[1]![0]);\n",
    tests: [T.throttle],
  },
  {
    id: "success-keeps-pair",
    breaks: "a success clears the pair",
    file: "src/auth/throttle.ts",
    find: "        this.failures.delete(keys[0]![0]);\n",
    replace: "",
    tests: [T.throttle],
  },
  {
    id: "throttle-off-by-one",
    breaks: "5 failed logins per (email, address) answer 429",
    file: "src/auth/throttle.ts",
    find: "    if (times.length < max) return 0;",
    replace: "    if (times.length <= max) return 0;",
    tests: [T.throttle, T.auth],
  },
  {
    id: "throttle-address-ignored",
    breaks: "30 failures per address across all emails answer 429",
    file: "src/auth/throttle.ts",
    find: "      [addressKey(address), this.limits.maxFailuresPerAddress, 0],",
    replace: "      [addressKey(address), Infinity, 0],",
    tests: [T.throttle],
  },
  {
    id: "throttle-window-longer",
    breaks: "the throttle window (LOGIN_WINDOW_SECONDS)",
    file: "src/auth/throttle.ts",
    find: "    const cutoff = this.now() - this.limits.windowMs;",
    replace: "    const cutoff = this.now() - 2 * this.limits.windowMs;",
    tests: [T.throttle],
  },
  {
    id: "failure-not-counted",
    breaks: "failed logins are counted",
    file: "src/auth/throttle.ts",
    find: "    for (const [key] of keys) this.push(key, at);\n",
    replace: "",
    tests: [T.throttle, T.auth],
  },
  {
    id: "throttle-raw-email",
    breaks: "the same account spelled differently is the same pair",
    file: "src/auth/routes.ts",
    find: "        const attempt = throttle.reserve(key, ip, user ? throttleClearedAt(db, user) : 0);",
    replace: "        const attempt = throttle.reserve(body.email, ip, user ? throttleClearedAt(db, user) : 0);",
    tests: [T.throttle],
  },
  {
    id: "no-retry-after-on-429",
    breaks: "429 carries Retry-After",
    file: "src/auth/routes.ts",
    find: '          set.headers["retry-after"] = String(attempt.retryAfterSeconds);\n          return status(429, { detail: "Too many login attempts" });',
    replace: '          return status(429, { detail: "Too many login attempts" });',
    tests: [T.throttle],
  },
  // --- tokens and the guard --------------------------------------------------------------------------------
  {
    id: "token-any-alg",
    breaks: "HS256 only",
    file: "src/auth/tokens.ts",
    find: 'if (!header || header.alg !== "HS256" || "crit" in header) return null;',
    replace: 'if (!header || "crit" in header) return null;',
    tests: [T.tokens, T.tokenClock],
  },
  {
    id: "token-crit-ignored",
    breaks: "unknown crit refused",
    file: "src/auth/tokens.ts",
    find: 'if (!header || header.alg !== "HS256" || "crit" in header) return null;',
    replace: 'if (!header || header.alg !== "HS256") return null;',
    tests: [T.tokens, T.tokenClock],
  },
  {
    id: "token-typ-ignored",
    breaks: "HS256 JWTs only",
    file: "src/auth/tokens.ts",
    find: '    if (header.typ !== undefined && header.typ !== "JWT") return null;\n',
    replace: "",
    tests: [T.tokens, T.tokenClock],
  },
  {
    id: "token-exp-ignored",
    breaks: "exp required and enforced",
    file: "src/auth/tokens.ts",
    find: "    if (expiresAt <= nowSeconds) return null;\n",
    replace: "",
    tests: [T.tokens, T.tokenClock],
  },
  {
    id: "token-cached-never-expires",
    breaks: "exp enforced on every use",
    file: "src/auth/tokens.ts",
    find: "      if (known.expiresAt > now() / 1000) return known;",
    replace: "      return known;",
    tests: [T.tokens, T.tokenClock],
  },
  {
    id: "token-lifetime-unbounded",
    breaks: "exp − iat at most 8 hours",
    file: "src/auth/tokens.ts",
    find: "if (expiresAt - issuedAt > ACCESS_TOKEN_TTL_SECONDS || expiresAt <= issuedAt) return null;",
    replace: "if (expiresAt <= issuedAt) return null;",
    tests: [T.tokens, T.tokenClock],
  },
  {
    id: "token-iat-future",
    breaks: "iat not in the future",
    file: "src/auth/tokens.ts",
    find: "    if (issuedAt > nowSeconds + CLOCK_SKEW_SECONDS) return null;\n",
    replace: "",
    tests: [T.tokens, T.tokenClock],
  },
  {
    id: "token-size-unbounded",
    breaks: "tokens over 4 KB refused",
    file: "src/auth/tokens.ts",
    find: "    if (token.length > MAX_TOKEN_LENGTH) return null;\n",
    replace: "",
    tests: [T.tokens, T.tokenClock],
  },
  {
    id: "token-negative-version",
    breaks: "a token's version is the account's (revocation by token version)",
    file: "src/auth/tokens.ts",
    find: "    if (!Number.isSafeInteger(ver) || (ver as number) < 0) return null;",
    replace: "    if (!Number.isSafeInteger(ver)) return null;",
    tests: [T.tokens, T.tokenClock],
  },
  {
    id: "token-sub-any",
    breaks: "sub required (a positive decimal id)",
    file: "src/auth/tokens.ts",
    find: '    if (typeof sub !== "string" || !POSITIVE_INTEGER.test(sub)) return null;',
    replace: '    if (typeof sub !== "string") return null;',
    tests: [T.tokens, T.tokenClock],
  },
  {
    id: "signature-compare-early-exit",
    breaks: "constant-time signature compare",
    file: "src/auth/tokens.ts",
    find: "  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!;",
    replace: "  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;",
    tests: [T.tokens, T.tokenClock],
    acceptable: "a timing property: the answer is the same, only the time differs, and tests make no timing assertions",
  },
  {
    id: "bearer-anywhere",
    breaks: "a token only from Authorization: Bearer",
    file: "src/auth/tokens.ts",
    find: "  const match = /^bearer ([^\\s,]+)$/i.exec(authorization);",
    replace: "  const match = /bearer ([^\\s,]+)/i.exec(authorization);",
    tests: [T.tokens, T.auth],
  },
  {
    id: "token-version-unchecked",
    breaks: "a password change or logout revokes earlier tokens",
    file: "src/auth/guard.ts",
    find: '        if (user.tokenVersion !== claims.tokenVersion) throw refuse("Invalid or expired token");\n',
    replace: "",
    tests: [T.auth, T.accounts],
  },
  {
    id: "inactive-admitted",
    breaks: "deactivation signs the account out at once",
    file: "src/auth/guard.ts",
    find: "        if (!user || !user.isActive) throw refuse",
    replace: "        if (!user) throw refuse",
    tests: [T.auth, T.accounts],
  },
  {
    id: "admin-guard-open",
    breaks: "admin routes need the admin role, read from the database",
    file: "src/auth/guard.ts",
    find: 'if (authenticated.get(request)?.role !== "admin") throw status(403',
    replace: 'if (authenticated.get(request) === undefined) throw status(403',
    tests: [T.auth, T.accounts],
  },
  // --- audit -------------------------------------------------------------------------------------------------
  {
    id: "audit-failed-login-unrecorded",
    breaks: "sign-in failures are in the audit trail",
    file: "src/auth/routes.ts",
    find: "          await failed(reason);\n",
    replace: "",
    tests: [T.operations, T.throttle],
  },
  {
    id: "audit-throttled-unrecorded",
    breaks: "throttled sign-ins are in the audit trail",
    file: "src/auth/routes.ts",
    find: '          await countRefusal({ ...event, reason: "throttled" });\n          set.headers["retry-after"] = String(attempt.retryAfterSeconds);\n          return status(429, { detail: "Too many login attempts" });',
    replace: '          set.headers["retry-after"] = String(attempt.retryAfterSeconds);\n          return status(429, { detail: "Too many login attempts" });',
    tests: [T.operations, T.throttle],
  },
  {
    id: "audit-prune-everything",
    breaks: "pruning removes only events older than AUDIT_RETENTION_DAYS",
    file: "src/audit/service.ts",
    find: "'now', ${`-${days} days`})",
    replace: "'now', ${`+${days} days`})",
    tests: [T.operations, T.opsCli],
  },
  {
    id: "audit-success-unrecorded",
    breaks: "successful sign-ins are in the audit trail",
    file: "src/users/service.ts",
    find: '    recordEvent(tx, { type: "login.succeeded"',
    replace: '    if (false) recordEvent(tx, { type: "login.succeeded"',
    tests: [T.operations],
  },
  // --- request bodies ------------------------------------------------------------------------------------------
  {
    id: "json-range-unchecked",
    breaks: "out-of-range numbers are 400",
    file: "src/http/json.ts",
    find: '    if (!Number.isFinite(number)) fail("number out of range");\n',
    replace: "",
    tests: [T.json, T.body],
  },
  {
    id: "json-depth-32-to-320",
    breaks: "nesting deeper than 32 is 400",
    file: "src/http/json.ts",
    find: '    if (depth > MAX_JSON_DEPTH) fail("nested too deeply");',
    replace: '    if (depth > MAX_JSON_DEPTH * 10) fail("nested too deeply");',
    tests: [T.json, T.body],
  },
  {
    id: "json-duplicates-allowed",
    breaks: "duplicate keys are 400",
    file: "src/http/json.ts",
    find: '        if (seen.has(key)) fail("duplicate key");\n',
    replace: "",
    tests: [T.json, T.body],
  },
  {
    id: "json-proto-allowed",
    breaks: "__proto__/constructor/prototype keys are 400",
    file: "src/http/json.ts",
    find: '        if (FORBIDDEN_KEYS.has(key)) fail("forbidden key");\n',
    replace: "",
    tests: [T.json, T.body],
  },
  {
    id: "json-trailing-allowed",
    breaks: "strict parsing",
    file: "src/http/json.ts",
    find: '  if (at !== text.length) fail("trailing characters");\n',
    replace: "",
    tests: [T.json, T.body],
  },
  {
    id: "json-control-chars-allowed",
    breaks: "strict parsing",
    file: "src/http/json.ts",
    find: '      else if (c < 0x20) fail("control character in string");\n',
    replace: "",
    tests: [T.json, T.body],
  },
  {
    id: "body-utf8-lenient",
    breaks: "invalid UTF-8 is 400",
    file: "src/http/body.ts",
    find: 'new TextDecoder("utf-8", { fatal: true })',
    replace: 'new TextDecoder("utf-8", { fatal: false })',
    tests: [T.body],
  },
  {
    id: "body-chunked-uncounted",
    breaks: "chunked bodies are counted as they arrive (413)",
    file: "src/http/body.ts",
    find: "    if (size > limit) {",
    replace: "    if (false) {",
    tests: [T.body],
  },
  {
    id: "body-limit-off-by-one",
    breaks: "BODY_LIMIT_BYTES is the largest body accepted",
    file: "src/http/body.ts",
    find: "    if (size > limit) {",
    replace: "    if (size >= limit) {",
    tests: [T.body],
  },
  {
    id: "body-declared-size-ignored",
    breaks: "a declared size over the limit is never read",
    file: "src/http/body.ts",
    find: "const bytes = declared > maxBytes ? null : await readAtMost(request.body, maxBytes);",
    replace: "const bytes = await readAtMost(request.body, maxBytes);",
    tests: [T.body],
  },
  {
    id: "body-any-content-type",
    breaks: "JSON only (415 otherwise)",
    file: "src/http/body.ts",
    find: '!== "application/json") {',
    replace: '!== "application/json" && false) {',
    tests: [T.body, T.http],
  },
  // --- backup, restore, doctor -----------------------------------------------------------------------------------
  {
    id: "integrity-always-ok",
    breaks: "backup, restore and doctor check integrity",
    file: "src/commands/dbfile.ts",
    find: '  if (!(findings.length === 1 && findings[0] === "ok")) return findings;',
    replace: "  if (!(findings.length === 1 && findings[0] === \"ok\")) return [];",
    tests: [T.damaged, T.opsCli],
  },
  {
    id: "backup-copy-unchecked",
    breaks: "backup: a copy checked with integrity_check",
    file: "src/commands/backup.ts",
    find: "    syncFile(target);\n    checkCopy(target);",
    replace: "    syncFile(target);",
    tests: [T.damaged, T.opsCli],
  },
  {
    id: "restore-source-unchecked",
    breaks: "restore checks the backup before anything is moved",
    file: "src/commands/backup.ts",
    find: "      if (problems.length > 0) throw new CommandError(`${source} fails the integrity check: ${problems[0]}`);\n",
    replace: "",
    tests: [T.damaged, T.opsCli],
  },
  {
    id: "restore-staging-unchecked",
    breaks: "restore checks the copy it swaps in",
    file: "src/commands/backup.ts",
    find: "    syncFile(staging);\n    checkCopy(staging);",
    replace: "    syncFile(staging);",
    tests: [T.damaged, T.opsCli],
    acceptable:
      "defence in depth: the backup itself was checked a moment before and VACUUM INTO rebuilt the copy; only a disk error in between would be caught",
  },
  {
    id: "doctor-integrity-unreported",
    breaks: "doctor reports a failed integrity check as a problem (exit 1)",
    file: "src/commands/doctor.ts",
    find: "    if (damage.length > 0) findings.push(problem(`the database fails quick_check",
    replace: "    if (false) findings.push(problem(`the database fails quick_check",
    tests: [T.damaged],
  },
  {
    id: "restore-newer-schema-accepted",
    breaks: "a database written by a newer moxie is refused",
    file: "src/commands/backup.ts",
    find: "      if (state.unknown.length > 0) throw new CommandError(`refusing ${source}",
    replace: "      if (false) throw new CommandError(`refusing ${source}",
    tests: [T.opsCli],
  },
  // --- serve lock ---------------------------------------------------------------------------------------------------
  {
    id: "serve-takes-no-lock",
    breaks: "a second server on the same database is an error",
    file: "src/cli.ts",
    find: "      const release = acquireServeLock(running.settings.databasePath);",
    replace: "      const release = () => {};",
    tests: [T.cli],
    filter: "same database",
  },
  {
    id: "serve-lock-ignores-live-holder",
    breaks: "a second server on the same database is an error; restore refuses while a server runs",
    file: "src/commands/serve-lock.ts",
    find: "      if (holder !== null && holder !== process.pid) {",
    replace: "      if (false) {",
    tests: [T.opsCli, T.cli],
    filter: "serve lock|same database|restore",
  },
  {
    id: "readonly-check-skipped",
    breaks: "backup, restore and doctor refuse a damaged database, also one this user can only read",
    file: "src/commands/dbfile.ts",
    find: "  if (!readOnlyConnections.has(client)) return [];",
    replace: "  return [];",
    tests: [T.damaged],
  },
  {
    id: "dotenv-unreadable-skipped",
    breaks: "a ./.env that is there but cannot be read stops moxie instead of being skipped",
    file: "src/settings.ts",
    find: '  }\n  return readEnvFile(path, "./.env");',
    replace: '  }\n  try {\n    return readEnvFile(path, "./.env");\n  } catch {\n    return {};\n  }',
    tests: [T.settings],
  },
  {
    id: "dotenv-names-case-sensitive",
    breaks: "names in a settings file are read in any case, as the Python original read its .env",
    file: "src/settings.ts",
    find: "    else otherCase[key!.toUpperCase()] = unquote(rawValue);",
    replace: "    else otherCase[key!] = unquote(rawValue);",
    tests: [T.settings],
  },
  {
    id: "proxy-address-not-canonical",
    breaks: "TRUSTED_PROXY in any spelling of the proxy's address is the proxy",
    file: "src/settings.ts",
    find: "  return canonicalAddress(bare);",
    replace: "  return bare;",
    tests: [T.settings, T.login],
    filter: "TRUSTED_PROXY",
  },
  {
    id: "empty-database-file-accepted",
    breaks: "an empty file at the database path is refused by commands that never create a database",
    file: "src/commands/dbfile.ts",
    find: '  if (statSync(path).size > 0) return "present";',
    replace: '  return "present";',
    tests: [T.operator],
    filter: "empty file",
  },
  {
    id: "normalized-email-unaudited",
    breaks: "each stored email moxie rewrites to its one spelling is recorded in the audit trail",
    file: "src/users/service.ts",
    find: '        recordEvent(tx, {\n          type: "user.updated",\n          actor: "cli",',
    replace: '        if (Math.random() > 2) recordEvent(tx, {\n          type: "user.updated",\n          actor: "cli",',
    tests: [T.emails],
  },
  {
    id: "sign-in-length-is-new-password-rule",
    breaks: "a password longer than the 8-128 rule, set before it, still signs in",
    file: "src/auth/routes.ts",
    find: "        if (characterCount(password) > SIGN_IN_PASSWORD_MAX_LENGTH) {",
    replace: "        if (characterCount(password) > 128) {",
    tests: [T.auth],
  },
  {
    id: "restore-as-root-keeps-root-owner",
    breaks: "root restoring for the service user leaves the database owned by that user",
    file: "src/commands/backup.ts",
    find: "    if (process.getuid?.() === 0 && owner.uid !== 0) chownSync(staging, owner.uid, owner.gid);",
    replace: "    void owner;",
    tests: [T.operator],
    filter: "root restoring",
  },
  {
    id: "inactive-sign-in-gives-back",
    breaks: "the right password of a deactivated account, repeated, meets the throttle",
    file: "src/auth/routes.ts",
    find: "        const outcome = await completeSignIn(db, user.id, user.passwordHash, ip, email!);",
    replace: "        attempt.succeeded();\n        const outcome = await completeSignIn(db, user.id, user.passwordHash, ip, email!);",
    tests: [T.auth],
  },
  {
    id: "dotenv-link-skipped",
    breaks: "a ./.env that is a link to a missing file stops moxie instead of being skipped",
    file: "src/settings.ts",
    find: "    lstatSync(path);\n",
    replace: '    if (!existsSync(path)) throw Object.assign(new Error("gone"), { code: "ENOENT" });\n',
    tests: [T.settings],
  },
  {
    id: "email-punycode-domain-kept",
    breaks: "an internationalized domain is one address in punycode or as typed",
    file: "src/users/email.ts",
    find: '  const normalized = unicodeDomain(trimmed.normalize("NFKC").toLowerCase());',
    replace: '  const normalized = trimmed.normalize("NFKC").toLowerCase();',
    tests: [T.writes],
  },
  {
    id: "password-length-in-utf16-units",
    breaks: "password lengths are characters (code points) after NFC",
    file: "src/auth/password-policy.ts",
    find: "  const length = characterCount(normalized);",
    replace: "  const length = normalized.length;",
    tests: [T.accounts],
  },
  {
    id: "legacy-email-not-found-at-sign-in",
    breaks: "an account whose stored email is no address (the original checked nothing) still signs in as stored",
    file: "src/auth/routes.ts",
    find: "    const stored = findUserByEmail(db, typed)?.email;",
    replace: "    const stored: string | undefined = undefined;",
    tests: [[T.originalEra, "without any check"]],
  },
  {
    id: "shutdown-retries-on-closed-database",
    breaks: "a write waiting for another connection's lock at shutdown gives up instead of touching the closed database",
    file: "src/db/write.ts",
    find: "      if (closing.has(client)) throw error;\n",
    replace: "",
    tests: [T.lifecycle],
    filter: "gives up quietly",
  },
  {
    id: "doctor-listen-not-tried",
    breaks: "doctor tries HOST and PORT as serve would and reports what would stop it",
    file: "src/commands/doctor.ts",
    find: "    checkCanListen(settings.host, settings.port);\n",
    replace: "",
    tests: [T.operator],
    filter: "not on this machine",
  },
  {
    id: "shutdown-grace-never-cuts",
    breaks: "SHUTDOWN_GRACE_SECONDS: in-flight requests get that long after SIGTERM, then the server stops",
    file: "src/commands/serve.ts",
    find: "const forced = setTimeout(() => server.stop(true), settings.shutdownGraceSeconds * 1000);",
    replace: "const forced = setTimeout(() => {}, settings.shutdownGraceSeconds * 1000);",
    tests: [T.lifecycle],
    filter: "SHUTDOWN_GRACE_SECONDS",
  },
  {
    id: "serve-lock-release-removes-others",
    breaks: "the lock file is removed only by its owner",
    file: "src/commands/serve-lock.ts",
    find: '        if (readFileSync(path, "utf8") === content) unlinkSync(path);',
    replace: "        unlinkSync(path);",
    tests: [T.opsCli],
    filter: "serve lock",
  },
  {
    id: "restore-ignores-running-server",
    breaks: "restore refuses while a server holds the database",
    file: "src/commands/backup.ts",
    find: "  if (holder !== null) throw new CommandError(stopFirst(holder));",
    replace: "",
    tests: [T.opsCli],
    filter: "restore",
    acceptable:
      "defence in depth: restore then takes the serve lock itself, which refuses a live holder with the same sentence",
  },
  // --- privilege rules -----------------------------------------------------------------------------------------------
  {
    id: "last-admin-rule-off",
    breaks: "the last active admin cannot be deactivated or demoted",
    file: "src/users/service.ts",
    find: "  if (activeAdmins <= 1) {",
    replace: "  if (activeAdmins < 1) {",
    tests: [T.accounts, T.cliAccounts],
  },
  {
    id: "self-rule-off",
    breaks: "an admin cannot deactivate or demote themselves",
    file: "src/users/service.ts",
    find: '  if (actor !== "cli" && actor.id === user.id) {',
    replace: "  if (false) {",
    tests: [T.accounts],
  },
  // --- a write waiting for another connection's lock holds up nothing ----------------------------------------------
  {
    id: "write-wait-blocks",
    breaks: "a write that meets another connection's lock waits without freezing the server (/health answers meanwhile)",
    file: "src/db/write.ts",
    // SQLite's own busy handler waits inside the synchronous call: the auditor's freeze.
    find: '  client.run("PRAGMA busy_timeout = 0");\n',
    replace: "",
    tests: [T.writes, [T.races, "hold up nothing"]],
    filter: "busy database",
  },
  {
    id: "write-retry-sleeps-sync",
    breaks: "a write that meets another connection's lock waits without freezing the server (/health answers meanwhile)",
    file: "src/db/write.ts",
    find: "      await Bun.sleep(Math.min(",
    replace: "      Bun.sleepSync(Math.min(",
    tests: [T.writes, [T.races, "hold up nothing"]],
    filter: "busy database",
  },
  {
    id: "write-gives-up-at-once",
    breaks: "a write that meets another connection's lock waits up to the busy timeout (5 s) before 503",
    file: "src/db/write.ts",
    find: "      if (!isLocked(error) || left <= 0) throw error;",
    replace: "      throw error;",
    tests: [T.writes, [T.races, "hold up nothing"]],
    filter: "busy database",
  },
  {
    id: "failed-login-audit-blocks",
    breaks: "a wrong-password sign-in during another connection's lock does not hold up the server",
    file: "src/auth/routes.ts",
    find: "  const record = (event: AuditRecord) => writeWithRetry(db, () => recordEvent(db, event));",
    replace: "  const record = async (event: AuditRecord) => recordEvent(db, event);",
    tests: [T.writes],
    filter: "busy database",
  },
  {
    id: "refusal-audit-blocks",
    breaks: "a refused sign-in during another connection's lock does not hold up the server",
    file: "src/auth/routes.ts",
    find: "  const countRefusal = (event: AuditRecord) => writeWithRetry(db, () => recordRefusal(db, event, refusalWindowMs));",
    replace: "  const countRefusal = async (event: AuditRecord) => recordRefusal(db, event, refusalWindowMs);",
    tests: [T.writes, [T.races, "hold up nothing"]],
    filter: "busy database",
  },
  // --- writes re-check the actor (writeAs), compare-and-set, own password ------------------------------------------
  {
    id: "writeas-inactive-actor",
    breaks: "writes re-check the actor where the change is written: an account deactivated meanwhile changes nothing",
    file: "src/users/service.ts",
    find: '      if (!row || !row.isActive) throw new ActorRevokedError("Account inactive or not found");',
    replace: '      if (!row) throw new ActorRevokedError("Account inactive or not found");',
    tests: [T.writes],
  },
  {
    id: "writeas-role-unchecked",
    breaks: "writes re-check the actor where the change is written: an admin demoted meanwhile changes nothing",
    file: "src/users/service.ts",
    find: '      if (need === "admin" && row.role !== "admin") throw new ActorForbiddenError("Admin access required");',
    replace: '      if (false) throw new ActorForbiddenError("Admin access required");',
    tests: [T.writes],
  },
  {
    id: "writeas-version-unchecked",
    breaks: "writes re-check the actor where the change is written: a session signed out meanwhile changes nothing",
    file: "src/users/service.ts",
    find: '      if (row.tokenVersion !== actor.tokenVersion) throw new ActorRevokedError("Invalid or expired token");\n',
    replace: "",
    tests: [T.writes],
  },
  {
    id: "password-cas-skipped",
    breaks: "a password set while the account's password or sessions changed meanwhile writes nothing (409)",
    file: "src/users/service.ts",
    find: "    .where(and(eq(users.id, id), eq(users.tokenVersion, expected)))",
    replace: "    .where(eq(users.id, id))",
    tests: [T.writes],
  },
  {
    id: "own-password-via-admin-route",
    breaks: "an admin's own password is changed only with the current one (PUT /auth/password); the admin route answers 403",
    file: "src/users/service.ts",
    find: '  if (actor !== "cli" && actor.id === id) {\n    throw new ActorForbiddenError',
    replace: '  if (false) {\n    throw new ActorForbiddenError',
    tests: [T.writes, [T.races, "admin route for one's own password"]],
  },
  {
    id: "own-change-wrong-not-counted",
    breaks: "wrong current passwords at PUT /auth/password count toward the sign-in limits (403, then 429) and are audited",
    file: "src/auth/routes.ts",
    find: '          if (error instanceof WrongPasswordError) await record({ ...event, reason: "wrong_password" });\n          else attempt.withdrawn();',
    replace: "          attempt.withdrawn();",
    tests: [[T.races, "wrong current passwords count"]],
  },
  {
    id: "account-operations-unbounded",
    breaks: "each signed-in account holds at most one password operation at a time (429)",
    file: "src/auth/password.ts",
    find: "    if (this.busyAccounts.has(account)) throw new PasswordWorkInProgressError();",
    replace: "",
    tests: [T.password],
    filter: "HashingGate",
  },
  {
    id: "account-share-whole-queue",
    breaks: "signed-in work may hold at most half of the hashing queue",
    file: "src/auth/password.ts",
    find: "    return Math.max(1, Math.floor(this.maxQueue / 2));",
    replace: "    return Math.max(1, this.maxQueue);",
    tests: [T.password],
    filter: "HashingGate",
  },
  // --- the throttle, counted at arrival; per account; unlock ----------------------------------------------------------
  {
    id: "account-cap-ignored",
    breaks: "LOGIN_MAX_FAILURES_PER_ACCOUNT failures for one account across addresses answer 429",
    file: "src/auth/throttle.ts",
    find: "      [accountKey(email), this.limits.maxFailuresPerAccount, clearedAt],",
    replace: "      [accountKey(email), Infinity, clearedAt],",
    tests: [T.throttle, [T.races, "LOGIN_MAX_FAILURES_PER_ACCOUNT"]],
  },
  {
    id: "throttle-counts-after-hashing",
    breaks: "an attempt is counted when it arrives, so a concurrent burst is checked at most up to the limit",
    file: "src/auth/routes.ts",
    // Checked at arrival but counted only once the password turned out wrong: the old check-then-act.
    find: "        if (hashingGate.saturated) return busy();\n",
    replace: "        attempt.withdrawn();\n        if (hashingGate.saturated) return busy();\n",
    also: [{ find: "          await failed(reason);\n", replace: "          await failed(reason);\n          throttle.reserve(key, ip);\n" }],
    tests: [T.throttle, [T.races, "20 concurrent wrong passwords"]],
  },
  {
    id: "cleared-at-ignored",
    breaks: "an unlock, a password set or an activation clears the account's sign-in throttle",
    file: "src/auth/throttle.ts",
    find: "    const times = this.recent(key).filter((time) => time > since);",
    replace: "    const times = this.recent(key);",
    tests: [T.throttle, [T.races, "unlock"]],
  },
  {
    id: "unlock-event-ignored",
    breaks: "POST /admin/users/{id}/unlock (and moxie unlock) clears the account's sign-in throttle",
    file: "src/users/service.ts",
    find: 'const THROTTLE_CLEARING_EVENTS: AuditEventType[] = ["user.unlocked", "user.activated"];',
    replace: 'const THROTTLE_CLEARING_EVENTS: AuditEventType[] = ["user.activated"];',
    tests: [T.throttle, [T.races, "unlock"]],
  },
  // --- the audit trail: counted refusals, nothing typed kept unless it is an address -------------------------------------
  {
    id: "refusals-one-row-each",
    breaks: "refused sign-ins are counted into one row per window, not written one row each",
    file: "src/audit/service.ts",
    find: "  if (current && current.until > now) {",
    replace: "  if (false) {",
    tests: [T.throttle, [T.races, "one counted row"]],
  },
  {
    id: "typed-text-stored",
    breaks: "what is typed as an email is kept only when it is an address; otherwise a fixed marker",
    file: "src/auth/routes.ts",
    find: "email: email ?? NOT_AN_EMAIL, ip };",
    replace: "email: email ?? body.email, ip };",
    tests: [T.writes, [T.races, "typed as an email"]],
    acceptable:
      "defence in depth: the audit service keeps an email of no account only when it has an address's shape (keptEmail), so the text still becomes the marker; that rule's own mutation is typed-address-shape-ignored",
  },
  {
    id: "typed-address-shape-ignored",
    breaks: "what is typed as an email is kept only when it is an address (P@ssw0rd.2024, <script>@x.y are not); otherwise a fixed marker",
    file: "src/audit/service.ts",
    find: "event.email == null || isWellFormedEmail(event.email)) return event.email;",
    replace: "event.email == null || event.email !== NOT_AN_EMAIL) return event.email;",
    tests: [T.writes, [T.races, "no address either"]],
  },
  {
    id: "refusal-key-typed-email",
    breaks: "a 2 000-request refused burst writes one row, whatever emails it types",
    file: "src/audit/service.ts",
    find: "const key = [event.type, event.reason, event.ip, userId].join",
    replace: "const key = [event.type, event.reason, event.ip, userId, event.email].join",
    tests: [T.throttle],
  },
  {
    id: "refusal-key-ignores-account",
    breaks: "refusals are counted into one row per account: two accounts throttled from one address are two rows",
    file: "src/audit/service.ts",
    find: "const key = [event.type, event.reason, event.ip, userId].join",
    replace: "const key = [event.type, event.reason, event.ip].join",
    tests: [T.throttle, [T.races, "two accounts"]],
  },
  {
    id: "refusal-row-first-typed-email",
    breaks: "the refusal row of emails of no account is recorded as (no such account), not as the first email typed",
    file: "src/audit/service.ts",
    find: "email: userId === null ? NO_SUCH_ACCOUNT : keptEmail(event) };",
    replace: "email: keptEmail(event) };",
    tests: [T.throttle],
  },
  // --- one spelling per email ------------------------------------------------------------------------------------------
  {
    id: "email-hidden-characters-allowed",
    breaks: "an email with a space, control or invisible character inside is 422 naming email",
    file: "src/users/email.ts",
    find: "  if (INVISIBLE_OR_SPACE.test(trimmed)) {",
    replace: "  if (false) {",
    tests: [T.writes, [T.races, "one address"]],
  },
  {
    id: "email-default-ignorables-allowed",
    breaks: "an email with an invisible character inside (combining grapheme joiner, variation selector, Hangul filler) is 422",
    file: "src/users/email.ts",
    find: 'const INVISIBLE = "\\\\p{Cc}\\\\p{Cf}\\\\p{DI}\\\\u2800";',
    replace: 'const INVISIBLE = "\\\\p{Cc}\\\\p{Cf}\\\\u2800";',
    tests: [T.writes, T.emails, [T.races, "one address"]],
  },
  {
    id: "email-braille-blank-allowed",
    breaks: "an email with a braille blank (U+2800) inside is refused as invisible, and doctor sees such twins",
    file: "src/users/email.ts",
    find: 'const INVISIBLE = "\\\\p{Cc}\\\\p{Cf}\\\\p{DI}\\\\u2800";',
    replace: 'const INVISIBLE = "\\\\p{Cc}\\\\p{Cf}\\\\p{DI}";',
    tests: [T.writes, T.emails, [T.races, "one address"]],
  },
  {
    id: "stored-email-key-keeps-ignorables",
    breaks: "stored twins spelled with an invisible character are found by doctor (and lone ones normalized at start)",
    file: "src/users/email.ts",
    find: '  return unicodeDomain(email.trim().replace(INVISIBLE_ANYWHERE, "").normalize("NFKC").replace(INVISIBLE_ANYWHERE, "").toLowerCase());',
    replace: '  return unicodeDomain(email.trim().replace(/[\\p{Cc}\\p{Cf}]/gu, "").normalize("NFKC").toLowerCase());',
    tests: [T.emails],
  },
  {
    id: "email-shape-unchecked",
    breaks: "a new account's email must have an address's shape (P@ssw0rd.2024, <script>@x.y are 422)",
    file: "src/users/email.ts",
    find: "  if (!isWellFormedEmail(normalized)) throw",
    replace: "  if (false) throw",
    tests: [T.writes, [T.races, "no address either"]],
  },
  {
    id: "email-shape-locks-out-stored",
    breaks: "emails stored before the address-shape rule still sign in",
    file: "src/users/email.ts",
    find: "!LOOSELY_WELL_FORMED.test(normalized)",
    replace: "!WELL_FORMED.test(normalized)",
    tests: [T.writes],
  },
  {
    id: "email-nfkc-skipped",
    breaks: "emails are stored NFKC and lower-cased: look-alike spellings are one address",
    file: "src/users/email.ts",
    find: '  const normalized = unicodeDomain(trimmed.normalize("NFKC").toLowerCase());',
    replace: "  const normalized = unicodeDomain(trimmed.toLowerCase());",
    tests: [T.writes, [T.races, "one address"]],
  },
  // --- strict tokens -----------------------------------------------------------------------------------------------------
  {
    id: "token-nbf-ignored",
    breaks: "a token whose nbf is in the future is refused",
    file: "src/auth/tokens.ts",
    find: "    if (nbf !== undefined && (!Number.isSafeInteger(nbf) || (nbf as number) > nowSeconds + CLOCK_SKEW_SECONDS)) return null;\n",
    replace: "",
    tests: [T.tokens, T.tokenClock],
  },
  {
    id: "token-signature-decoded",
    breaks: "only the canonical spelling of a signature verifies (the encoded strings are compared)",
    file: "src/auth/tokens.ts",
    find: 'if (!constantTimeEqual(Buffer.from(signaturePart, "latin1"), Buffer.from(expected, "latin1"))) return null;',
    replace: 'if (!constantTimeEqual(Buffer.from(signaturePart, "base64url"), Buffer.from(expected, "base64url"))) return null;',
    tests: [T.tokens, T.tokenClock],
  },
  {
    id: "token-header-duplicates",
    breaks: "a token header with a key twice ({\"alg\":\"none\",\"alg\":\"HS256\"}) is refused",
    file: "src/auth/tokens.ts",
    find: '    const value: unknown = parseStrictJson(Buffer.from(segment, "base64url").toString("utf8"));',
    replace: '    const value: unknown = JSON.parse(Buffer.from(segment, "base64url").toString("utf8"));',
    tests: [T.tokens, T.tokenClock],
  },
  {
    id: "original-token-any-exp",
    breaks: "a token the Python original signed ({sub, exp}) is held to exp at most 8 hours from now",
    file: "src/auth/tokens.ts",
    find: "    const iat = original ? (exp as number) - ACCESS_TOKEN_TTL_SECONDS : payload.iat;",
    replace: "    const iat = original ? Math.floor(now() / 1000) : payload.iat;",
    also: [
      {
        find: "    if (expiresAt - issuedAt > ACCESS_TOKEN_TTL_SECONDS || expiresAt <= issuedAt) return null;",
        replace: "    if (!original && (expiresAt - issuedAt > ACCESS_TOKEN_TTL_SECONDS || expiresAt <= issuedAt)) return null;",
      },
    ],
    tests: [T.originalApp, T.tokens],
  },
  {
    id: "original-shape-any-claims",
    breaks: "only a token of exactly {sub, exp} (the original's) may go without iat",
    file: "src/auth/tokens.ts",
    find: "    const original = payload.iat === undefined && Object.keys(payload).length === 2 && Number.isSafeInteger(exp);",
    replace: "    const original = payload.iat === undefined && Number.isSafeInteger(exp);",
    tests: [T.tokens, T.originalApp],
  },
  // --- adopting the original's database; restore -------------------------------------------------------------------------
  {
    id: "adoption-not-rolled-back",
    breaks: "adopting an original-era database is all or nothing: a failure leaves the file as it was",
    file: "src/db/adopt.ts",
    find: '    if (client.inTransaction) client.run("ROLLBACK");',
    replace: '    if (client.inTransaction) client.run("COMMIT");',
    tests: [[T.originalEra, "all or nothing"]],
  },
  {
    id: "restore-keeps-sessions",
    breaks: "restore signs everyone out",
    file: "src/commands/backup.ts",
    find: "      signedOut = signEveryoneOut(db, keptAs ? tokenVersionsIn(keptAs) : new Map());",
    replace: "      signedOut = 0;",
    tests: [T.opsCli, [T.races, "restore signs everyone out"]],
    filter: "restore",
  },
  {
    id: "restore-forgets-newer-versions",
    breaks: "restore signs everyone out: a token revoked after the backup was taken stays dead",
    file: "src/commands/backup.ts",
    find: "      signedOut = signEveryoneOut(db, keptAs ? tokenVersionsIn(keptAs) : new Map());",
    replace: "      signedOut = signEveryoneOut(db, new Map());",
    tests: [T.opsCli, [T.races, "restore signs everyone out"]],
    filter: "restore",
  },
  // --- a busy or full database is 503 --------------------------------------------------------------------------------------
  {
    id: "db-busy-500",
    breaks: "a busy database answers 503 with Retry-After, nothing written",
    file: "src/http/errors.ts",
    find: '  if (error instanceof DatabaseBusyError || (typeof code === "string" && code.startsWith("SQLITE_BUSY"))) {',
    replace: "  if (false) {",
    tests: [T.writes, [T.races, "busy database"]],
  },
  {
    id: "db-full-500",
    breaks: "a full disk answers 503 saying so, nothing written",
    file: "src/http/errors.ts",
    find: '  if (error instanceof DatabaseFullError || (typeof code === "string" && code.startsWith("SQLITE_FULL"))) {',
    replace: "  if (false) {",
    tests: [T.fullDisk],
  },
  // --- a revoked token is not shown as still in force ----------------------------------------------------------------------
  {
    id: "console-signout-unconfirmed-says-signed-out",
    breaks: "the console says \"You are signed out.\" only when POST /auth/logout answered; otherwise the token is kept and the page says it still works",
    file: "src/console/app/session.ts",
    find: "    if (error instanceof ApiError) return explainSignOutProblem(error);",
    replace: "    if (error instanceof ApiError) return endSession(SIGNED_OUT, { clearDrafts: true });",
    tests: [[T.consoleBrowser, "server is unreachable"]],
  },
  {
    id: "docs-logout-keeps-token",
    breaks: "Try it out on POST /auth/logout in /docs forgets the token (the page no longer shows itself authorized)",
    file: "src/http/docs/init.js",
    find: '    if (response.ok && sameOrigin && url.pathname === "/auth/logout") {',
    replace: '    if (false && response.ok && sameOrigin && url.pathname === "/auth/logout") {',
    tests: [[T.docsBrowser, "POST /auth/logout"]],
  },
];

// ---------------------------------------------------------------------------------------------------------------------

interface Journal {
  file: string;
  original: string;
}

function restoreFromJournal(): void {
  if (!existsSync(JOURNAL)) return;
  const { file, original } = JSON.parse(readFileSync(JOURNAL, "utf8")) as Journal;
  writeFileSync(join(ROOT, file), original);
  rmSync(JOURNAL);
  console.error(`mutate: put back ${file}, left mutated by an interrupted run`);
}

let current: { file: string; original: string; child?: Bun.Subprocess } | undefined;

function restoreCurrent(): void {
  if (!current) return;
  writeFileSync(join(ROOT, current.file), current.original);
  rmSync(JOURNAL, { force: true });
  current = undefined;
}

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    current?.child?.kill("SIGKILL");
    restoreCurrent();
    console.error(`\nmutate: ${signal}; sources restored`);
    process.exit(130);
  });
}
process.on("exit", restoreCurrent);

function occurrences(text: string, find: string): number {
  let count = 0;
  for (let at = text.indexOf(find); at !== -1; at = text.indexOf(find, at + 1)) count++;
  return count;
}

function editsOf(mutation: Mutation): Array<{ find: string; replace: string }> {
  return [{ find: mutation.find, replace: mutation.replace }, ...(mutation.also ?? [])];
}

function applies(mutation: Mutation): boolean {
  const text = readFileSync(join(ROOT, mutation.file), "utf8");
  return editsOf(mutation).every(({ find }) => occurrences(text, find) === 1);
}

function describeTests(mutation: Mutation): string {
  return mutation.tests
    .map((entry) => (typeof entry === "string" ? entry : `${entry[0]} -t '${entry[1]}'`))
    .join(" ")
    .concat(mutation.filter ? ` (plain files -t '${mutation.filter}')` : "");
}

type Outcome = { passed: boolean; timedOut: boolean; output: string };

async function runTests(files: string[], filter?: string): Promise<Outcome> {
  const present = files.filter((file) => existsSync(join(ROOT, file)));
  // No mapped file exists (an older checkout): nothing can notice the bug. `bun test` with no paths would
  // run the whole suite instead.
  if (present.length === 0) return { passed: true, timedOut: false, output: "" };
  const args = ["test", "--timeout", String(PER_TEST_TIMEOUT_MS), ...(filter ? ["-t", filter] : []), ...present.map((file) => `./${file}`)];
  const child = Bun.spawn([process.execPath, ...args], { cwd: ROOT, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  if (current) current.child = child;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, RUN_TIMEOUT_MS);
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(timer);
  const output = stdout + stderr;
  // A -t filter that matches nothing (an older checkout without the test) exits 1, but nothing noticed the bug.
  const nothingRan = /matched 0 tests/.test(output);
  return { passed: (code === 0 || nothingRan) && !timedOut, timedOut, output };
}

/** The mutation's runs in order (plain files together, then each [file, pattern]); stops at the first failure. */
async function runMapped(mutation: Mutation): Promise<Outcome> {
  const plain = mutation.tests.filter((entry): entry is string => typeof entry === "string");
  const pinned = mutation.tests.filter((entry): entry is [string, string] => typeof entry !== "string");
  const runs: Array<[string[], string | undefined]> = [
    ...(plain.length > 0 ? [[plain, mutation.filter] as [string[], string | undefined]] : []),
    ...pinned.map(([file, pattern]) => [[file], pattern] as [string[], string | undefined]),
  ];
  let last: Outcome = { passed: true, timedOut: false, output: "" };
  for (const [files, filter] of runs) {
    last = await runTests(files, filter);
    if (!last.passed) return last;
  }
  return last;
}

function parseArgs(argv: string[]) {
  const only = argv.find((arg) => arg.startsWith("--only"));
  const onlyValue = only?.includes("=") ? only.split("=")[1] : only ? argv[argv.indexOf(only) + 1] : undefined;
  return {
    only: onlyValue ? new Set(onlyValue.split(",")) : undefined,
    list: argv.includes("--list"),
    check: argv.includes("--check"),
    baseline: !argv.includes("--no-baseline"),
  };
}

async function main(): Promise<void> {
  restoreFromJournal();
  const options = parseArgs(process.argv.slice(2));
  const chosen = MUTATIONS.filter((mutation) => !options.only || options.only.has(mutation.id));
  if (options.only) {
    const unknown = [...options.only].filter((id) => !MUTATIONS.some((mutation) => mutation.id === id));
    if (unknown.length > 0) throw new Error(`unknown mutation ids: ${unknown.join(", ")}`);
  }

  if (options.list) {
    for (const m of chosen) console.log(`${m.id.padEnd(34)} ${m.file.padEnd(28)} ${describeTests(m)}`);
    return;
  }

  const stale = chosen.filter((m) => !applies(m));
  for (const m of stale) console.log(`stale  ${m.id}: its text no longer occurs exactly once in ${m.file}; update scripts/mutate.ts`);
  if (options.check) {
    console.log(`${chosen.length - stale.length} of ${chosen.length} mutations apply`);
    process.exit(stale.length > 0 ? 1 : 0);
  }
  const runnable = chosen.filter((m) => !stale.includes(m));

  const started = performance.now();
  if (options.baseline) {
    const files = [...new Set(runnable.flatMap((m) => m.tests.filter((entry): entry is string => typeof entry === "string")))].sort();
    // The binary files only with their patterns, joined: their other tests are never run by a mutation.
    const pinned = runnable.flatMap((m) => m.tests.filter((entry): entry is [string, string] => typeof entry !== "string"));
    const pinnedFiles = [...new Set(pinned.map(([file]) => file))].sort();
    const pattern = [...new Set(pinned.map(([, p]) => `(${p})`))].join("|");
    process.stdout.write(`baseline: ${files.length} test files, and ${pinnedFiles.length} on the binary with their patterns, without mutations ... `);
    let baseline = await runTests(files);
    if (baseline.passed && pinnedFiles.length > 0) baseline = await runTests(pinnedFiles, pattern);
    if (!baseline.passed) {
      console.log("FAILED");
      console.log(baseline.output.split("\n").filter((line) => /^\(fail\)|error:/.test(line)).slice(0, 20).join("\n"));
      console.log("The tests must pass unmutated before mutations mean anything.");
      process.exit(1);
    }
    console.log(`ok (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  }

  const results: Array<{ mutation: Mutation; killed: boolean; seconds: number; timedOut: boolean }> = [];
  for (const [index, mutation] of runnable.entries()) {
    const path = join(ROOT, mutation.file);
    const original = readFileSync(path, "utf8");
    current = { file: mutation.file, original };
    writeFileSync(JOURNAL, JSON.stringify({ file: mutation.file, original } satisfies Journal));
    writeFileSync(path, editsOf(mutation).reduce((text, { find, replace }) => text.replace(find, replace), original));
    // A binary built from the mutated sources is cached under their hash: removed after the run.
    const mutatedBuild = cacheDirFor(sourceHash());
    const at = performance.now();
    process.stdout.write(`[${String(index + 1).padStart(2)}/${runnable.length}] ${mutation.id.padEnd(34)} `);
    let outcome: Outcome;
    try {
      outcome = await runMapped(mutation);
    } finally {
      restoreCurrent();
      rmSync(mutatedBuild, { recursive: true, force: true });
    }
    const seconds = (performance.now() - at) / 1000;
    const killed = !outcome.passed;
    results.push({ mutation, killed, seconds, timedOut: outcome.timedOut });
    // Which test noticed, so a kill by an unrelated failure (a typo in the mutation) is seen at once.
    const by = outcome.output.split("\n").find((line) => line.startsWith("(fail)"))?.slice(7, 130) ?? "the run failed before any test";
    console.log(`${killed ? (outcome.timedOut ? "killed (hung)" : "killed") : "SURVIVED"}  ${seconds.toFixed(1)} s${killed ? `  by: ${by}` : ""}`);
  }

  const killed = results.filter((r) => r.killed).length;
  const survivors = results.filter((r) => !r.killed);
  const minutes = (performance.now() - started) / 60_000;
  console.log("");
  console.log(`score: ${killed} of ${results.length} killed (${((100 * killed) / Math.max(1, results.length)).toFixed(0)}%) in ${minutes.toFixed(1)} min`);
  for (const { mutation } of survivors) {
    console.log(`  survived: ${mutation.id} (${mutation.file}): breaks "${mutation.breaks}"`);
    console.log(`    ${mutation.acceptable ? `acceptable: ${mutation.acceptable}` : "NOT ACCEPTED: add a test that fails with this bug"}`);
  }
  if (stale.length > 0) console.log(`stale (not run): ${stale.map((m) => m.id).join(", ")}`);
  const unexplained = survivors.filter((r) => !r.mutation.acceptable).length;
  process.exit(unexplained > 0 || stale.length > 0 ? 1 : 0);
}

await main();
