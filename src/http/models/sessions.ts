// Sessions on the wire: a session as the API lists it, the ids in paths, logout's scope, and how many an admin ended.
import { t } from "elysia";
import { SESSION_ID_PATTERN } from "../../db/vocabulary.ts";
import { documentedAs } from "../openapi.ts";
import { UserIdParams } from "./accounts.ts";

/** One signed-in device; its User-Agent is never part of it (the device label, from a fixed vocabulary, stands for it). */
export const SessionModel = t.Object({
  id: t.String({ pattern: SESSION_ID_PATTERN.source, description: "The session's id (not a credential: the token is)." }),
  created_at: t.String({ format: "date-time", description: "When the sign-in made it." }),
  expires_at: t.String({ format: "date-time", description: "When it ends by itself: its token's expiry." }),
  last_seen_at: t.String({ format: "date-time", description: "Its last request, to within about a minute." }),
  ip: t.Nullable(t.String({ description: "The client's address when it signed in, as the audit trail records it." })),
  device: t.String({ description: 'A readable label: "Firefox on Windows", "Safari on iPhone", "curl", "Unknown device".' }),
  current: t.Boolean({ description: "The session this request is signed in with." }),
});

/** Live sessions: the current one first, then the most recently seen. */
export const SessionListModel = t.Array(SessionModel);

const sessionId = (description: string) =>
  documentedAs(t.String({ pattern: SESSION_ID_PATTERN.source, error: "session id must be 22 characters of A-Z, a-z, 0-9, - and _" }), {
    type: "string",
    pattern: SESSION_ID_PATTERN.source,
    description,
  });

export const OwnSessionParams = t.Object({ id: sessionId("One of your sessions' ids (GET /auth/sessions).") });

export const AccountSessionParams = t.Object({
  id: UserIdParams.properties.id,
  sid: sessionId("One of the account's sessions' ids (GET /admin/users/{id}/sessions)."),
});

// A union of literals, not t.UnionEnum: its implicit default would pick a scope for a logout that named none.
export const LogoutQuery = t.Object({
  scope: t.Optional(
    t.Union([t.Literal("local"), t.Literal("others"), t.Literal("global")], {
      error: "scope must be one of local, others, global",
      description:
        "local (the default): this session only; others: every other session of the account; global: every session " +
        "and every token of the account, as logout did before sessions.",
    }),
  ),
});

export const EndedSessionsModel = t.Object({
  ended: t.Integer({ minimum: 0, description: "How many sessions ended (tokens from before sessions are not counted; they ended too)." }),
});
