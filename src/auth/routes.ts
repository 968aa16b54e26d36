// /auth: sign in with email and password for a token, and "who am I".
import { Elysia, t } from "elysia";
import type { Db } from "../db/index.ts";
import { ChangeOwnPasswordModel, ErrorModel, PublicUserModel } from "../users/model.ts";
import {
  changeOwnPassword,
  completeSignIn,
  findUserByEmail,
  revokeTokens,
  throttleClearedAt,
  toPublicUser,
  WrongPasswordError,
} from "../users/service.ts";
import { InvalidEmailError, normalizeEmail } from "../users/email.ts";
import { NOT_AN_EMAIL, recordEvent, recordRefusal, type AuditRecord } from "../audit/service.ts";
import type { AddressOf } from "../http/client-address.ts";
import type { LoginThrottle } from "./throttle.ts";
import { BEARER_CHALLENGE, type AuthGuard } from "./guard.ts";
import {
  HashingBusyError,
  hashingGate,
  PasswordWorkInProgressError,
  normalizePassword,
  PASSWORD_MAX_LENGTH,
  spendVerifyTime,
  verifyPasswordHash,
} from "./password.ts";
import { ACCESS_TOKEN_TTL_SECONDS, type TokenService } from "./tokens.ts";

/** How long a sign-in waits before hearing "busy" when the hashing queue is full. */
const BUSY_ANSWER_DELAY_MS = 250;

const PASSWORD_LENGTH_RULE = `password must be 1 to ${PASSWORD_MAX_LENGTH} characters`;

/** The normalized email, or undefined when what was typed is not an address; hidden characters are a 422. */
function loginEmail(typed: string): string | undefined {
  try {
    return normalizeEmail(typed);
  } catch (error) {
    if (error instanceof InvalidEmailError && error.kind === "malformed") return undefined;
    throw error;
  }
}

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
  /** Refused attempts are counted into one audit row per email, address and this window. */
  refusalWindowMs: number;
}

export function authRoutes({ db, tokens, guard, throttle, addressOf, refusalWindowMs }: AuthRouteDependencies) {
  const countRefusal = (event: AuditRecord) => recordRefusal(db, event, refusalWindowMs);
  const freshToken = async (userId: number, tokenVersion: number) => ({
    access_token: await tokens.issue(userId, tokenVersion),
    token_type: "bearer" as const,
    expires_in: ACCESS_TOKEN_TTL_SECONDS,
  });

  return new Elysia({ prefix: "/auth" })
    .use(guard)
    .post(
      "/login",
      async ({ body, set, status, request, server }) => {
        const password = normalizePassword(body.password);
        if (password.length < 1 || password.length > PASSWORD_MAX_LENGTH) {
          return status(422, { detail: PASSWORD_LENGTH_RULE });
        }
        // A space or invisible character inside is a 422; anything else that is not an address is just a
        // sign-in that fails, throttled under what was typed and recorded under a fixed marker, never as typed
        // (it may be a password typed into the wrong field).
        const email = loginEmail(body.email);
        const key = email ?? body.email.trim().toLowerCase();
        const ip = addressOf(request, server);
        const user = email === undefined ? undefined : findUserByEmail(db, email);
        const event = { type: "login.failed" as const, actor: "anonymous" as const, userId: user?.id ?? null, email: email ?? NOT_AN_EMAIL, ip };
        const failed = (reason: string) => recordEvent(db, { ...event, reason });

        // The attempt is counted before any hashing: a burst of concurrent guesses is checked at most up to the limit.
        const attempt = throttle.reserve(key, ip, user ? throttleClearedAt(db, user) : 0);
        if (attempt.refused) {
          countRefusal({ ...event, reason: "throttled" });
          set.headers["retry-after"] = String(attempt.retryAfterSeconds);
          return status(429, { detail: "Too many login attempts" });
        }
        // A full hashing queue is answered before the database is asked, and only after a short pause: a
        // flood client that retries at once would otherwise keep the event loop busy with refusals.
        const busy = async () => {
          attempt.withdrawn();
          countRefusal({ ...event, reason: "busy" });
          await Bun.sleep(BUSY_ANSWER_DELAY_MS);
          set.headers["retry-after"] = "1";
          return status(503, { detail: "Server is busy, try again shortly" });
        };
        if (hashingGate.saturated) return busy();
        let matches: boolean;
        try {
          // Unknown email and wrong password cost the same hashing time and get the same answer.
          matches = user
            ? await verifyPasswordHash(user.passwordHash, password, { for: "anonymous" })
            : await spendVerifyTime(password, { for: "anonymous" });
        } catch (error) {
          if (error instanceof HashingBusyError) return busy();
          throw error;
        }
        const refuse = (reason: string, detail: string) => {
          failed(reason);
          Object.assign(set.headers, BEARER_CHALLENGE);
          return status(401, { detail });
        };
        if (!user || !matches) return refuse(user ? "wrong_password" : "unknown_email", "Invalid email or password");
        attempt.succeeded();
        // The account is read again where the sign-in is recorded: deactivated or given a new password while
        // the hash was checked, it gets no token.
        const outcome = completeSignIn(db, user.id, user.passwordHash, ip, email!);
        if (!outcome.ok) {
          return outcome.reason === "inactive"
            ? refuse("inactive", "Account is inactive")
            : refuse("wrong_password", "Invalid email or password");
        }
        return freshToken(outcome.user.id, outcome.user.tokenVersion);
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
      async ({ user, body, set, status, request, server }) => {
        const ip = addressOf(request, server);
        const event = { type: "password.change_failed" as const, actor: "user" as const, actorUserId: user.id, userId: user.id, ip };
        // Refused before it takes a place in the throttle: a flood of changes is not a flood of failures.
        if (hashingGate.busyWith(user.id)) throw new PasswordWorkInProgressError();
        // Wrong current passwords count toward the same limits as sign-in: this is no oracle for guessing it.
        const attempt = throttle.reserve(user.email, ip, throttleClearedAt(db, user));
        if (attempt.refused) {
          countRefusal({ ...event, reason: "throttled" });
          set.headers["retry-after"] = String(attempt.retryAfterSeconds);
          return status(429, { detail: "Too many wrong passwords; try again later" });
        }
        let tokenVersion: number;
        try {
          tokenVersion = await changeOwnPassword(
            db,
            { id: user.id, tokenVersion: user.tokenVersion, ip },
            body.current_password,
            body.new_password,
          );
        } catch (error) {
          if (error instanceof WrongPasswordError) recordEvent(db, { ...event, reason: "wrong_password" });
          else attempt.withdrawn();
          throw error;
        }
        attempt.succeeded();
        // Every other token of the account stopped working with the new version; this session carries on.
        return freshToken(user.id, tokenVersion);
      },
      {
        auth: true,
        body: ChangeOwnPasswordModel,
        response: { 200: TokenModel, 401: ErrorModel, 403: ErrorModel, 409: ErrorModel, 422: ErrorModel, 429: ErrorModel, 503: ErrorModel },
        detail: {
          summary: "Change your own password: answers a fresh token for this session; every other token of the account stops working",
          tags: ["auth"],
          security: [{ bearer: [] }],
        },
      },
    )
    .post(
      "/logout",
      ({ user, status, request, server }) => {
        revokeTokens(db, { id: user.id, tokenVersion: user.tokenVersion, ip: addressOf(request, server) });
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
