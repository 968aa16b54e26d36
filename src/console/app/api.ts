// The console's API client: the wire types it reads, the bearer token (sessionStorage: this tab only, gone when
// it closes, never in a URL), one fetch wrapper whose errors carry the server's detail, and the account list.
import { ACCOUNT_DEACTIVATED, SESSION_ENDED, SESSION_ENDED_ELSEWHERE } from "./messages.ts";

export interface PublicUser {
  id: number;
  name: string;
  email: string;
  role: "admin" | "agent";
  is_active: boolean;
  created_at: string;
  /** Absent from servers older than the field: shown as unknown, not as "never". */
  last_login_at?: string | null;
}

export interface AuditEvent {
  id: number;
  created_at: string;
  type: string;
  actor: "user" | "cli" | "anonymous";
  actor_user_id: number | null;
  user_id: number | null;
  email: string | null;
  ip: string | null;
  reason: string | null;
  /** How many refused sign-ins this one event stands for (absent on older servers: one). */
  count?: number;
  /** What an edit changed, field by field; never a password. Absent or null when not recorded. */
  changes?: Record<string, { from: unknown; to: unknown }> | null;
}

/** One signed-in device (GET /auth/sessions, GET /admin/users/{id}/sessions); `device` is the server's label. */
export interface Session {
  id: string;
  created_at: string;
  expires_at: string;
  last_seen_at: string;
  ip: string | null;
  device: string;
  /** The session this tab is signed in with. */
  current: boolean;
}

const TOKEN_KEY = "moxie.console.token";
/** The list API's largest page; the console reads every match (a team is small) to sort and export them. */
const LIST_LIMIT = 1000;

/** An API answer other than 2xx (or no answer at all: status 0), with its detail sentence. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    /** How long the server asks to wait (Retry-After, in seconds), when it says. */
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(detail);
  }
}

/** Retry-After in seconds: delay-seconds or an HTTP date (RFC 9110); null when absent or unreadable. */
function retryAfter(headers: Headers): number | null {
  const value = headers.get("retry-after")?.trim();
  if (!value) return null;
  if (/^\d+$/.test(value)) return Number(value);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

/** Thrown after a 401 on a signed-in call: the page has already gone back to the sign-in form. */
export class SessionEnded extends Error {}

/** For calls nobody awaits: a session that ended has been dealt with already; anything else is logged. */
export function ignoreSessionEnded(error: unknown): void {
  if (!(error instanceof SessionEnded)) console.error(error);
}

let token: string | null = null;
try {
  token = sessionStorage.getItem(TOKEN_KEY);
} catch {
  token = null;
}

/**
 * When the token this tab holds stops working on its own (its `exp`), or null. Read from the token's payload,
 * which the page can decode but not check: only for telling the person how long a session stays valid.
 */
export function tokenExpiresAt(): Date | null {
  try {
    const payload = token?.split(".")[1];
    if (!payload) return null;
    const claims = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/"))) as { exp?: unknown };
    return typeof claims.exp === "number" ? new Date(claims.exp * 1000) : null;
  } catch {
    return null;
  }
}

/** True when this tab holds a token to send (a reload keeps it; signing out or a 401 forgets it). */
export function hasToken(): boolean {
  return Boolean(token);
}

export function saveToken(value: string | null): void {
  token = value;
  try {
    if (value === null) sessionStorage.removeItem(TOKEN_KEY);
    else sessionStorage.setItem(TOKEN_KEY, value);
  } catch {
    // Storage refused (private mode quota): the session lasts as long as the page.
  }
}

/** What a 401 on a signed-in call does (session.ts goes back to the sign-in form with `notice`). */
let endSession: (notice: string) => void = () => {};

/** Sets what a 401 on a signed-in call does; the client calls it before throwing SessionEnded. */
export function whenSessionEnds(handler: (notice: string) => void): void {
  endSession = handler;
}

interface ApiAnswer<T> {
  data: T;
  status: number;
  headers: Headers;
}

export async function api<T>(method: string, path: string, body?: unknown, options: { signedIn?: boolean } = {}): Promise<ApiAnswer<T>> {
  const signedIn = options.signedIn ?? true;
  const headers: Record<string, string> = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (signedIn && token) headers.authorization = `Bearer ${token}`;
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
    });
  } catch {
    throw new ApiError(0, "The server could not be reached. Check the connection and try again.");
  }
  let payload: unknown = undefined;
  const text = await response.text();
  if (text !== "") {
    try {
      payload = JSON.parse(text);
    } catch {
      payload = undefined;
    }
  }
  const detail =
    payload && typeof payload === "object" && typeof (payload as { detail?: unknown }).detail === "string"
      ? (payload as { detail: string }).detail
      : `The server answered ${response.status} ${response.statusText}`.trim();
  if (response.status === 401 && signedIn) {
    // A deactivated account cannot sign in again: say who can help instead. A session ended on purpose (from
    // another device, or by an admin) says so, so nobody mistakes it for a fault of the page.
    endSession(/inactive/i.test(detail) ? ACCOUNT_DEACTIVATED : /^session ended/i.test(detail) ? SESSION_ENDED_ELSEWHERE : SESSION_ENDED);
    throw new SessionEnded();
  }
  if (!response.ok) throw new ApiError(response.status, detail, retryAfter(response.headers));
  return { data: payload as T, status: response.status, headers: response.headers };
}

/** Every account matching `params`, however many pages the list API needs. */
export async function listAllAccounts(params: URLSearchParams = new URLSearchParams()): Promise<PublicUser[]> {
  const all: PublicUser[] = [];
  for (;;) {
    const query = new URLSearchParams(params);
    query.set("limit", String(LIST_LIMIT));
    query.set("offset", String(all.length));
    const { data, headers } = await api<PublicUser[]>("GET", `/admin/users?${query}`);
    all.push(...data);
    const total = Number(headers.get("x-total-count") ?? all.length);
    if (data.length === 0 || all.length >= total) return all;
  }
}
