// /auth: sign in with email and password for a token, and "who am I".
import { Elysia, t } from "elysia";
import type { Generation } from "../../db/generation.ts";
import type { Db } from "../../db/index.ts";
import { writeWithRetry } from "../../db/write.ts";
import { ChangeOwnPasswordModel, LoginModel, TokenModel } from "../models/auth.ts";
import { ErrorModel } from "../models/common.ts";
import { PublicUserModel } from "../models/accounts.ts";
import { changeOwnPassword, completeSignIn, revokeTokens } from "../../accounts/service.ts";
import { findUserByEmail, throttleClearedAt, toPublicUser } from "../../accounts/lookup.ts";
import { WrongPasswordError } from "../../accounts/errors.ts";
import { emailLookupKey, InvalidEmailError, normalizeEmail } from "../../emails/normalize.ts";
import { NOT_AN_EMAIL, recordEvent, recordRefusal, type AuditRecord } from "../../audit/service.ts";
import type { AddressOf } from "../client-address.ts";
import { documented } from "../openapi.ts";
import type { LoginThrottle } from "../../sign-in/throttle.ts";
import { BEARER_CHALLENGE, SIGNED_IN_RESPONSES, type AuthGuard } from "../guard.ts";
import {
  ACCOUNT_OPERATIONS_MAX,
  characterCount,
  HashingBusyError,
  hashingGate,
  normalizePassword,
  PasswordWorkQueuedError,
  SIGN_IN_PASSWORD_MAX_LENGTH,
  spendVerifyTime,
  verifyPasswordHash,
} from "../../passwords/hashing.ts";
import { ACCESS_TOKEN_TTL_SECONDS, type TokenService } from "../../tokens/tokens.ts";

/** How long a sign-in waits before hearing "busy" when the hashing queue is full. */
const BUSY_ANSWER_DELAY_MS = 250;

/**
 * The normalized email, or undefined when what was typed is not an address. A control or invisible character
 * is a 422 for every email, before anything is looked up. Anything else that is not an address (a space inside,
 * no "@" and dot) is a sign-in that fails like any other, unless an account's stored email is exactly that
 * (the Python original checked nothing: `front desk`): whether such an account exists is never in the answer.
 */
function loginEmail(db: Db, typed: string): string | undefined {
  emailLookupKey(typed);
  try {
    return normalizeEmail(typed);
  } catch (error) {
    if (!(error instanceof InvalidEmailError)) throw error;
    return findUserByEmail(db, typed)?.email;
  }
}

export interface AuthRouteDependencies {
  db: Db;
  tokens: TokenService;
  guard: AuthGuard;
  /** The database's generation, carried by every token issued here (see authGuard). */
  generation: Generation;
  throttle: LoginThrottle;
  addressOf: AddressOf;
  /** Refused attempts are counted into one audit row per address, account (or none) and this window. */
  refusalWindowMs: number;
}

export function authRoutes({ db, tokens, guard, generation, throttle, addressOf, refusalWindowMs }: AuthRouteDependencies) {
  // Audit rows written on their own, outside any change: each waits for the write lock without holding up the
  // server, or an anonymous client's failed sign-ins during another process's write would freeze every request.
  // recordRefusal is safe to retry whole: it reads its open counting rows afresh and notes one only once written.
  // Counted per client as the throttle counts it, so the row's ip is the client: an IPv6 network counts as one
  // (`2001:db8:77:1::/64`), and the refusals it counts may have come from any address in it.
  const countRefusal = (event: AuditRecord) =>
    writeWithRetry(db, () => recordRefusal(db, { ...event, ip: event.ip && throttle.clientOf(event.ip) }, refusalWindowMs));
  const record = (event: AuditRecord) => writeWithRetry(db, () => recordEvent(db, event));
  const freshToken = async (userId: number, tokenVersion: number) => ({
    access_token: await tokens.issue({ userId, tokenVersion, generation: generation.id }),
    token_type: "bearer" as const,
    expires_in: ACCESS_TOKEN_TTL_SECONDS,
  });

  return new Elysia({ prefix: "/auth" })
    .use(guard)
    .post(
      "/login",
      async ({ body, set, status, request, server }) => {
        const password = normalizePassword(body.password);
        if (characterCount(password) > SIGN_IN_PASSWORD_MAX_LENGTH) {
          return status(422, { detail: `password must be 1 to ${SIGN_IN_PASSWORD_MAX_LENGTH} characters` });
        }
        // A control or invisible character inside is a 422; anything else that is not an address is just a
        // sign-in that fails, throttled under what was typed and recorded under a fixed marker, never as typed
        // (it may be a password typed into the wrong field).
        const email = loginEmail(db, body.email);
        const key = email ?? emailLookupKey(body.email);
        const ip = addressOf(request, server);
        const user = email === undefined ? undefined : findUserByEmail(db, email);
        const event = { type: "login.failed" as const, actor: "anonymous" as const, userId: user?.id ?? null, email: email ?? NOT_AN_EMAIL, ip };
        const failed = (reason: string) => record({ ...event, reason });

        // The attempt is counted before any hashing: a burst of concurrent guesses is checked at most up to the limit.
        const attempt = throttle.reserve(key, ip, user ? throttleClearedAt(db, user) : 0);
        if (attempt.refused) {
          await countRefusal({ ...event, reason: "throttled" });
          set.headers["retry-after"] = String(attempt.retryAfterSeconds);
          return status(429, { detail: "Too many login attempts" });
        }
        // A full hashing queue is answered before any hashing, and only after a short pause: a flood client
        // that retries at once would otherwise keep the event loop busy with refusals.
        const busy = async () => {
          attempt.withdrawn();
          await countRefusal({ ...event, reason: "busy" });
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
        const refuse = async (reason: string, detail: string) => {
          await failed(reason);
          Object.assign(set.headers, BEARER_CHALLENGE);
          return status(401, { detail });
        };
        if (!user || !matches) return refuse(user ? "wrong_password" : "unknown_email", "Invalid email or password");
        // The account is read again where the sign-in is recorded: deactivated or given a new password while
        // the hash was checked, it gets no token.
        const outcome = await completeSignIn(db, user.id, user.passwordHash, ip, email!).catch((error: unknown) => {
          // The password was right but the sign-in could not be written (the database busy past its timeout, or
          // full): the server's failure, not a failed guess. The place is given back, so retrying is no lockout.
          attempt.withdrawn();
          throw error;
        });
        if (!outcome.ok) {
          // Still a failure for the throttle: the right password of a deactivated account is no sign-in, and
          // repeating it must meet the same limits (and the same counted 429s) as any other refused attempt.
          return outcome.reason === "inactive"
            ? refuse("inactive", "Account is inactive")
            : refuse("wrong_password", "Invalid email or password");
        }
        attempt.succeeded();
        return freshToken(outcome.user.id, outcome.user.tokenVersion);
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
      async ({ user, body, set, status, request, server }) => {
        const ip = addressOf(request, server);
        const event = { type: "password.change_failed" as const, actor: "user" as const, actorUserId: user.id, userId: user.id, ip };
        // Refused before it takes a place in the throttle: a flood of changes is not a flood of failures.
        if (hashingGate.accountFull(user.id)) throw new PasswordWorkQueuedError(hashingGate.perAccount);
        // Wrong current passwords count toward the same limits as sign-in: this is no oracle for guessing it.
        const attempt = throttle.reserve(user.email, ip, throttleClearedAt(db, user));
        if (attempt.refused) {
          await countRefusal({ ...event, reason: "throttled" });
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
          if (error instanceof WrongPasswordError) await record({ ...event, reason: "wrong_password" });
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
        response: {
          200: TokenModel,
          ...SIGNED_IN_RESPONSES,
          403: documented(ErrorModel, { description: "current_password is wrong." }),
          409: documented(ErrorModel, { description: "The password changed meanwhile (another change or an admin's reset won the race); nothing was changed." }),
          422: documented(ErrorModel, {
            description: "The body does not match the schema, or the new password breaks a rule (too short, too common, same as the current one).",
          }),
          429: documented(ErrorModel, {
            description:
              `Too many wrong current passwords for this account, or your account already has ${ACCOUNT_OPERATIONS_MAX} password operations under way ` +
              "(one runs at a time, the rest wait their turn).",
            headers: ["Retry-After"],
          }),
          503: documented(ErrorModel, { description: "The server is busy hashing passwords, or the database is busy or full.", headers: ["Retry-After"] }),
        },
        detail: {
          summary: "Change your own password",
          description:
            "Needs the current password. Answers with a fresh token for this session; every other token of the account " +
            "stops working, on every device. Wrong current passwords count toward the account's sign-in limits. " +
            "Recorded in the audit trail as password.changed (or password.change_failed).",
          tags: ["auth"],
          security: [{ bearer: [] }],
        },
      },
    )
    .post(
      "/logout",
      async ({ user, status, request, server }) => {
        await revokeTokens(db, { id: user.id, tokenVersion: user.tokenVersion, ip: addressOf(request, server) });
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
