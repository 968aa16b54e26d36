// What the account rules refuse, as plain errors: the edge maps each once to a status (src/http/errors.ts) and the CLI to a
// one-line message.

export class EmailTakenError extends Error {
  override name = "EmailTakenError";
  constructor(readonly email: string) {
    super(`an account with email ${email} already exists`);
  }
}

export class UserNotFoundError extends Error {
  override name = "UserNotFoundError";
  constructor(readonly lookup: string) {
    super(`no account with ${lookup}`);
  }
}

/** A change that would leave the team without an active admin, or an admin locking themselves out. */
export class AdminLockoutError extends Error {
  override name = "AdminLockoutError";
}

export class WrongPasswordError extends Error {
  override name = "WrongPasswordError";
  constructor() {
    super("Current password is incorrect");
  }
}

/** A password that breaks a rule the schema cannot express (same as the current one, too common). */
export class PasswordRuleError extends Error {
  override name = "PasswordRuleError";
}

/** The acting account was deactivated or signed out (token version bumped) before its change landed: 401. */
export class ActorRevokedError extends Error {
  override name = "ActorRevokedError";
}

/** The acting account no longer has the role the change needs (demoted meanwhile), or may not do it at all: 403. */
export class ActorForbiddenError extends Error {
  override name = "ActorForbiddenError";
}

/** Someone else set the password (or signed the account out) between this request's arrival and its write: 409. */
export class PasswordRaceError extends Error {
  override name = "PasswordRaceError";
  constructor() {
    super("The account's password or sessions changed while this request waited; nothing was changed, try again");
  }
}
