// Account commands for an operator at the host: the first admin, a forgotten password, (de)activating and unlocking.
// What is typed is checked by the API's own schemas (src/http/models), so it is refused in the API's words.
import { ValidationError } from "elysia";
import { AdminLockoutError, EmailTakenError, PasswordRaceError, UserNotFoundError } from "../../accounts/errors.ts";
import { getUserByEmail } from "../../accounts/lookup.ts";
import { createUser, setActive, setPassword, unlockUser } from "../../accounts/service.ts";
import type { Db } from "../../db/index.ts";
import { InvalidEmailError } from "../../emails/normalize.ts";
import { NewAccountModel, SetPasswordModel } from "../../http/models/accounts.ts";
import { describeValidationFailure } from "../../http/validation.ts";
import { normalizePassword } from "../../passwords/hashing.ts";
import { newPasswordProblem } from "../../passwords/policy.ts";
import { requireOption } from "../args.ts";
import { bootstrap } from "../bootstrap.ts";
import { print, type Command } from "../command.ts";
import { CommandError, UsageError } from "../errors.ts";
import { readNewPassword } from "../prompt.ts";

type Print = (line: string) => void;

export const createAdminCommand: Command = {
  usage: "moxie create-admin --email EMAIL --name NAME [--password PASSWORD]\n\n" +
    "Without --password, asks twice on a terminal, or reads one line from stdin.",
  options: { email: { type: "string" }, name: { type: "string" }, password: { type: "string" } },
  async run(context) {
    const { values } = context;
    const email = requireOption(values, "email");
    const name = requireOption(values, "name");
    const password = typeof values.password === "string" ? values.password : undefined;
    const open = () => {
      const running = bootstrap(context, { create: true });
      if (running.created) print(`Created database ${running.settings.databasePath} (${running.chosen.databaseChoice})`);
      return running.db;
    };
    await createAdmin(open, { email, name, password }, print);
  },
};

export const setPasswordCommand: Command = {
  usage: "moxie set-password --email EMAIL [--password PASSWORD]\n\n" +
    "Without --password, asks twice on a terminal, or reads one line from stdin.",
  options: { email: { type: "string" }, password: { type: "string" } },
  async run(context) {
    const email = requireOption(context.values, "email");
    const password = typeof context.values.password === "string" ? context.values.password : undefined;
    await setPasswordFor(bootstrap(context, { create: false }).db, { email, password }, print);
  },
};

export const deactivateCommand: Command = {
  usage: "moxie deactivate --email EMAIL",
  options: { email: { type: "string" } },
  async run(context) {
    await setActiveCommand(bootstrap(context, { create: false }).db, requireOption(context.values, "email"), false, print);
  },
};

export const activateCommand: Command = {
  usage: "moxie activate --email EMAIL",
  options: { email: { type: "string" } },
  async run(context) {
    await setActiveCommand(bootstrap(context, { create: false }).db, requireOption(context.values, "email"), true, print);
  },
};

export const unlockCommand: Command = {
  usage: "moxie unlock --email EMAIL\n\nA running server sees it at the account's next sign-in.",
  options: { email: { type: "string" } },
  async run(context) {
    await unlock(bootstrap(context).db, requireOption(context.values, "email"), print);
  },
};

/** Checks everything before `openDb` runs, so bad input leaves no database file behind. */
async function createAdmin(
  openDb: () => Db,
  input: { email: string; name: string; password?: string },
  print: Print,
): Promise<void> {
  const password = normalizePassword(input.password ?? (await readNewPassword()));
  const account = { name: input.name.trim(), email: input.email.trim(), password, role: "admin" as const };
  checkInput(NewAccountModel, account);
  checkPassword(password);
  const db = openDb();
  const user = await asCommandError(() => createUser(db, account));
  print(`Created admin #${user.id} ${user.email}`);
}

/** The way back in for an admin who forgot their password; every older token of the account stops working. */
async function setPasswordFor(db: Db, input: { email: string; password?: string }, print: Print): Promise<void> {
  const user = await asCommandError(async () => getUserByEmail(db, input.email));
  const password = normalizePassword(input.password ?? (await readNewPassword()));
  checkInput(SetPasswordModel, { password });
  checkPassword(password);
  await asCommandError(() => setPassword(db, "cli", user.id, password));
  print(`Password set for #${user.id} ${user.email}; its earlier sessions are signed out and its sign-in throttle is cleared`);
}

/** Activates or deactivates by email, under the same last-admin rule as the API. */
async function setActiveCommand(db: Db, email: string, active: boolean, print: Print): Promise<void> {
  const { user, changed } = await asCommandError(async () => setActive(db, "cli", getUserByEmail(db, email).id, active));
  if (!changed) {
    // Nothing was written or recorded; exit 0, since the account is as asked.
    print(`#${user.id} ${user.email} was already ${active ? "active" : "inactive"}; nothing changed${active ? ` (to clear its sign-in throttle: moxie unlock --email ${user.email})` : ""}`);
    return;
  }
  print(`${active ? "Activated" : "Deactivated"} #${user.id} ${user.email}${active ? "; its sign-in throttle is cleared" : ""}`);
}

/** Clears an account's sign-in throttle; a running server sees it at the account's next sign-in attempt. */
async function unlock(db: Db, email: string, print: Print): Promise<void> {
  const user = await asCommandError(async () => unlockUser(db, "cli", getUserByEmail(db, email).id));
  print(`Unlocked #${user.id} ${user.email}: its sign-in throttle is cleared`);
}

/** The same rules the API applies, said the same way. */
function checkInput(schema: ConstructorParameters<typeof ValidationError>[1], value: object): void {
  const failure = new ValidationError("body", schema, value);
  if (failure.all.length > 0) throw new UsageError(describeValidationFailure(failure));
}

function checkPassword(password: string): void {
  const problem = newPasswordProblem(password);
  if (problem) throw new UsageError(problem);
}

/** Service errors become one-line command errors (exit 1); anything else propagates. */
async function asCommandError<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (
      error instanceof EmailTakenError ||
      error instanceof UserNotFoundError ||
      error instanceof AdminLockoutError ||
      error instanceof PasswordRaceError
    ) {
      throw new CommandError(error.message);
    }
    if (error instanceof InvalidEmailError) throw new UsageError(error.message);
    throw error;
  }
}
