// /auth: sign in with email and password for a token, "who am I", your own password, sign out (this session, the
// others, or everywhere). Your list of sessions is src/http/routes/sessions.ts.
// The rules are the sign-in service's (src/sign-in/service.ts); each handler turns its result into a status.
import { Elysia, t } from "elysia";
import type { Generation } from "../../db/generation.ts";
import type { Db } from "../../db/index.ts";
import { toPublicUser } from "../../accounts/lookup.ts";
import { signOut } from "../../accounts/sessions.ts";
import { ACCOUNT_OPERATIONS_MAX } from "../../passwords/hashing.ts";
import { signInService, type IssuedToken } from "../../sign-in/service.ts";
import type { LoginThrottle } from "../../sign-in/throttle.ts";
import type { TokenService } from "../../tokens/tokens.ts";
import { actingUser } from "../acting-user.ts";
import type { AddressOf } from "../client-address.ts";
import { BEARER_CHALLENGE, SIGNED_IN_RESPONSES, type AuthGuard } from "../guard.ts";
import { PublicUserModel } from "../models/accounts.ts";
import { ChangeOwnPasswordModel, LoginModel, TokenModel } from "../models/auth.ts";
import { ErrorModel } from "../models/common.ts";
import { LogoutQuery } from "../models/sessions.ts";
import { documented } from "../openapi.ts";

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
  /** An account's live sessions at most (MAX_SESSIONS_PER_ACCOUNT). */
  maxSessionsPerAccount?: number;
}

/** A token as the API gives it (TokenModel). */
function tokenAnswer({ token, expiresInSeconds }: IssuedToken) {
  return { access_token: token, token_type: "bearer" as const, expires_in: expiresInSeconds };
}

export function authRoutes({ db, tokens, guard, generation, throttle, addressOf, refusalWindowMs, maxSessionsPerAccount }: AuthRouteDependencies) {
  const { signIn, changePassword } = signInService({ db, tokens, generation, throttle, refusalWindowMs, maxSessionsPerAccount });
  const contract = authContract();

  return new Elysia({ prefix: "/auth" })
    .use(guard)
    .post(
      "/login",
      async ({ body, set, status, request, server }) => {
        const result = await signIn({
          email: body.email,
          password: body.password,
          address: addressOf(request, server),
          userAgent: request.headers.get("user-agent"),
        });
        switch (result.outcome) {
          case "signed-in":
            return tokenAnswer(result.token);
          case "invalid":
            return status(422, { detail: result.detail });
          case "refused":
            Object.assign(set.headers, BEARER_CHALLENGE);
            return status(401, { detail: result.reason === "inactive" ? "Account is inactive" : "Invalid email or password" });
          case "throttled":
            set.headers["retry-after"] = String(result.retryAfterSeconds);
            return status(429, { detail: "Too many login attempts" });
          case "busy":
            set.headers["retry-after"] = "1";
            return status(503, { detail: "Server is busy, try again shortly" });
        }
      },
      contract.login,
    )
    .get("/me", ({ user }) => toPublicUser(user), { auth: true, ...contract.me })
    .put(
      "/password",
      async ({ user, sessionId, body, set, status, request, server }) => {
        const result = await changePassword({
          user,
          sessionId,
          currentPassword: body.current_password,
          newPassword: body.new_password,
          address: addressOf(request, server),
          userAgent: request.headers.get("user-agent"),
        });
        if (result.outcome === "changed") return tokenAnswer(result.token);
        set.headers["retry-after"] = String(result.retryAfterSeconds);
        return status(429, { detail: "Too many wrong passwords; try again later" });
      },
      { auth: true, ...contract.password },
    )
    .post(
      "/logout",
      async ({ user, sessionId, query, status, request, server }) => {
        await signOut(db, actingUser(user, sessionId, addressOf(request, server)), query.scope ?? "local");
        return status(204, undefined);
      },
      { auth: true, ...contract.logout },
    );
}

/** What each route takes and answers, as /openapi.json describes it; made afresh for each app. */
function authContract() {
  return {
    login: {
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
        operationId: "signIn",
        summary: "Sign in",
        description:
          "Trades an email and password for a bearer token. The email is matched without surrounding blanks and in " +
          "any case. An unknown email and a wrong password take the same time and get the same 401. Repeated failures " +
          "for one email or from one address are refused for a while with 429. Every attempt is recorded in the audit " +
          "trail.",
        tags: ["auth"],
      },
    },
    me: {
      response: { 200: PublicUserModel, ...SIGNED_IN_RESPONSES },
      detail: {
        operationId: "getCurrentUser",
        summary: "Read the signed-in account",
        description: "The account the bearer token belongs to, as it is now in the database (a role change shows at once).",
        tags: ["auth"],
        security: [{ bearer: [] }],
      },
    },
    password: {
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
        operationId: "changeOwnPassword",
        summary: "Change your own password",
        description:
          "Needs the current password. Answers with a fresh token for this session, which stays signed in (a token from " +
          "before sessions gets a new session); every other session and token of the account stops working, on every " +
          "device. Wrong current passwords count toward the account's sign-in limits. Recorded in the audit trail as " +
          "password.changed (or password.change_failed), and session.ended for each other session.",
        tags: ["auth"],
        security: [{ bearer: [] }],
      },
    },
    logout: {
      query: LogoutQuery,
      response: { 204: t.Void(), ...SIGNED_IN_RESPONSES },
      detail: {
        operationId: "signOut",
        summary: "Sign out",
        description:
          "Ends this session only (`scope=local`, the default): the token sent stops working, other devices stay " +
          "signed in. `scope=others` ends every other session of the account and keeps this one; `scope=global` " +
          "ends all of them and every token of the account, as logout did before sessions. A token from before " +
          "sessions has no session of its own: for it, local is global. Recorded in the audit trail as " +
          "session.ended for each session (reason self, others or global), and logout for global.",
        tags: ["auth"],
        security: [{ bearer: [] }],
      },
    },
  };
}
