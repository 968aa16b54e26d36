// `moxie users`: the accounts as a table or JSON, as stored, all of them or those a search finds. Only reads: the file
// is opened as it is.
import { listUsers, toPublicUser } from "../../accounts/lookup.ts";
import type { Db } from "../../db/index.ts";
import { bootstrap } from "../bootstrap.ts";
import { print, type Command } from "../command.ts";
import { UsageError } from "../errors.ts";
import { printTable } from "../table.ts";

type Print = (line: string) => void;

/** As long as the API's `q` may be. */
const SEARCH_MAX_LENGTH = 100;

export const usersCommand: Command = {
  usage:
    "moxie users [--search TEXT] [--json]\n\n" +
    "Lists every account, oldest first, as a table or (--json) a JSON array.\n" +
    "--search TEXT (or -q TEXT) lists only the accounts whose name or email contains TEXT, ignoring case and\n" +
    "accents in any script, as the API's and the console's search: `åsa` finds Åsa Öberg, `nguyen` finds Nguyễn.",
  options: { json: { type: "boolean" }, search: { type: "string", short: "q" } },
  async run(context) {
    const search = searchText(context.values.search);
    const { db } = bootstrap(context, { create: false, readOnly: true });
    try {
      listUsersCommand(db, { json: context.values.json === true, search }, print);
    } finally {
      db.$client.close();
    }
  },
};

/** The --search value, checked before the database is opened: blank or too long is bad input (exit 2). */
function searchText(value: string | boolean | undefined): string | undefined {
  if (typeof value !== "string") return undefined;
  if (value.trim() === "") throw new UsageError("--search needs TEXT to look for in names and emails");
  if ([...value].length > SEARCH_MAX_LENGTH) throw new UsageError(`--search must be at most ${SEARCH_MAX_LENGTH} characters`);
  return value.trim();
}

function listUsersCommand(db: Db, options: { json: boolean; search: string | undefined }, print: Print): void {
  // Every account: the API pages at 1 000, the command line does not.
  const users = listUsers(db, { q: options.search, limit: Number.MAX_SAFE_INTEGER }).users.map(toPublicUser);
  if (options.json) {
    print(JSON.stringify(users, null, 2));
    return;
  }
  printTable(
    ["ID", "EMAIL", "NAME", "ROLE", "ACTIVE"],
    users.map((u) => [String(u.id), u.email, u.name, u.role, u.is_active ? "yes" : "no"]),
    print,
  );
  const counted = `${users.length} account${users.length === 1 ? "" : "s"}`;
  print(options.search === undefined ? counted : `${counted} found`);
}
