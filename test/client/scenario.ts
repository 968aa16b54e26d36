// What a client of moxie does, written against the types openapi-typescript generates from /openapi.json
// and sent through openapi-fetch. test/client/generated-client.test.ts generates "#moxie-api" from the
// running binary, type-checks this file against it with tsc, and runs it against the same binary: a document
// that lies about a shape breaks the type check, one that lies about the server breaks the run.
//
// The root tsconfig leaves this file out: "#moxie-api" exists only while that test runs.
import createClient from "openapi-fetch";
import type { components, paths } from "#moxie-api";

type User = components["schemas"]["User"];
type Role = components["schemas"]["Role"];
/** Every error answer's body; not named Error, which a generated `export type Error` would shadow. */
type ErrorResponse = components["schemas"]["ErrorResponse"];
type Session = components["schemas"]["Session"];

export interface StoryResult {
  tokenType: "bearer";
  expiresIn: number;
  me: User;
  listed: User[];
  totalCount: number;
  created: { status: number; user: User };
  edited: User;
  deactivated: User;
  createdInactive: { status: number; user: User };
  missing: { status: number; detail: string };
  anonymous: { status: number; challenge: string | null };
  sessions: {
    /** Mine, after a second sign-in: the current one first. */
    mine: Session[];
    /** An admin's view of my account after I ended the other one. */
    afterEnding: Session[];
    /** The answer of ending all of the account's sessions, as an admin. */
    endedAll: number;
    /** A session id that is not mine: DELETE answers this. */
    notMine: { status: number; detail: string };
    /** /auth/me with the token whose session ended: 401. */
    endedTokenStatus: number;
    /** Logout with scope=others, then /auth/me with this session's token. */
    afterOthers: number;
  };
}

/** Signs in as `admin`, reads /auth/me, lists, creates, edits and deactivates an account. */
export async function clientStory(baseUrl: string, admin: { email: string; password: string }): Promise<StoryResult> {
  const api = createClient<paths>({ baseUrl });

  const login = await api.POST("/auth/login", { body: { email: admin.email, password: admin.password } });
  if (!login.data) throw new Error(`sign-in refused: ${login.response.status} ${login.error?.detail}`);
  const token: string = login.data.access_token;
  const expiresIn: number = login.data.expires_in;
  const tokenType: "bearer" = login.data.token_type;

  const anonymousMe = await api.GET("/auth/me");
  const anonymous = { status: anonymousMe.response.status, challenge: anonymousMe.response.headers.get("WWW-Authenticate") };

  api.use({
    onRequest({ request }) {
      request.headers.set("Authorization", `Bearer ${token}`);
      return request;
    },
  });

  const me = await api.GET("/auth/me");
  if (!me.data) throw new Error(`/auth/me: ${me.response.status}`);
  const myRole: Role = me.data.role;
  if (myRole !== "admin") throw new Error(`signed in as ${myRole}`);

  const listed = await api.GET("/admin/users", { params: { query: { role: "admin", is_active: true, limit: 10, offset: 0 } } });
  if (!listed.data) throw new Error(`list: ${listed.response.status}`);
  const totalCount = Number(listed.response.headers.get("X-Total-Count"));

  const create = await api.POST("/admin/users", {
    body: { name: "Casey Client", email: "casey.client@example.com", password: "a long passphrase", role: "agent" },
  });
  if (!create.data) throw new Error(`create: ${create.response.status} ${create.error?.detail}`);
  const id: number = create.data.id;

  const edit = await api.PATCH("/admin/users/{id}", { params: { path: { id } }, body: { name: "Casey Client-Jones" } });
  if (!edit.data) throw new Error(`edit: ${edit.response.status} ${edit.error?.detail}`);

  const deactivate = await api.PATCH("/admin/users/{id}/deactivate", { params: { path: { id } } });
  if (!deactivate.data) throw new Error(`deactivate: ${deactivate.response.status} ${deactivate.error?.detail}`);
  const stillActive: boolean = deactivate.data.is_active;
  if (stillActive) throw new Error("deactivated account is still active");

  // An account created inactive: is_active is part of the create body.
  const dormant = await api.POST("/admin/users", {
    body: { name: "Dana Dormant", email: "dana.dormant@example.com", password: "a long passphrase", is_active: false },
  });
  if (!dormant.data) throw new Error(`create inactive: ${dormant.response.status} ${dormant.error?.detail}`);

  // An error answer is typed as the document's ErrorResponse: { detail: string }.
  const lookup = await api.GET("/admin/users/{id}", { params: { path: { id: 999_999 } } });
  const notFound: ErrorResponse | undefined = lookup.error;
  const missing = { status: lookup.response.status, detail: notFound?.detail ?? "" };

  // Sessions: a second sign-in is a second session; this client lists, ends the other, and an admin sees mine.
  const second = await createClient<paths>({ baseUrl }).POST("/auth/login", { body: { email: admin.email, password: admin.password } });
  if (!second.data) throw new Error(`second sign-in: ${second.response.status}`);
  const listedSessions = await api.GET("/auth/sessions");
  if (!listedSessions.data) throw new Error(`sessions: ${listedSessions.response.status}`);
  const mine: Session[] = listedSessions.data;
  const other = mine.find((session) => !session.current);
  if (!other) throw new Error("the second session is not listed");
  const otherId: string = other.id;
  const ended = await api.DELETE("/auth/sessions/{id}", { params: { path: { id: otherId } } });
  if (ended.response.status !== 204) throw new Error(`end session: ${ended.response.status}`);
  const secondMe = await fetch(`${baseUrl}/auth/me`, { headers: { authorization: `Bearer ${second.data.access_token}` } });
  const notMineAnswer = await api.DELETE("/auth/sessions/{id}", { params: { path: { id: otherId } } });
  const notMine = { status: notMineAnswer.response.status, detail: notMineAnswer.error?.detail ?? "" };
  const seen = await api.GET("/admin/users/{id}/sessions", { params: { path: { id: me.data.id } } });
  if (!seen.data) throw new Error(`admin sessions: ${seen.response.status}`);
  const afterEnding: Session[] = seen.data;
  const others = await api.POST("/auth/logout", { params: { query: { scope: "others" } } });
  if (others.response.status !== 204) throw new Error(`logout others: ${others.response.status}`);
  const stillMe = await api.GET("/auth/me");
  const endAll = await api.DELETE("/admin/users/{id}/sessions", { params: { path: { id } } });
  if (!endAll.data) throw new Error(`end all: ${endAll.response.status}`);
  const endedAll: number = endAll.data.ended;

  if (baseUrl === "never") {
    // Never run: what the document must refuse at compile time. If it grows too loose, these lines stop
    // being errors and tsc fails on the unused @ts-expect-error.
    // @ts-expect-error a role is admin or agent
    await api.POST("/admin/users", { body: { name: "X", email: "x@example.com", password: "a long passphrase", role: "owner" } });
    // @ts-expect-error creating an account needs a password
    await api.POST("/admin/users", { body: { name: "X", email: "x@example.com" } });
    // @ts-expect-error an account id is a number
    await api.GET("/admin/users/{id}", { params: { path: { id: "1" } } });
    // @ts-expect-error no route answers DELETE on an account
    await api.DELETE("/admin/users/{id}", { params: { path: { id } } });
    // @ts-expect-error the password hash is never part of an account
    void me.data.password_hash;
    // @ts-expect-error an edit does not set a password (422): PUT /admin/users/{id}/password does
    await api.PATCH("/admin/users/{id}", { params: { path: { id } }, body: { password: "a long passphrase" } });
    // @ts-expect-error logout's scope is local, others or global
    await api.POST("/auth/logout", { params: { query: { scope: "everywhere" } } });
    // @ts-expect-error a session id is a string
    await api.DELETE("/auth/sessions/{id}", { params: { path: { id: 12 } } });
    // @ts-expect-error a session never carries the raw User-Agent
    void mine[0]!.user_agent;
  }

  return {
    tokenType,
    expiresIn,
    me: me.data,
    listed: listed.data,
    totalCount,
    created: { status: create.response.status, user: create.data },
    edited: edit.data,
    deactivated: deactivate.data,
    createdInactive: { status: dormant.response.status, user: dormant.data },
    missing,
    anonymous,
    sessions: { mine, afterEnding, endedAll, notMine, endedTokenStatus: secondMe.status, afterOthers: stillMe.response.status },
  };
}
