// Mutations of what a browser shows: the console (its CSV export, its sign-out, its sessions) and /docs.
import { T, type Mutation } from "./types.ts";

export const consoleApp: Mutation[] = [
  {
    id: "csv-defuses-only-equals-plus",
    breaks: "the console's CSV export defuses a leading =, +, -, @, tab and carriage return",
    file: "src/console/app/accounts-csv.ts",
    find: "  const safe = /^[=+\\-@\\t\\r]/.test(value)",
    replace: "  const safe = /^[=+]/.test(value)",
    tests: [[T.consoleBrowser, "CSV export defuses"]],
  },
  {
    id: "console-signout-unconfirmed-says-signed-out",
    breaks: "the console says \"You are signed out.\" only when POST /auth/logout answered; otherwise the token is kept and the page says it still works",
    file: "src/console/app/session.ts",
    find: "    if (error instanceof ApiError) return explainSignOutProblem(error);",
    replace: "    if (error instanceof ApiError) return endSession(SIGNED_OUT, { clearDrafts: true });",
    tests: [[T.consoleBrowser, "server is unreachable"]],
  },
  {
    id: "console-sign-out-others-global",
    breaks: "My account's \"Sign out of all other sessions\" ends the others and keeps this tab signed in (scope=others, never global)",
    file: "src/console/app/my-sessions.ts",
    find: '    await api("POST", "/auth/logout?scope=others");',
    replace: '    await api("POST", "/auth/logout?scope=global");',
    tests: [[T.consoleSessions, "My account"]],
  },
  {
    id: "console-session-ended-elsewhere-unsaid",
    breaks: "a tab whose session was ended from another device or by an admin is signed out saying it was ended elsewhere",
    file: "src/console/app/api.ts",
    find: ": /^session ended/i.test(detail) ? SESSION_ENDED_ELSEWHERE : SESSION_ENDED);",
    replace: ": SESSION_ENDED);",
    tests: [[T.consoleSessions, "ended elsewhere"]],
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
