// Sessions: where you are signed in (/auth/sessions) and, for an admin, where an account is (/admin/users/{id}/sessions);
// each can be ended. The rules are src/accounts/sessions.ts's; each handler calls one of them.
import { Elysia, t } from "elysia";
import type { Db } from "../../db/index.ts";
import {
  endAccountSession,
  endAllAccountSessions,
  endOwnSession,
  listAccountSessions,
  listOwnSessions,
} from "../../accounts/sessions.ts";
import { actorResolver } from "../acting-user.ts";
import type { AddressOf } from "../client-address.ts";
import { ADMIN_RESPONSES, SIGNED_IN_RESPONSES, type AuthGuard } from "../guard.ts";
import { UserIdParams } from "../models/accounts.ts";
import { ErrorModel } from "../models/common.ts";
import { AccountSessionParams, EndedSessionsModel, OwnSessionParams, SessionListModel } from "../models/sessions.ts";
import { documented } from "../openapi.ts";

export function sessionRoutes({ db, guard, addressOf }: { db: Db; guard: AuthGuard; addressOf: AddressOf }) {
  const contract = sessionContract();
  return (
    new Elysia()
      .use(guard)
      // Changes are made as the signed-in account, with the session its token names: writeAs checks both again
      // where the change is written.
      .resolve(actorResolver(addressOf))
      .get("/auth/sessions", ({ user, sessionId }) => listOwnSessions(db, { id: user.id, sessionId }), { auth: true, ...contract.listOwn })
      .delete(
        "/auth/sessions/:id",
        async ({ params, user, sessionId, actorOf, status }) => {
          await endOwnSession(db, actorOf(user, sessionId), params.id);
          return status(204, undefined);
        },
        { auth: true, ...contract.endOwn },
      )
      .guard({ admin: true, detail: { tags: ["admin"], security: [{ bearer: [] }] } }, (app) =>
        app
          .get(
            "/admin/users/:id/sessions",
            ({ params, sessionId }) => listAccountSessions(db, Number(params.id), sessionId),
            contract.listAccount,
          )
          .delete(
            "/admin/users/:id/sessions/:sid",
            async ({ params, user, sessionId, actorOf, status }) => {
              await endAccountSession(db, actorOf(user, sessionId), Number(params.id), params.sid);
              return status(204, undefined);
            },
            contract.endAccountOne,
          )
          .delete(
            "/admin/users/:id/sessions",
            async ({ params, user, sessionId, actorOf }) => ({
              ended: await endAllAccountSessions(db, actorOf(user, sessionId), Number(params.id)),
            }),
            contract.endAccountAll,
          ),
      )
  );
}

/** What each route takes and answers, as /openapi.json describes it; made afresh for each app. */
function sessionContract() {
  const signedIn = { tags: ["auth"], security: [{ bearer: [] }] };
  const list = documented(SessionListModel, { description: "Live sessions: the current one first, then the most recently seen." });
  return {
    listOwn: {
      response: { 200: list, ...SIGNED_IN_RESPONSES },
      detail: {
        ...signedIn,
        operationId: "listOwnSessions",
        summary: "List where you are signed in",
        description:
          "Your account's live sessions, one per sign-in: when it was made and last seen, when it expires, the " +
          "address and a device label (never the raw User-Agent). `current` marks the one this request uses. A " +
          "token from before sessions has none, so nothing is marked.",
      },
    },
    endOwn: {
      params: OwnSessionParams,
      response: {
        204: t.Void(),
        ...SIGNED_IN_RESPONSES,
        404: documented(ErrorModel, { description: "None of your live sessions has this id (whether or not someone else's has)." }),
      },
      detail: {
        ...signedIn,
        operationId: "endOwnSession",
        summary: "End one of your sessions",
        description:
          "Signs that device out: its token stops working at its next request. Ending your current session signs " +
          "you out. Recorded in the audit trail as session.ended (reason self).",
      },
    },
    listAccount: {
      params: UserIdParams,
      response: { 200: list, ...ADMIN_RESPONSES, 404: documented(ErrorModel, { description: "No account has this id." }) },
      detail: {
        operationId: "listUserSessions",
        summary: "List an account's sessions",
        description:
          "Where the account is signed in, as GET /auth/sessions lists it; `current` is true only for your own " +
          "session, when the account is yours.",
      },
    },
    endAccountOne: {
      params: AccountSessionParams,
      response: {
        204: t.Void(),
        ...ADMIN_RESPONSES,
        404: documented(ErrorModel, { description: "No account has this id, or it has no live session with this id." }),
      },
      detail: {
        operationId: "endUserSession",
        summary: "End one of an account's sessions",
        description:
          "Signs that device of the account out: its very next request is refused. Recorded in the audit trail as " +
          "session.ended (reason admin).",
      },
    },
    endAccountAll: {
      params: UserIdParams,
      response: {
        200: documented(EndedSessionsModel, { description: "How many sessions ended." }),
        ...ADMIN_RESPONSES,
        404: documented(ErrorModel, { description: "No account has this id." }),
      },
      detail: {
        operationId: "endAllUserSessions",
        summary: "End all of an account's sessions",
        description:
          "Signs the account out everywhere: every session ends, and so does every token of the account from before " +
          "sessions (which are not counted in `ended`). Its password is unchanged. Recorded in the audit trail as " +
          "logout (reason admin) and session.ended for each session.",
      },
    },
  };
}
