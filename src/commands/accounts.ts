// Account commands for an operator at the host: create the first admin.
import { ValidationError } from "elysia";
import type { Db } from "../db/index.ts";
import { describeValidationFailure } from "../http/errors.ts";
import { normalizePassword } from "../auth/password.ts";
import { NewAccountModel } from "../users/model.ts";
import { createUser, EmailTakenError } from "../users/service.ts";
import { CommandError, UsageError } from "./errors.ts";
import { readNewPassword } from "./prompt.ts";

export interface CreateAdminInput {
  email: string;
  name: string;
  password?: string;
}

export async function createAdmin(db: Db, input: CreateAdminInput, print: (line: string) => void): Promise<void> {
  const password = normalizePassword(input.password ?? (await readNewPassword()));
  const account = { name: input.name.trim(), email: input.email.trim(), password, role: "admin" as const };
  checkAccount(account);
  try {
    const user = await createUser(db, account);
    print(`Created admin #${user.id} ${user.email}`);
  } catch (error) {
    if (error instanceof EmailTakenError) throw new CommandError(error.message);
    throw error;
  }
}

/** The same rules the API applies to a new account, said the same way. */
function checkAccount(account: object): void {
  const failure = new ValidationError("body", NewAccountModel, account);
  if (failure.all.length > 0) throw new UsageError(describeValidationFailure(failure));
}
