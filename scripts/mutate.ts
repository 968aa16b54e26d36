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
  db: "test/db.test.ts",
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
  emailKeys: "test/email-keys.test.ts",
  consoleBrowser: "test/console/browser.test.ts",
  consoleRoutes: "test/console/routes.test.ts",
  requests: "test/security/requests.test.ts",
  corsLeak: "test/security/cors-leak.test.ts",
  securityCli: "test/security/cli.test.ts",
  promises: "test/promises.test.ts",
  authz: "test/security/authz.test.ts",
  concurrency: "test/security/concurrency.test.ts",
  // On the compiled binary: always with a -t pattern.
  races: "test/security/races.test.ts",
  originalEra: "test/original-era.test.ts",
  readOnly: "test/read-only.test.ts",
  firstUse: "test/first-use.test.ts",
  offsite: "test/offsite.test.ts",
  serveLock: "test/security/serve-lock.test.ts",
  logPipe: "test/log-pipe.test.ts",
  restore: "test/security/restore.test.ts",
  signInEmails: "test/security/sign-in-emails.test.ts",
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
    find: "      [addressKey(client), this.limits.maxFailuresPerAddress, 0],",
    replace: "      [addressKey(client), Infinity, 0],",
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
    find: "  syncFile(target);\n  checkCopy(target);",
    replace: "  syncFile(target);",
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
    find: "        release = acquireServeLock(settings.databasePath);\n      } catch",
    replace: "        release = () => {};\n      } catch",
    tests: [T.cli],
    filter: "same database",
  },
  {
    id: "serve-lock-ignores-live-holder",
    breaks: "a second server on the same database is an error; restore refuses while a server runs",
    file: "src/commands/serve-lock.ts",
    find: "    if (!locked) {",
    replace: "    if (false) {",
    tests: [T.opsCli, T.cli, [T.serveLock, "while a server runs"]],
    filter: "serve lock|same database|restore",
  },
  {
    id: "serve-lock-let-go-at-once",
    breaks: "the serve lock is held for the life of the server: a second server on the same database is an error",
    file: "src/commands/serve-lock.ts",
    find: "    let released = false;\n    return () => {",
    replace: "    closeSync(fd);\n    let released = false;\n    return () => {",
    tests: [T.opsCli, T.cli, [T.serveLock, "while a server runs"]],
    filter: "serve lock|same database",
  },
  {
    id: "serve-lock-after-bootstrap",
    breaks: "a second serve is refused before it opens the database: it never migrates or rewrites the file the first one serves",
    file: "src/cli.ts",
    find: "        release = acquireServeLock(settings.databasePath);\n      } catch",
    replace: "        release = () => {};\n      } catch",
    also: [
      {
        find: "        await serveLocked(bootstrap({ create: true, listening: true, overrides, announce: false }));",
        replace: "        const running = bootstrap({ create: true, listening: true, overrides, announce: false });\n        release = acquireServeLock(settings.databasePath);\n        await serveLocked(running);",
      },
    ],
    tests: [[T.serveLock, "before it touches the database"]],
  },
  {
    id: "serve-lock-holder-unseen",
    breaks: "restore refuses while a server runs, naming its pid; doctor says the server is running",
    file: "src/commands/serve-lock.ts",
    find: "    if (tryLock(fd, LOCK_SH)) {",
    replace: "    if (true) {",
    tests: [T.opsCli, [T.serveLock, "while a server runs"]],
    filter: "serve lock|restore",
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
    find: "        const outcome = await completeSignIn(db, user.id, user.passwordHash, ip, email!)",
    replace: "        attempt.succeeded();\n        const outcome = await completeSignIn(db, user.id, user.passwordHash, ip, email!)",
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
    find: "  const normalized = unicodeDomain(caselessKey(trimmed));",
    replace: "  const normalized = caselessKey(trimmed);",
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
    find: "    return findUserByEmail(db, typed)?.email;",
    replace: "    return undefined;",
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
    find: "        if (isStillAt(fd, path)) unlinkSync(path);",
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
    find: "  const countRefusal = (event: AuditRecord) =>\n    writeWithRetry(db, () => recordRefusal(",
    replace: "  const countRefusal = async (event: AuditRecord) =>\n    (() => recordRefusal(",
    also: [{ find: "}, refusalWindowMs));", replace: "}, refusalWindowMs))();" }],
    tests: [T.writes, [T.races, "hold up nothing"]],
    filter: "busy database",
  },
  // --- writes re-check the actor (writeAs), compare-and-set, own password ------------------------------------------
  {
    id: "writeas-inactive-actor",
    breaks: "writes re-check the actor where the change is written: an account deactivated meanwhile changes nothing",
    file: "src/users/service.ts",
    find: '  if (!row || !row.isActive) throw new ActorRevokedError("Account inactive or not found");',
    replace: '  if (!row) throw new ActorRevokedError("Account inactive or not found");',
    tests: [T.writes],
  },
  {
    id: "writeas-role-unchecked",
    breaks: "writes re-check the actor where the change is written: an admin demoted meanwhile changes nothing",
    file: "src/users/service.ts",
    find: '  if (need === "admin" && row.role !== "admin") throw new ActorForbiddenError("Admin access required");',
    replace: '  if (false) throw new ActorForbiddenError("Admin access required");',
    tests: [T.writes],
  },
  {
    id: "writeas-version-unchecked",
    breaks: "writes re-check the actor where the change is written: a session signed out meanwhile changes nothing",
    file: "src/users/service.ts",
    find: '  if (row.tokenVersion !== actor.tokenVersion) throw new ActorRevokedError("Invalid or expired token");\n',
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
    breaks: "each signed-in account has at most 8 password operations under way; one more is 429",
    file: "src/auth/password.ts",
    find: "      if (1 + waiting.length >= this.perAccount) throw new PasswordWorkQueuedError(this.perAccount);",
    replace: "",
    tests: [T.password, T.accounts],
    filter: "HashingGate|wait their turn",
  },
  {
    id: "account-operations-concurrent",
    breaks: "an account's password operations are hashed one at a time: one account holds at most one place in the queue",
    file: "src/auth/password.ts",
    find: "      await new Promise<void>((resolve) => waiting.push(resolve));",
    replace: "      waiting.push(() => {});",
    tests: [T.password, [T.races, "holds one place in the hashing queue"]],
    filter: "HashingGate",
  },
  {
    id: "account-operations-refused-at-once",
    breaks: "an account's password operations wait their turn: four concurrent creates by one admin all succeed",
    file: "src/auth/password.ts",
    find: "    public perAccount = ACCOUNT_OPERATIONS_MAX,",
    replace: "    public perAccount = 1,",
    tests: [T.accounts, [T.races, "four concurrent POST"]],
    filter: "wait their turn",
  },
  {
    id: "account-queue-skips-actor-check",
    breaks: "a queued password operation whose account was signed out meanwhile is answered 401 before any hashing",
    file: "src/users/service.ts",
    find: "    assertActorMay(db, actor, need);\n    return fn();",
    replace: "    return fn();",
    tests: [[T.races, "attacker's queued changes"]],
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
    find: '  return unicodeDomain(caselessKey(email.trim().replace(INVISIBLE_ANYWHERE, "")).replace(INVISIBLE_ANYWHERE, ""));',
    replace: '  return unicodeDomain(caselessKey(email.trim().replace(/[\\p{Cc}\\p{Cf}]/gu, "")));',
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
    breaks: "emails are stored NFKC and case-folded: look-alike spellings are one address",
    file: "src/users/case-folding.ts",
    find: '  return foldCase(foldCase(text.normalize("NFD")).normalize("NFKD")).normalize("NFKC");',
    replace: '  return foldCase(text).normalize("NFC");',
    tests: [T.writes, T.emailKeys, [T.races, "one address"]],
  },
  {
    id: "email-lower-cased-not-folded",
    breaks: "capitals are one address under full case folding: ΟΔΟΣ is οδοσ (409), and stored twins are named by doctor",
    file: "src/users/case-folding.ts",
    find: '  return foldCase(foldCase(text.normalize("NFD")).normalize("NFKD")).normalize("NFKC");',
    replace: '  return text.normalize("NFKC").toLowerCase();',
    tests: [T.emailKeys, T.emails, [T.signInEmails, "7."]],
  },
  {
    id: "email-simple-folding",
    breaks: "full (not simple) case folding: STRASSE and straße are one address",
    file: "src/users/case-folding.ts",
    find: '    table.set(parseInt(from, 16), String.fromCodePoint(...to.split(" ").map((hex) => parseInt(hex, 16))));',
    replace: '    if (!to.includes(" ")) table.set(parseInt(from, 16), String.fromCodePoint(parseInt(to, 16)));',
    tests: [T.emailKeys, T.emails, [T.signInEmails, "7."]],
  },
  {
    id: "email-folding-ascii-shortcut-everywhere",
    breaks: "case folding uses Unicode's table beyond ASCII (toLowerCase() is not folding)",
    file: "src/users/case-folding.ts",
    find: "  if (ASCII_ONLY.test(text)) return text.toLowerCase();",
    replace: "  return text.toLowerCase();",
    tests: [T.emailKeys, T.emails],
  },
  {
    id: "lookup-key-invisible-allowed",
    breaks: "an invisible character in a punycode domain is 422 at sign-in whether or not the account exists",
    file: "src/users/email.ts",
    find: "  if (INVISIBLE_INSIDE.test(trimmed)) {\n    throw new InvalidEmailError(`${field} must not contain control",
    replace: "  if (false) {\n    throw new InvalidEmailError(`${field} must not contain control",
    tests: [T.emailKeys, [T.signInEmails, "6."]],
  },
  {
    id: "sign-in-odd-email-422-when-unknown",
    breaks: "an unknown email gets the same status, body and headers as a wrong password (also one that is no address)",
    file: "src/auth/routes.ts",
    find: "    return findUserByEmail(db, typed)?.email;",
    replace: '    const stored = findUserByEmail(db, typed)?.email;\n    if (stored === undefined && error.kind === "hidden") throw error;\n    return stored;',
    tests: [[T.signInEmails, "5."], [T.originalEra, "without any check"]],
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
    id: "adoption-no-stamp",
    breaks: "where moxie creates the users table (a file at 3522f8b6e283) it records b89cce9ed1af, so the original's alembic upgrade head does not create it again",
    file: "src/db/adopt.ts",
    find: "    if (plan.stamp) {",
    replace: "    if (false) {",
    tests: [[T.originalEra, "before its users migration"]],
  },
  {
    id: "stamp-any-revision",
    breaks: "a file at the original's first revision (50fb02b298b3) keeps its alembic_version: stamping would skip 3522f8b6e283",
    file: "src/db/adopt.ts",
    find: "      return database.revision === BEFORE_USERS_REVISION",
    replace: "      return database.revision !== null",
    tests: [[T.originalEra, "first revision"]],
  },
  // --- commands that only read never write; those that write say what they changed ---------------------------------------
  {
    id: "read-command-migrates",
    breaks: "users and audit never write: they read the schema that is there or say to run moxie migrate",
    file: "src/cli.ts",
    find: "    if (readOnly) return { settings, db: openAsItIs(",
    replace: "    if (false) return { settings, db: openAsItIs(",
    tests: [[T.readOnly, "byte for byte|still serves"]],
  },
  {
    id: "doctor-dry-run-on-file",
    breaks: "doctor only reads: the migration it tries is tried on a private copy, never on the file",
    file: "src/commands/doctor.ts",
    find: "        withPrivateCopy(client, (copy) => migrateClient(copy, dbPath, { dryRun: true }));",
    replace: "        migrateClient(client, dbPath, { dryRun: true });",
    tests: [[T.readOnly, "byte for byte|still serves"]],
  },
  {
    id: "serve-emails-unsaid",
    breaks: "serve says in its log which stored emails it rewrote, from what to what",
    file: "src/cli.ts",
    find: "  if (running.emails.length > 0) {",
    replace: "  if (false) {",
    tests: [[T.readOnly, "serve logs"]],
  },
  // --- the command line's own small promises ----------------------------------------------------------------------------
  {
    id: "cli-errors-not-moxies",
    breaks: "every CLI error line is moxie's own: moxie: <sentence>",
    file: "src/cli.ts",
    find: "  console.error(`moxie: ${message}`);",
    replace: "  console.error(`Error: ${message}`);",
    tests: [T.cli],
    filter: "help, version, usage errors|misspelled",
  },
  {
    id: "restore-junk-exit-1",
    breaks: "restore of a file that is not a SQLite database is bad input (exit 2), like a missing path or a directory",
    file: "src/commands/backup.ts",
    find: "  if (hasSqliteHeader(source) === false) throw new UsageError(",
    replace: "  if (false) throw new UsageError(",
    tests: [[T.firstUse, "restore of a file"]],
  },
  {
    id: "repeat-activation-recorded",
    breaks: "deactivating an inactive account (or activating an active one) records nothing",
    file: "src/users/service.ts",
    find: "    if (user.isActive === active) return { user, changed: false };",
    replace: "    if (false) return { user, changed: false };",
    tests: [T.accounts, [T.firstUse, "repeated"]],
    filter: "deactivate / activate",
  },
  {
    id: "restore-keeps-generation",
    breaks: "restore signs everyone out: no token from before a restore works after it, on this machine or a new one",
    file: "src/commands/backup.ts",
    find: "    beginRestoredGeneration(db.$client);\n",
    replace: "",
    tests: [T.opsCli, [T.restore, "1\\.|2\\."], [T.races, "restore signs everyone out"]],
    filter: "restore",
  },
  {
    id: "token-generation-unchecked",
    breaks: "a token from before a restore never acts as the account that gets its id and version after it",
    file: "src/auth/guard.ts",
    find: "        if (claims.generation === null ? generation.restored : claims.generation !== generation.id) {",
    replace: "        if (claims.generation === null ? generation.restored : false) {",
    tests: [T.auth, [T.restore, "1\\.|2\\."]],
  },
  {
    id: "tokens-without-generation-after-restore",
    breaks: "tokens without a generation (the original's, moxie's older ones) stop working after any restore",
    file: "src/auth/guard.ts",
    find: "        if (claims.generation === null ? generation.restored : claims.generation !== generation.id) {",
    replace: "        if (claims.generation === null ? false : claims.generation !== generation.id) {",
    tests: [T.auth, [T.restore, "1\\."], [T.originalEra, "first restore"]],
  },
  {
    id: "tokens-without-generation-refused",
    breaks: "the original's tokens keep working after the switch while the database has never been restored",
    file: "src/auth/guard.ts",
    find: "        if (claims.generation === null ? generation.restored : claims.generation !== generation.id) {",
    replace: "        if (claims.generation === null ? true : claims.generation !== generation.id) {",
    tests: [T.auth, T.originalApp, [T.originalEra, "sub and exp only"]],
  },
  {
    id: "generation-lost-row-never-restored",
    breaks: "a generation row removed by hand comes back counted as restored (tokens without one stay refused)",
    file: "src/db/generation.ts",
    find: '${options.tableIsNew ? "NULL" : "strftime(\'%Y-%m-%dT%H:%M:%fZ\', \'now\')"}',
    replace: "NULL",
    tests: [T.db],
  },
  {
    id: "token-unknown-claims-accepted",
    breaks: "a token carrying a claim moxie does not check (a later version's session id) is refused",
    file: "src/auth/tokens.ts",
    find: "    for (const claim of Object.keys(payload)) if (!KNOWN_CLAIMS.has(claim)) return null;\n",
    replace: "",
    tests: [T.tokens],
  },
  {
    id: "token-generation-shape-unchecked",
    breaks: "a token's generation is 32 lowercase hex digits or the token is refused",
    file: "src/auth/tokens.ts",
    find: '    if (gen !== undefined && (typeof gen !== "string" || !GENERATION_PATTERN.test(gen))) return null;\n',
    replace: "",
    tests: [T.tokens],
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
    filter: "page cap",
  },
  {
    id: "ready-ignores-free-space",
    breaks: "/ready answers 503 'database disk is full' on a full filesystem",
    file: "src/health.ts",
    find: '  if (freeBytes(dirname(path)) < READY_MIN_FREE_BYTES) return "database disk is full";\n',
    replace: "",
    tests: [[T.fullDisk, "real full filesystem"]],
    acceptable: "only where the test can mount a tmpfs (root); elsewhere its test is skipped and says so",
  },
  // --- logging never stops the server ------------------------------------------------------------------------------------
  {
    id: "log-pipe-error-unhandled",
    breaks: "a log line stdout cannot take is dropped; requests and shutdown go on (exit 0)",
    file: "src/log.ts",
    find: '  process.stdout.on("error", (error) => stdoutBroke(error));\n',
    replace: "",
    tests: [[T.logPipe, "reader has gone"]],
  },
  {
    id: "log-drops-uncounted",
    breaks: "a log line that cannot be written is counted, and the total said on stderr at exit",
    file: "src/log.ts",
    find: "  droppedLines += lines;\n  if (error !== undefined) stdoutBroke(error);",
    replace: "  if (error !== undefined) stdoutBroke(error);",
    tests: [[T.logPipe, "reader has gone"]],
  },
  // --- backups off the machine (S3) ------------------------------------------------------------------------------------------
  {
    id: "offsite-checksum-unchecked",
    breaks: "restore s3://: a copy whose sha256 is not the one stored beside it never replaces the database",
    file: "src/commands/offsite.ts",
    find: "    if (got.sha256 !== expected) {",
    replace: "    if (false) {",
    tests: [[T.offsite, "changed after upload"]],
  },
  {
    id: "offsite-checksum-left-on-failure",
    breaks: "a failed upload leaves nothing under the copy's names (its checksum is taken away again)",
    file: "src/commands/offsite.ts",
    find: "      await store.delete(checksumKey, CLEANUP_TIMEOUT_MS).catch(() => {});\n      throw offsiteCommandError(",
    replace: "      throw offsiteCommandError(",
    tests: [[T.offsite, "fails a part"]],
  },
  {
    id: "offsite-upload-failure-ignored",
    breaks: "a failed upload exits 1 with one line saying why (the upload's own failure, not a later symptom)",
    file: "src/commands/offsite.ts",
    find: "      await store.upload(key, copy, size);",
    replace: "      await store.upload(key, copy, size).catch(() => {});",
    tests: [[T.offsite, "dies in the middle|fails a part"]],
  },
  {
    id: "offsite-keep-any-name",
    breaks: "--keep N deletes only copies moxie named under the prefix; other objects are left alone",
    file: "src/offsite/store.ts",
    find: "  return objects.filter((object) => BACKUP_NAME.test(baseName(object.key))).sort(",
    replace: "  return objects.filter(() => true).sort(",
    tests: [[T.offsite, "--keep N keeps"]],
  },
  {
    id: "offsite-keep-one-short",
    breaks: "--keep N keeps the newest N",
    file: "src/commands/offsite.ts",
    find: "  const doomed = copies.slice(keep);",
    replace: "  const doomed = copies.slice(keep - 1);",
    tests: [[T.offsite, "--keep N keeps"]],
  },
  {
    id: "offsite-keep-drops-new-copy",
    breaks: "--keep N always keeps the copy just made (a copy dated ahead cannot push it out)",
    file: "src/commands/offsite.ts",
    find: "  const copies = [...named.filter((object) => object.key === made), ...named.filter((object) => object.key !== made)];",
    replace: "  const copies = named;",
    tests: [[T.offsite, "--keep N keeps"]],
  },
  {
    id: "offsite-stale-unnoticed",
    breaks: "doctor says when the newest off-host copy is older than two days",
    file: "src/commands/offsite.ts",
    find: "  if (age > OFFSITE_STALE_MS) {",
    replace: "  if (age > 2 * OFFSITE_STALE_MS) {",
    tests: [[T.offsite, "older than two days"]],
  },
  {
    id: "offsite-doctor-unbounded",
    breaks: "doctor does not hang when the storage does not answer (bounded, said plainly)",
    file: "src/commands/offsite.ts",
    find: "    objects = await store.list(location.key, DOCTOR_TIMEOUT_MS);",
    replace: "    objects = await store.list(location.key, 600_000);",
    tests: [[T.offsite, "never answers"]],
  },
  {
    id: "offsite-abandoned-request-holds-exit",
    breaks: "a command that gave up on the storage ends (Bun's S3 client cannot cancel the request)",
    file: "src/cli.ts",
    find: "  if (abandonedS3Requests() > 0) process.exit(code);",
    replace: "  if (abandonedS3Requests() < 0) process.exit(code);",
    tests: [[T.offsite, "never answers"]],
  },
  {
    id: "offsite-secret-printed",
    breaks: "the S3 credentials are never printed: doctor says \"set\"",
    file: "src/commands/doctor.ts",
    find: '`set${viaAws(settings.s3.names.secretAccessKey)}`',
    replace: "`set ${settings.s3.secretAccessKey}`",
    tests: [[T.offsite, "older than two days"]],
  },
  {
    id: "offsite-credentials-not-redacted",
    breaks: "no S3 credential reaches stdout or stderr, even quoted in the storage's answer",
    file: "src/offsite/store.ts",
    find: "    for (const secret of this.secrets) out = out.replaceAll(secret, \"[redacted]\");",
    replace: "",
    tests: [[T.offsite, "quotes the key id"]],
  },
  // --- issue 19: one client in IPv6, a busy sign-in, promises no test defended ------------------------------------------
  {
    id: "ipv6-client-full-address",
    breaks: "an IPv6 client is counted by its /64: rotating addresses inside it does not escape the per-address limit",
    file: "src/auth/throttle.ts",
    find: "    const client = this.clientOf(address);",
    replace: "    const client = address;",
    tests: [T.throttle, [T.login, "one client is one client in IPv6"]],
  },
  {
    id: "ipv6-pair-full-address",
    breaks: "the (email, client) pair is one /64 too: rotating addresses does not buy one email fresh guesses",
    file: "src/auth/throttle.ts",
    find: "      [pairKey(email, client), this.limits.maxFailuresPerPair, clearedAt],",
    replace: "      [pairKey(email, address), this.limits.maxFailuresPerPair, clearedAt],",
    tests: [T.throttle],
  },
  {
    id: "ipv4-mapped-counted-as-ipv6-network",
    breaks: "an IPv4-mapped IPv6 address is its IPv4 address (not one /64 with every other IPv4 client)",
    file: "src/http/client-address.ts",
    find: "  const canonical = canonicalAddress(address);\n  if (isIP(canonical) !== 6",
    replace: "  const canonical = address;\n  if (isIP(canonical) !== 6",
    tests: [T.throttle],
  },
  {
    id: "refusal-row-full-address",
    breaks: "1 000 refused sign-ins from 1 000 addresses of one /64 are one counted audit row, under the /64",
    file: "src/auth/routes.ts",
    find: "{ ...event, ip: event.ip && throttle.clientOf(event.ip) }",
    replace: "event",
    tests: [[T.login, "one client is one client in IPv6"]],
  },
  {
    id: "ipv6-prefix-setting-ignored",
    breaks: "LOGIN_IPV6_PREFIX sets the network an IPv6 client is counted by",
    file: "src/app.ts",
    find: "    ipv6PrefixLength: settings.loginIpv6PrefixLength,\n",
    replace: "",
    tests: [[T.login, "LOGIN_IPV6_PREFIX=48"]],
  },
  {
    id: "forwarded-junk-kept",
    breaks: "a last X-Forwarded-For entry that is no IP address names no client: the socket's address is used and recorded",
    file: "src/http/client-address.ts",
    find: "  return isIP(last) ? canonicalAddress(last) : client;",
    replace: "  return last ? canonicalAddress(last) : client;",
    tests: [T.throttle, [T.login, "no IP address"]],
  },
  {
    id: "busy-sign-in-counted",
    breaks: "a right password answered 503 because the database is busy is no failed sign-in",
    file: "src/auth/routes.ts",
    find: "no lockout.\n          attempt.withdrawn();\n",
    replace: "no lockout.\n",
    tests: [T.writes, [T.races, "no failed sign-in"]],
    filter: "busy database",
  },
  {
    id: "own-change-reservation-own-key",
    breaks: "wrong current passwords at PUT /auth/password and failed sign-ins share one (email, address) counter",
    file: "src/auth/routes.ts",
    find: "    const attempt = throttle.reserve(user.email, ip, throttleClearedAt(db, user));",
    replace: "    const attempt = throttle.reserve(`password-change:${user.email}`, ip, throttleClearedAt(db, user));",
    tests: [T.throttle],
    filter: "count on one",
  },
  {
    id: "own-change-reservation-other-address",
    breaks: "wrong current passwords at PUT /auth/password and failed sign-ins share one (email, address) counter",
    file: "src/auth/routes.ts",
    find: "    const attempt = throttle.reserve(user.email, ip, throttleClearedAt(db, user));",
    replace: "    const attempt = throttle.reserve(user.email, `password-change:${ip}`, throttleClearedAt(db, user));",
    tests: [T.throttle],
    filter: "count on one",
  },
  {
    id: "csv-defuses-only-equals-plus",
    breaks: "the console's CSV export defuses a leading =, +, -, @, tab and carriage return",
    file: "src/console/app/accounts-csv.ts",
    find: "  const safe = /^[=+\\-@\\t\\r]/.test(value)",
    replace: "  const safe = /^[=+]/.test(value)",
    tests: [[T.consoleBrowser, "CSV export defuses"]],
  },
  // --- issue 19: SECURITY.md read sentence by sentence, one-line bugs tried against each promise ------------------------
  {
    id: "argon2-passes-lowered",
    breaks: "passwords are argon2id, 64 MiB, 2 passes",
    file: "src/auth/password.ts",
    find: "export const ARGON2_TIME_COST = 2;",
    replace: "export const ARGON2_TIME_COST = 1;",
    tests: [T.password],
  },
  {
    id: "common-password-allowed",
    breaks: "new passwords are not among the 5 000 most common passwords",
    file: "src/auth/password-policy.ts",
    find: "  if (COMMON_PASSWORDS.has(normalized.toLowerCase())) return",
    replace: "  if (false) return",
    tests: [T.promises],
  },
  {
    id: "common-password-case-sensitive",
    breaks: "new passwords are not among the 5 000 most common passwords, in any case",
    file: "src/auth/password-policy.ts",
    find: "  if (COMMON_PASSWORDS.has(normalized.toLowerCase())) return",
    replace: "  if (COMMON_PASSWORDS.has(normalized)) return",
    tests: [T.promises],
  },
  {
    id: "password-min-7",
    breaks: "new passwords must be 8-128 characters",
    file: "src/auth/password-policy.ts",
    find: "  if (length < PASSWORD_MIN_LENGTH || length > PASSWORD_MAX_LENGTH) {",
    replace: "  if (length < PASSWORD_MIN_LENGTH - 1 || length > PASSWORD_MAX_LENGTH) {",
    tests: [T.accounts],
  },
  {
    id: "password-max-129",
    breaks: "new passwords must be 8-128 characters",
    file: "src/auth/password-policy.ts",
    find: "  if (length < PASSWORD_MIN_LENGTH || length > PASSWORD_MAX_LENGTH) {",
    replace: "  if (length < PASSWORD_MIN_LENGTH || length > PASSWORD_MAX_LENGTH + 1) {",
    tests: [T.accounts],
  },
  {
    id: "activation-keeps-throttle",
    breaks: "activating an account clears its sign-in throttle",
    file: "src/users/service.ts",
    find: 'const THROTTLE_CLEARING_EVENTS: AuditEventType[] = ["user.unlocked", "user.activated"];',
    replace: 'const THROTTLE_CLEARING_EVENTS: AuditEventType[] = ["user.unlocked"];',
    tests: [T.throttle, [T.races, "unlock the agent"]],
  },
  {
    id: "password-set-keeps-throttle",
    breaks: "setting an account's password clears its sign-in throttle",
    file: "src/users/service.ts",
    find: "...[user.passwordChangedAt, unlocked].map(",
    replace: "...[unlocked].map(",
    tests: [T.throttle, [T.races, "unlock the agent"]],
  },
  {
    id: "logout-keeps-tokens",
    breaks: "POST /auth/logout revokes every earlier token of the account",
    file: "src/users/service.ts",
    find: "    tx.update(users).set({ tokenVersion: sql`${users.tokenVersion} + 1` }).where(eq(users.id, actor.id)).run();\n    audit({ type: \"logout\"",
    replace: "    audit({ type: \"logout\"",
    tests: [T.accounts],
  },
  {
    id: "deactivation-keeps-tokens",
    breaks: "deactivation revokes every earlier token of the account (reactivating does not bring them back)",
    file: "src/users/service.ts",
    find: "    const revoke = active ? {} : { tokenVersion: sql`${users.tokenVersion} + 1` };",
    replace: "    const revoke = {};",
    tests: [T.auth, T.accounts],
  },
  {
    id: "password-set-keeps-tokens",
    breaks: "a password change (by anyone) revokes every earlier token of the account",
    file: "src/users/service.ts",
    find: "    .set({ passwordHash, tokenVersion: sql`${users.tokenVersion} + 1`, passwordChangedAt: utcNow })",
    replace: "    .set({ passwordHash, passwordChangedAt: utcNow })",
    tests: [T.accounts, T.writes],
  },
  {
    id: "log-path-with-query",
    breaks: "request logs carry the path without the query string",
    file: "src/http/request-log.ts",
    find: "  return query === -1 ? url.slice(start) : url.slice(start, query);",
    replace: "  return url.slice(start);",
    tests: [T.operations],
  },
  {
    id: "header-nosniff-dropped",
    breaks: "every response carries X-Content-Type-Options: nosniff",
    file: "src/http/security-headers.ts",
    find: '  "x-content-type-options": "nosniff",\n',
    replace: "",
    tests: [T.consoleRoutes, [T.requests, "security headers"]],
  },
  {
    id: "header-frame-options-dropped",
    breaks: "every response carries X-Frame-Options: DENY",
    file: "src/http/security-headers.ts",
    find: '  "x-frame-options": "DENY",\n',
    replace: "",
    tests: [T.consoleRoutes, [T.requests, "security headers"]],
  },
  {
    id: "header-referrer-policy-dropped",
    breaks: "every response carries Referrer-Policy: no-referrer",
    file: "src/http/security-headers.ts",
    find: '  "referrer-policy": "no-referrer",\n',
    replace: "",
    tests: [T.consoleRoutes, [T.requests, "security headers"]],
  },
  {
    id: "header-cache-control-weak",
    breaks: "every response carries Cache-Control: no-store",
    file: "src/http/security-headers.ts",
    find: '  "cache-control": "no-store",',
    replace: '  "cache-control": "no-cache",',
    tests: [T.consoleRoutes, [T.requests, "security headers"]],
  },
  {
    id: "api-csp-loosened",
    breaks: "JSON carries Content-Security-Policy: default-src 'none'; frame-ancestors 'none'",
    file: "src/http/security-headers.ts",
    find: "export const API_CONTENT_SECURITY_POLICY = \"default-src 'none'; frame-ancestors 'none'\";",
    replace: "export const API_CONTENT_SECURITY_POLICY = \"default-src 'self'\";",
    tests: [T.consoleRoutes, [T.requests, "security headers"]],
  },
  {
    id: "cors-wildcard-accepted",
    breaks: "CORS_ORIGINS: `*` and `null` are refused at start",
    file: "src/settings.ts",
    find: '    if (entry.includes("*") || entry.toLowerCase() === "null") throw',
    replace: "    if (false) throw",
    tests: [T.settings],
  },
  {
    id: "error-500-echoes-message",
    breaks: "unexpected errors say Internal server error; the real error goes to the log only",
    file: "src/http/errors.ts",
    find: '    set.status = 500;\n    return { detail: "Internal server error" };',
    replace: "    set.status = 500;\n    return { detail: String(error) };",
    tests: [T.http],
  },
  {
    id: "secret-min-length-lowered",
    breaks: "a SECRET_KEY shorter than 32 characters stops moxie at start",
    file: "src/settings.ts",
    find: "export const MIN_SECRET_KEY_LENGTH = 32;",
    replace: "export const MIN_SECRET_KEY_LENGTH = 16;",
    tests: [T.settings],
  },
  {
    id: "generated-secret-128-bits",
    breaks: "unset, a 256-bit key is generated once beside the database",
    file: "src/auth/secret.ts",
    find: "crypto.getRandomValues(new Uint8Array(32))",
    replace: "crypto.getRandomValues(new Uint8Array(16))",
    tests: [T.cli],
  },
  {
    id: "umask-open",
    breaks: "files moxie creates (database, -wal, -shm, key, backups) are owner-only",
    file: "src/cli.ts",
    find: "  process.umask(0o077);",
    replace: "  process.umask(0o022);",
    tests: [T.cli, T.opsCli, [T.securityCli, "owner-only"]],
    acceptable:
      "defence in depth: every file moxie creates also gets an explicit owner-only mode (the directory 0700; the database, key, backups and serve lock 0600; SQLite gives -wal and -shm the database file's mode), and the tests check the modes, which stay owner-only",
  },
  {
    id: "own-change-429-no-retry-after",
    breaks: "a throttled password change (429) carries Retry-After",
    file: "src/auth/routes.ts",
    find: '          set.headers["retry-after"] = String(attempt.retryAfterSeconds);\n          return status(429, { detail: "Too many wrong passwords; try again later" });',
    replace: '          return status(429, { detail: "Too many wrong passwords; try again later" });',
    tests: [T.throttle, [T.races, "wrong current passwords count"]],
    filter: "count on one",
  },
  {
    id: "unknown-email-no-challenge",
    breaks: "an unknown email gets the same status, body and headers as a wrong password",
    file: "src/auth/routes.ts",
    find: "          Object.assign(set.headers, BEARER_CHALLENGE);\n          return status(401, { detail });",
    replace: "          if (user) Object.assign(set.headers, BEARER_CHALLENGE);\n          return status(401, { detail });",
    tests: [T.auth],
  },
  {
    id: "token-ttl-longer",
    breaks: "tokens last 8 hours",
    file: "src/auth/tokens.ts",
    find: "export const ACCESS_TOKEN_TTL_SECONDS = 8 * 60 * 60;",
    replace: "export const ACCESS_TOKEN_TTL_SECONDS = 9 * 60 * 60;",
    tests: [T.auth, T.tokens, T.tokenClock],
  },
  {
    id: "busy-timeout-shortened",
    breaks: "a write that meets another connection's lock waits up to the 5 s busy timeout",
    file: "src/db/index.ts",
    find: "export const BUSY_TIMEOUT_MS = 5000;",
    replace: "export const BUSY_TIMEOUT_MS = 500;",
    tests: [T.db],
  },
  {
    id: "gate-account-line-first",
    breaks: "the hashing queue serves sign-ins and signed-in work in turn, so no agent can starve sign-in",
    file: "src/auth/password.ts",
    find: "    this.accountTurn = !this.accountTurn;",
    replace: "    this.accountTurn = true;",
    tests: [T.password],
    filter: "HashingGate",
  },
  {
    id: "forwarded-from-any-socket",
    breaks: "X-Forwarded-For is believed only from TRUSTED_PROXY",
    file: "src/http/client-address.ts",
    find: "  if (trustedProxy === undefined || client !== trustedProxy) return client;",
    replace: "  if (trustedProxy === undefined) return client;",
    tests: [T.throttle, [T.login, "TRUSTED_PROXY"]],
  },
  {
    id: "forwarded-first-entry",
    breaks: "only X-Forwarded-For's last entry (the one the proxy appended) is believed",
    file: "src/http/client-address.ts",
    find: '  const last = unbracketed(forwarded?.split(",").at(-1)?.trim() ?? "");',
    replace: '  const last = unbracketed(forwarded?.split(",").at(0)?.trim() ?? "");',
    tests: [T.throttle, [T.login, "TRUSTED_PROXY"]],
  },
  {
    id: "gate-sign-in-line-first",
    breaks: "the hashing queue serves sign-ins and signed-in work in turn: a login flood cannot starve a password change",
    file: "src/auth/password.ts",
    find: "    this.accountTurn = !this.accountTurn;",
    replace: "    this.accountTurn = false;",
    tests: [T.password],
    filter: "HashingGate",
  },
  {
    id: "success-counted-as-failure",
    breaks: "a success gives its place back in the per-address and per-account counters",
    file: "src/auth/throttle.ts",
    find: "      succeeded: () => {\n        giveBack();\n",
    replace: "      succeeded: () => {\n",
    tests: [T.throttle, [T.login, "launder"]],
  },
  {
    id: "cors-partial-origin-accepted",
    breaks: "CORS_ORIGINS: partial origins (a path, no scheme) are refused at start",
    file: "src/settings.ts",
    find: '    if ((url.protocol !== "http:" && url.protocol !== "https:") || url.origin !== candidate.toLowerCase()) {',
    replace: '    if (url.protocol !== "http:" && url.protocol !== "https:") {',
    tests: [T.settings],
  },
  {
    id: "public-secret-accepted",
    breaks: "the Python original's SECRET_KEY change-me-in-production stops moxie at start",
    file: "src/settings.ts",
    find: "  if (KNOWN_PUBLIC_SECRETS.has(raw)) {",
    replace: "  if (false) {",
    tests: [T.settings, T.originalApp],
    filter: "SECRET_KEY|change-me-in-production",
  },
  {
    id: "host-default-all-interfaces",
    breaks: "moxie listens on 127.0.0.1 unless HOST says otherwise",
    file: "src/settings.ts",
    find: '  const host = take("HOST", parseHost, "127.0.0.1");',
    replace: '  const host = take("HOST", parseHost, "0.0.0.0");',
    tests: [T.settings],
  },
  {
    id: "validation-echoes-value",
    breaks: "validation names the field, never the value",
    file: "src/http/errors.ts",
    find: "    if (typeof first.value !== \"string\") return `${field} must be a string`;",
    replace: "    if (typeof first.value !== \"string\") return `${field} must be a string, not ${JSON.stringify(first.value)}`;",
    tests: [T.http],
  },
  {
    id: "validation-length-echoes-value",
    breaks: "validation names the field, never the value",
    file: "src/http/errors.ts",
    find: "      return `${field} must be ${schema.minLength} to ${schema.maxLength} characters`;",
    replace: "      return `${field} must be ${schema.minLength} to ${schema.maxLength} characters, not ${String(first.value)}`;",
    tests: [T.http],
  },
  {
    id: "unhandled-error-unlogged",
    breaks: "unexpected errors: the real error goes to the log",
    file: "src/http/errors.ts",
    find: '    log.error("unhandled error", {',
    replace: '    if (Math.random() > 2) log.error("unhandled error", {',
    tests: [T.http],
  },
  {
    id: "work-in-progress-no-retry-after",
    breaks: "a second password operation of one account answers 429 with Retry-After: 1",
    file: "src/http/errors.ts",
    find: '  if (error instanceof PasswordWorkQueuedError) return { status: 429, detail: error.message, headers: { "retry-after": "1" } };',
    replace: "  if (error instanceof PasswordWorkQueuedError) return { status: 429, detail: error.message };",
    tests: [T.password, T.accounts, T.http, [T.concurrency, "429"]],
  },
  {
    id: "ready-ignores-lock",
    breaks: "/ready reports a database locked by another connection",
    file: "src/health.ts",
    find: '    return "database is locked or read-only";',
    replace: "    return null;",
    tests: [T.operations, T.writes],
  },
  {
    id: "full-disk-unlogged",
    breaks: "a full disk is logged as an error",
    file: "src/http/errors.ts",
    find: "      if (known.detail === new DatabaseFullError().message) log.error(",
    replace: "      if (Math.random() > 2) log.error(",
    tests: [T.fullDisk],
  },
  {
    id: "demote-unguarded",
    breaks: "the last active admin cannot be demoted, and an admin cannot demote themselves",
    file: "src/users/service.ts",
    find: '    if (changes.role === "agent" && user.role === "admin" && user.isActive) {',
    replace: "    if (false) {",
    tests: [T.accounts],
  },
  {
    id: "deactivate-unguarded",
    breaks: "the last active admin cannot be deactivated, and an admin cannot deactivate themselves (API and CLI)",
    file: "src/users/service.ts",
    find: '    if (!active && user.role === "admin") guardAdminRemoval(tx, actor, user, "deactivate");',
    replace: "    void guardAdminRemoval;",
    tests: [T.accounts, T.cliAccounts],
  },
  {
    id: "auth-after-validation",
    breaks: "authentication is decided before the body is validated (an anonymous bad body learns 401, not the schema)",
    file: "src/auth/guard.ts",
    find: "      transform({ request, set, status }) {",
    replace: "      beforeHandle({ request, set, status }) {",
    tests: [T.auth],
  },
  {
    id: "cors-any-origin",
    breaks: "CORS allows only the configured full origins",
    file: "src/http/cors.ts",
    find: '          origin: (request) => allowed.has(request.headers.get("origin") ?? ""),',
    replace: "          origin: () => true,",
    tests: [T.http, [T.corsLeak, "other origins"]],
  },
  {
    id: "guard-401-no-challenge",
    breaks: "401 not signed in carries WWW-Authenticate: Bearer",
    file: "src/auth/guard.ts",
    find: "          Object.assign(set.headers, BEARER_CHALLENGE);\n          return status(401, { detail });",
    replace: "          return status(401, { detail });",
    tests: [T.auth],
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
