// The shapes of accounts on the wire, as values; types derive from them and routes declare them.
import { t } from "elysia";
import { ROLES } from "../db/schema.ts";
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from "../auth/password.ts";

export const EMAIL_MAX_LENGTH = 254;
export const NAME_MAX_LENGTH = 100;

export const RoleModel = t.UnionEnum([...ROLES]);

/** What any response may say about a user; declared as `response`, it strips anything else (the hash). */
export const PublicUserModel = t.Object({
  id: t.Integer(),
  name: t.String(),
  email: t.String(),
  role: RoleModel,
  is_active: t.Boolean(),
  created_at: t.String({ format: "date-time" }),
});

export const EmailModel = t.String({ format: "email", maxLength: EMAIL_MAX_LENGTH });
export const NameModel = t.String({ minLength: 1, maxLength: NAME_MAX_LENGTH, pattern: "\\S" });
export const NewPasswordModel = t.String({ minLength: PASSWORD_MIN_LENGTH, maxLength: PASSWORD_MAX_LENGTH });

export const ErrorModel = t.Object({ detail: t.String() });

export const NewAccountModel = t.Object({
  name: NameModel,
  email: EmailModel,
  password: NewPasswordModel,
  role: t.Optional(RoleModel),
});
