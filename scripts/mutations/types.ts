// The shape of one mutation and the test files they name, shared by every area's list under scripts/mutations/.

export interface Mutation {
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

/** The test files by a short name, so a mutation's `tests` read as what they are and a misspelt one fails typecheck. */
export const T = {
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
  docsBrowser: "test/docs/browser.test.ts",
  consoleRoutes: "test/console/routes.test.ts",
  requests: "test/security/requests.test.ts",
  corsLeak: "test/security/cors-leak.test.ts",
  securityCli: "test/security/cli.test.ts",
  promises: "test/promises.test.ts",
  openapi: "test/openapi.test.ts",
  authz: "test/security/authz.test.ts",
  sessions: "test/sessions.test.ts",
  concurrency: "test/security/concurrency.test.ts",
  // On the compiled binary: always with a -t pattern.
  races: "test/security/races.test.ts",
  binary: "test/binary.test.ts",
  client: "test/client/generated-client.test.ts",
  originalEra: "test/original-era.test.ts",
  readOnly: "test/read-only.test.ts",
  firstUse: "test/first-use.test.ts",
  offsite: "test/offsite.test.ts",
  serveLock: "test/security/serve-lock.test.ts",
  logPipe: "test/log-pipe.test.ts",
  restore: "test/security/restore.test.ts",
  signInEmails: "test/security/sign-in-emails.test.ts",
  securitySessions: "test/security/sessions.test.ts",
  consoleSessions: "test/console/sessions.test.ts",
};
