// The current-user and admin guards: named macros that answer 401/403 before the body is validated.
import { Elysia } from "elysia";
import type { Generation } from "../db/generation.ts";
import type { Db } from "../db/index.ts";
import type { User } from "../db/schema.ts";
import { userByIdReader } from "../accounts/lookup.ts";
import { SESSION_ENDED } from "../sessions/errors.ts";
import { signedInSessionReader } from "../sessions/reader.ts";
import { documented } from "./openapi.ts";
import { ErrorModel } from "./models/common.ts";
import { bearerTokenFrom, type TokenService } from "../tokens/tokens.ts";

export const BEARER_CHALLENGE = { "www-authenticate": "Bearer" };

/** The guards' refusals as routes declare them: `response: { 200: X, ...SIGNED_IN_RESPONSES }`. */
export const SIGNED_IN_RESPONSES = {
  401: documented(ErrorModel, {
    description:
      "Not signed in: no bearer token, or one that is invalid, expired or revoked, whose session was ended, or of an inactive account.",
    headers: ["WWW-Authenticate"],
  }),
};
export const ADMIN_RESPONSES = {
  ...SIGNED_IN_RESPONSES,
  403: documented(ErrorModel, { description: "Signed in, but the account is not an admin." }),
};

/** Who an admitted request is: the account as read for it, and the session its token names (null: a token from before sessions). */
type SignedIn = {
  user: User;
  sessionId: string | null;
};

/** Each authenticated request's account and session; read by the guards' resolve and by the request log. */
const authenticated = new WeakMap<Request, SignedIn>();

/** The id of the signed-in account behind `request`, once the guard has admitted it. */
export function authenticatedUserIdOf(request: Request): number | undefined {
  return authenticated.get(request)?.user.id;
}

/**
 * `{ auth: true }` admits a request with a valid token of an active account whose session (when the token names
 * one) has not ended or expired; `{ admin: true }` also needs the admin role. Both read the account, with the
 * session, from the database on every request, in one indexed read: ending a session (from any connection: the
 * CLI's `moxie sign-out` too), disabling an account or changing a role takes effect on the next request. They
 * run in `transform`, ahead of body validation: an anonymous request with a bad body learns 401, not the body
 * schema. The request's handlers get `{ user, sessionId }`.
 *
 * `generation` is the database's, read once at start: restore, the only thing that changes it, writes it into
 * its copy before the copy is put in place and refuses to run while a server holds the database, so the file a
 * server has open never changes generation under it.
 */
export function authGuard({ db, tokens, generation }: { db: Db; tokens: TokenService; generation: Generation }) {
  const userById = userByIdReader(db);
  const userBySession = signedInSessionReader(db);

  return new Elysia({ name: "auth-guard" }).macro({
    auth: {
      transform({ request, set, status }) {
        const refuse = (detail: string) => {
          Object.assign(set.headers, BEARER_CHALLENGE);
          return status(401, { detail });
        };
        // request.headers, not Elysia's headers object: reading that makes Elysia copy every header per request.
        const token = bearerTokenFrom(request.headers.get("authorization"));
        if (token === undefined) throw refuse("Not authenticated");
        const claims = token === null ? null : tokens.verify(token);
        if (!claims) throw refuse("Invalid or expired token");
        // A token from before a restore never matches after it, whatever ids and versions the backup brought
        // back; one without a generation (the original's, moxie's older ones) only until the first restore.
        if (claims.generation === null ? generation.restored : claims.generation !== generation.id) {
          throw refuse("Invalid or expired token");
        }
        // A token that names a session is admitted only while that session lives: the session and its account
        // are one read. A token from before sessions names none and is read by its account alone.
        const sessionId = claims.sessionId;
        const read = sessionId === null ? undefined : userBySession(sessionId, claims.userId);
        const user = sessionId === null ? userById(claims.userId) : read?.user;
        // A deactivated account hears so, though deactivation ended its sessions too: the console tells the two apart.
        if (!user || !user.isActive) throw refuse("Account inactive or not found");
        if (read?.live === false) throw refuse(SESSION_ENDED);
        // Ending every session (a password change, deactivation, logout everywhere) bumps the version too: every
        // older token, sessionless ones included, stops here.
        if (user.tokenVersion !== claims.tokenVersion) throw refuse("Invalid or expired token");
        authenticated.set(request, { user, sessionId });
      },
      resolve({ request }) {
        // An object literal: Elysia reads `return f(...)` in a hook's source as "may return a promise" and then
        // composes the whole route as async (bench/README.md).
        const signedIn = authenticated.get(request)!;
        return { user: signedIn.user, sessionId: signedIn.sessionId };
      },
    },
    admin: {
      auth: true,
      transform({ request, status }) {
        // The role comes from the row just read, never from the token.
        if (authenticated.get(request)?.user.role !== "admin") throw status(403, { detail: "Admin access required" });
      },
    },
  });
}

export type AuthGuard = ReturnType<typeof authGuard>;
