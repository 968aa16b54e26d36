// /auth: sign in with email and password for a token, and "who am I".
import { Elysia, t } from "elysia";
import type { Db } from "../db/index.ts";
import { ErrorModel, PublicUserModel } from "../users/model.ts";
import { findUserByEmail, toPublicUser } from "../users/service.ts";
import { BEARER_CHALLENGE, type AuthGuard } from "./guard.ts";
import { PASSWORD_MAX_LENGTH, normalizePassword, spendVerifyTime, verifyPasswordHash } from "./password.ts";
import { ACCESS_TOKEN_TTL_SECONDS, type TokenService } from "./tokens.ts";

const PASSWORD_LENGTH_RULE = `password must be 1 to ${PASSWORD_MAX_LENGTH} characters`;

const LoginModel = t.Object({
  email: t.String({ minLength: 1, maxLength: 320 }),
  // The exact 1-128 rule is checked after NFC normalization; this bound only turns huge strings away cheaply.
  password: t.String({ maxLength: PASSWORD_MAX_LENGTH * 4, error: PASSWORD_LENGTH_RULE }),
});

const TokenModel = t.Object({
  access_token: t.String(),
  token_type: t.Literal("bearer"),
  expires_in: t.Integer(),
});

export function authRoutes({ db, tokens, guard }: { db: Db; tokens: TokenService; guard: AuthGuard }) {
  return new Elysia({ prefix: "/auth" })
    .use(guard)
    .post(
      "/login",
      async ({ body, set, status }) => {
        const password = normalizePassword(body.password);
        if (password.length < 1 || password.length > PASSWORD_MAX_LENGTH) {
          return status(422, { detail: PASSWORD_LENGTH_RULE });
        }
        const user = findUserByEmail(db, body.email);
        // Unknown email and wrong password cost the same hashing time and get the same answer.
        const matches = user ? await verifyPasswordHash(user.passwordHash, password) : await spendVerifyTime(password);
        if (!user || !matches) {
          Object.assign(set.headers, BEARER_CHALLENGE);
          return status(401, { detail: "Invalid email or password" });
        }
        if (!user.isActive) {
          Object.assign(set.headers, BEARER_CHALLENGE);
          return status(401, { detail: "Account is inactive" });
        }
        return {
          access_token: await tokens.issue(user.id),
          token_type: "bearer" as const,
          expires_in: ACCESS_TOKEN_TTL_SECONDS,
        };
      },
      {
        body: LoginModel,
        response: { 200: TokenModel, 401: ErrorModel, 422: ErrorModel },
        detail: { summary: "Sign in with email and password", tags: ["auth"] },
      },
    )
    .get("/me", ({ user }) => toPublicUser(user), {
      auth: true,
      response: { 200: PublicUserModel, 401: ErrorModel },
      detail: { summary: "The signed-in account", tags: ["auth"] },
    });
}
