// /auth: sign in with email and password for a token, and "who am I".
import { Elysia, t } from "elysia";
import type { Db } from "../db/index.ts";
import { ChangeOwnPasswordModel, ErrorModel, PublicUserModel } from "../users/model.ts";
import { changeOwnPassword, findUserByEmail, normalizeEmail, revokeTokens, toPublicUser } from "../users/service.ts";
import { recordEvent } from "../audit/service.ts";
import type { AddressOf } from "../http/client-address.ts";
import type { LoginThrottle } from "./throttle.ts";
import { BEARER_CHALLENGE, type AuthGuard } from "./guard.ts";
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
        response: { 200: TokenModel, 401: ErrorModel, 422: ErrorModel, 429: ErrorModel, 503: ErrorModel },
        detail: { summary: "Sign in with email and password", tags: ["auth"] },
      },
    )
    .get("/me", ({ user }) => toPublicUser(user), {
      auth: true,
      response: { 200: PublicUserModel, 401: ErrorModel },
      detail: { summary: "The signed-in account", tags: ["auth"], security: [{ bearer: [] }] },
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
        response: { 204: t.Void(), 401: ErrorModel, 403: ErrorModel, 422: ErrorModel },
        detail: { summary: "Change your own password; your other tokens stop working", tags: ["auth"], security: [{ bearer: [] }] },
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
        response: { 204: t.Void(), 401: ErrorModel },
        detail: {
          summary: "Log out everywhere: every token of this account issued until now stops working",
          tags: ["auth"],
          security: [{ bearer: [] }],
        },
      },
    );
}
