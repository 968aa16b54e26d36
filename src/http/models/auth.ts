// Signing in and changing one's own password, on the wire: the request bodies and the token answer.
import { t } from "elysia";
import { NewPasswordModel, PasswordToCheckModel } from "./accounts.ts";

export const LoginModel = t.Object(
  {
    email: t.String({ minLength: 1, maxLength: 320 }),
    // Not the 8-128 rule for new passwords: an account from before it (or from the Python original) signs in.
    password: PasswordToCheckModel,
  },
  { examples: [{ email: "admin@example.com", password: "a long passphrase" }] },
);

export const TokenModel = t.Object({
  access_token: t.String({ description: "Send as `Authorization: Bearer <access_token>`." }),
  token_type: t.Literal("bearer"),
  expires_in: t.Integer({ minimum: 1, description: "Seconds until the token expires." }),
});

export const ChangeOwnPasswordModel = t.Object(
  {
    // As at sign-in: a current password from before the 8-128 rule must still be accepted.
    current_password: PasswordToCheckModel,
    new_password: NewPasswordModel,
  },
  { examples: [{ current_password: "a long passphrase", new_password: "a new long passphrase" }] },
);
