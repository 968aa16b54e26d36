// `moxie sessions --email E` (where an account is signed in; only reads) and `moxie sign-out --email E` (ends every
// session of the account, and its tokens from before sessions; a running server refuses them at their next request).
import { UserNotFoundError } from "../../accounts/errors.ts";
import { getUserByEmail } from "../../accounts/lookup.ts";
import { endAllAccountSessions } from "../../accounts/sessions.ts";
import type { Db } from "../../db/index.ts";
import { InvalidEmailError } from "../../emails/normalize.ts";
import { listSessions, toPublicSessions } from "../../sessions/store.ts";
import { requireOption } from "../args.ts";
import { bootstrap } from "../bootstrap.ts";
import { print, type Command } from "../command.ts";
import { plural } from "../dbfile.ts";
import { CommandError, UsageError } from "../errors.ts";
import { printTable } from "../table.ts";

type Print = (line: string) => void;

export const sessionsCommand: Command = {
  usage:
    "moxie sessions --email EMAIL [--json]\n\n" +
    "Lists the account's live sessions (one per signed-in device), most recently seen first. Only reads.",
  options: { email: { type: "string" }, json: { type: "boolean" } },
  async run(context) {
    const email = requireOption(context.values, "email");
    const { db } = bootstrap(context, { create: false, readOnly: true });
    try {
      listAccountSessions(db, email, context.values.json === true, print);
    } finally {
      db.$client.close();
    }
  },
};

export const signOutCommand: Command = {
  usage:
    "moxie sign-out --email EMAIL\n\n" +
    "Ends every session of the account, and every token of it from before sessions; a running server refuses them at\n" +
    "their next request. The password is unchanged: the account can sign in again.",
  options: { email: { type: "string" } },
  async run(context) {
    const email = requireOption(context.values, "email");
    const { db } = bootstrap(context, { create: false });
    try {
      const user = asCommandError(() => getUserByEmail(db, email));
      const ended = await endAllAccountSessions(db, "cli", user.id);
      print(`Signed out #${user.id} ${user.email} everywhere: ${plural(ended, "session")} ended; its tokens stop working at their next request`);
    } finally {
      db.$client.close();
    }
  },
};

function listAccountSessions(db: Db, email: string, json: boolean, print: Print): void {
  const user = asCommandError(() => getUserByEmail(db, email));
  // At the host nobody is "signed in with" a session, so none is current.
  const sessions = toPublicSessions(listSessions(db, user.id), null);
  if (json) {
    print(JSON.stringify(sessions, null, 2));
    return;
  }
  printTable(
    ["ID", "DEVICE", "IP", "SIGNED IN", "LAST SEEN", "EXPIRES"],
    sessions.map((s) => [s.id, s.device, s.ip ?? "-", s.created_at, s.last_seen_at, s.expires_at]),
    print,
  );
  print(`${plural(sessions.length, "session")} of #${user.id} ${user.email}`);
}

/** An account that is not there is exit 1 (the command was fine); an email with invisible characters, bad input. */
function asCommandError<T>(work: () => T): T {
  try {
    return work();
  } catch (error) {
    if (error instanceof UserNotFoundError) throw new CommandError(error.message);
    if (error instanceof InvalidEmailError) throw new UsageError(error.message);
    throw error;
  }
}
