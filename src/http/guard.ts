// The current-user and admin guards: named macros that answer 401/403 before the body is validated.
import { Elysia } from "elysia";
import type { Generation } from "../db/generation.ts";
import type { Db } from "../db/index.ts";
import type { User } from "../db/schema.ts";
import { userByIdReader } from "../accounts/lookup.ts";
import { documented } from "./openapi.ts";
import { ErrorModel } from "./models/common.ts";
import { bearerTokenFrom, type TokenService } from "../tokens/tokens.ts";

export const BEARER_CHALLENGE = { "www-authenticate": "Bearer" };

/** The guards' refusals as routes declare them: `response: { 200: X, ...SIGNED_IN_RESPONSES }`. */
export const SIGNED_IN_RESPONSES = {
  401: documented(ErrorModel, {
    description: "Not signed in: no bearer token, or one that is invalid, expired or revoked, or of an inactive account.",
    headers: ["WWW-Authenticate"],
  }),
};
export const ADMIN_RESPONSES = {
  ...SIGNED_IN_RESPONSES,
  403: documented(ErrorModel, { description: "Signed in, but the account is not an admin." }),
};

/**
 * `{ auth: true }` admits a request with a valid token of an active account; `{ admin: true }` also needs
 * the admin role. Both read the account from the database on every request, so disabling an account or
 * changing a role takes effect on the next request. They run in `transform`, ahead of body validation:
 * an anonymous request with a bad body learns 401, not the body schema.
 */
/** The account each authenticated request acts as; read by the guards' resolve and by the request log. */
const authenticated = new WeakMap<Request, User>();

/** The id of the signed-in account behind `request`, once the guard has admitted it. */
export function authenticatedUserIdOf(request: Request): number | undefined {
  return authenticated.get(request)?.id;
}

/**
 * `generation` is the database's, read once at start: restore, the only thing that changes it, writes it into
 * its copy before the copy is put in place and refuses to run while a server holds the database, so the file a
 * server has open never changes generation under it.
 */
export function authGuard({ db, tokens, generation }: { db: Db; tokens: TokenService; generation: Generation }) {
  const userById = userByIdReader(db);

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
        const user = userById(claims.userId);
        if (!user || !user.isActive) throw refuse("Account inactive or not found");
        // A password change or a logout bumps the version: every older token stops here.
        if (user.tokenVersion !== claims.tokenVersion) throw refuse("Invalid or expired token");
        authenticated.set(request, user);
      },
      resolve({ request }) {
        return { user: authenticated.get(request)! };
      },
    },
    admin: {
      auth: true,
      transform({ request, status }) {
        // The role comes from the row just read, never from the token.
        if (authenticated.get(request)?.role !== "admin") throw status(403, { detail: "Admin access required" });
      },
    },
  });
}

export type AuthGuard = ReturnType<typeof authGuard>;
