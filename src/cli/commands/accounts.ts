// Account commands for an operator at the host: the first admin, a forgotten password, the list.
import { ValidationError } from "elysia";
import type { Db } from "../../db/index.ts";
import { describeValidationFailure } from "../../http/errors.ts";
import { normalizePassword } from "../../passwords/hashing.ts";
import { newPasswordProblem } from "../../passwords/policy.ts";
import { NewAccountModel, SetPasswordModel } from "../../http/models/accounts.ts";
import { AdminLockoutError, EmailTakenError, PasswordRaceError, UserNotFoundError } from "../../accounts/errors.ts";
import { createUser, setActive, setPassword, unlockUser } from "../../accounts/service.ts";
import { getUserByEmail, listUsers, toPublicUser } from "../../accounts/lookup.ts";
import { InvalidEmailError } from "../../emails/normalize.ts";
import { CommandError, UsageError } from "../errors.ts";
import { printTable } from "../table.ts";
import { readNewPassword } from "../prompt.ts";

type Print = (line: string) => void;

/** Checks everything before `openDb` runs, so bad input leaves no database file behind. */
export async function createAdmin(
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
export async function setPasswordCommand(db: Db, input: { email: string; password?: string }, print: Print): Promise<void> {
  const user = await asCommandError(async () => getUserByEmail(db, input.email));
  const password = normalizePassword(input.password ?? (await readNewPassword()));
  checkInput(SetPasswordModel, { password });
  checkPassword(password);
  await asCommandError(() => setPassword(db, "cli", user.id, password));
  print(`Password set for #${user.id} ${user.email}; its earlier sessions are signed out and its sign-in throttle is cleared`);
}

/** Activates or deactivates by email, under the same last-admin rule as the API. */
export async function setActiveCommand(db: Db, email: string, active: boolean, print: Print): Promise<void> {
  const { user, changed } = await asCommandError(async () => setActive(db, "cli", getUserByEmail(db, email).id, active));
  if (!changed) {
    // Nothing was written or recorded; exit 0, since the account is as asked.
    print(`#${user.id} ${user.email} was already ${active ? "active" : "inactive"}; nothing changed${active ? ` (to clear its sign-in throttle: moxie unlock --email ${user.email})` : ""}`);
    return;
  }
  print(`${active ? "Activated" : "Deactivated"} #${user.id} ${user.email}${active ? "; its sign-in throttle is cleared" : ""}`);
}

/** Clears an account's sign-in throttle; a running server sees it at the account's next sign-in attempt. */
export async function unlockCommand(db: Db, email: string, print: Print): Promise<void> {
  const user = await asCommandError(async () => unlockUser(db, "cli", getUserByEmail(db, email).id));
  print(`Unlocked #${user.id} ${user.email}: its sign-in throttle is cleared`);
}

export function listUsersCommand(db: Db, json: boolean, print: Print): void {
  const users = listUsers(db).users.map(toPublicUser);
  if (json) {
    print(JSON.stringify(users, null, 2));
    return;
  }
  printTable(
    ["ID", "EMAIL", "NAME", "ROLE", "ACTIVE"],
    users.map((u) => [String(u.id), u.email, u.name, u.role, u.is_active ? "yes" : "no"]),
    print,
  );
  print(`${users.length} account${users.length === 1 ? "" : "s"}`);
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
