// Mutations of the browser console: what it hands the user to open elsewhere (the CSV export).
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
];
