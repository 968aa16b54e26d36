// /auth: sign in with email and password for a token, and "who am I".
import { Elysia, t } from "elysia";
import type { Db } from "../db/index.ts";
import { ChangeOwnPasswordModel, ErrorModel, PublicUserModel } from "../users/model.ts";
import { changeOwnPassword, findUserByEmail, normalizeEmail, revokeTokens, toPublicUser } from "../users/service.ts";
import { recordEvent } from "../audit/service.ts";
import type { AddressOf } from "../http/client-address.ts";
import { documented } from "../http/openapi.ts";
import type { LoginThrottle } from "./throttle.ts";
import { BEARER_CHALLENGE, SIGNED_IN_RESPONSES, type AuthGuard } from "./guard.ts";
import {
  HashingBusyError,
  hashingGate,
  normalizePassword,
  PASSWORD_MAX_LENGTH,
  spendVerifyTime,
  verifyPasswordHash,
} from "./password.ts";
import { ACCESS_TOKEN_TTL_SECONDS, type TokenService } from "./tokens.ts";

/** How long a sign-in waits before hearing "busy" when the hashing queue is full. */
const BUSY_ANSWER_DELAY_MS = 250;

const PASSWORD_LENGTH_RULE = `password must be 1 to ${PASSWORD_MAX_LENGTH} characters`;

export const LoginModel = t.Object(
  {
    email: t.String({ minLength: 1, maxLength: 320 }),
    // The exact 1-128 rule is checked after NFC normalization; this bound only turns huge strings away cheaply.
    password: t.String({ maxLength: PASSWORD_MAX_LENGTH * 4, error: PASSWORD_LENGTH_RULE }),
  },
  { examples: [{ email: "admin@example.com", password: "a long passphrase" }] },
);

export const TokenModel = t.Object({
  access_token: t.String({ description: "Send as `Authorization: Bearer <access_token>`." }),
  token_type: t.Literal("bearer"),
  expires_in: t.Integer({ minimum: 1, description: "Seconds until the token expires." }),
});

export interface AuthRouteDependencies {
  db: Db;
  tokens: TokenService;
  guard: AuthGuard;
  throttle: LoginThrottle;
  addressOf: AddressOf;
}

export function authRoutes({ db, tokens, guard, throttle, addressOf }: AuthRouteDependencies) {
  return new Elysia({ prefix: "/auth" })
    .use(guard)
    .post(
      "/login",
      async ({ body, set, status, request, server }) => {
        const password = normalizePassword(body.password);
        if (password.length < 1 || password.length > PASSWORD_MAX_LENGTH) {
          return status(422, { detail: PASSWORD_LENGTH_RULE });
        }
        const email = normalizeEmail(body.email);
        const ip = addressOf(request, server);
        const failed = (reason: string, userId?: number) =>
          recordEvent(db, { type: "login.failed", actor: "anonymous", userId, email: body.email, ip, reason });
        const wait = throttle.retryAfterSeconds(email, ip);
        if (wait > 0) {
          failed("throttled");
          set.headers["retry-after"] = String(wait);
          return status(429, { detail: "Too many login attempts" });
        }
        // A full hashing queue is answered before the database is asked, and only after a short pause: a
        // flood client that retries at once would otherwise keep the event loop busy with refusals.
        const busy = async () => {
          await Bun.sleep(BUSY_ANSWER_DELAY_MS);
          set.headers["retry-after"] = "1";
          return status(503, { detail: "Server is busy, try again shortly" });
        };
        if (hashingGate.saturated) return busy();
        const user = findUserByEmail(db, email);
        let matches: boolean;
        try {
          // Unknown email and wrong password cost the same hashing time and get the same answer.
          matches = user
            ? await verifyPasswordHash(user.passwordHash, password, { anonymous: true })
            : await spendVerifyTime(password, { anonymous: true });
        } catch (error) {
          if (error instanceof HashingBusyError) return busy();
          throw error;
        }
        if (!user || !matches) {
          throttle.recordFailure(email, ip);
          failed(user ? "wrong_password" : "unknown_email", user?.id);
          Object.assign(set.headers, BEARER_CHALLENGE);
          return status(401, { detail: "Invalid email or password" });
        }
        throttle.recordSuccess(email, ip);
        if (!user.isActive) {
          failed("inactive", user.id);
          Object.assign(set.headers, BEARER_CHALLENGE);
          return status(401, { detail: "Account is inactive" });
        }
        recordEvent(db, { type: "login.succeeded", actor: "user", actorUserId: user.id, userId: user.id, email: body.email, ip });
        return {
          access_token: await tokens.issue(user.id, user.tokenVersion),
          token_type: "bearer" as const,
          expires_in: ACCESS_TOKEN_TTL_SECONDS,
        };
      },
      {
        body: LoginModel,
        response: {
          200: TokenModel,
          401: documented(ErrorModel, {
            description: "Wrong email or password (the same answer for an unknown email), or the account is inactive.",
            headers: ["WWW-Authenticate"],
          }),
          422: ErrorModel,
          429: documented(ErrorModel, {
            description: "Too many failed sign-ins for this email or from this address; wait Retry-After seconds.",
            headers: ["Retry-After"],
          }),
          // Only sign-ins are refused when the hashing queue is full; a signed-in account's hashing waits its turn.
          503: documented(ErrorModel, {
            description: "Too many sign-ins are being checked at once; try again after Retry-After seconds.",
            headers: ["Retry-After"],
          }),
        },
        detail: {
          summary: "Sign in",
          description:
            "Trades an email and password for a bearer token. The email is matched without surrounding blanks and in " +
            "any case. An unknown email and a wrong password take the same time and get the same 401. Repeated failures " +
            "for one email or from one address are refused for a while with 429. Every attempt is recorded in the audit " +
            "trail.",
          tags: ["auth"],
        },
      },
    )
    .get("/me", ({ user }) => toPublicUser(user), {
      auth: true,
      response: { 200: PublicUserModel, ...SIGNED_IN_RESPONSES },
      detail: {
        summary: "Read the signed-in account",
        description: "The account the bearer token belongs to, as it is now in the database (a role change shows at once).",
        tags: ["auth"],
        security: [{ bearer: [] }],
      },
    })
    .put(
      "/password",
      async ({ user, body, status, request, server }) => {
        await changeOwnPassword(db, user, body.current_password, body.new_password);
        recordEvent(db, { type: "password.changed", actor: "user", actorUserId: user.id, userId: user.id, ip: addressOf(request, server) });
        return status(204, undefined);
      },
      {
        auth: true,
        body: ChangeOwnPasswordModel,
        response: {
          204: t.Void(),
          ...SIGNED_IN_RESPONSES,
          403: documented(ErrorModel, { description: "current_password is wrong." }),
          422: documented(ErrorModel, {
            description: "The body does not match the schema, or the new password breaks a rule (too short, too common, same as the current one).",
          }),
        },
        detail: {
          summary: "Change your own password",
          description:
            "Needs the current password. Every token the account held until now stops working, on every device; sign " +
            "in again with the new password. Recorded in the audit trail as password.changed.",
          tags: ["auth"],
          security: [{ bearer: [] }],
        },
      },
    )
    .post(
      "/logout",
      ({ user, status, request, server }) => {
        revokeTokens(db, user.id);
        recordEvent(db, { type: "logout", actor: "user", actorUserId: user.id, userId: user.id, ip: addressOf(request, server) });
        return status(204, undefined);
      },
      {
        auth: true,
        response: { 204: t.Void(), ...SIGNED_IN_RESPONSES },
        detail: {
          summary: "Sign out everywhere",
          description:
            "Every token of this account issued until now stops working, on every device, not only the one sent. " +
            "Recorded in the audit trail as logout.",
          tags: ["auth"],
          security: [{ bearer: [] }],
        },
      },
    );
}
