// My account's "Where you are signed in": your live sessions (GET /auth/sessions), a "Sign out" for each one but
// this tab's (DELETE /auth/sessions/{id}), and "Sign out of all other sessions" (POST /auth/logout?scope=others,
// never scope=global: this tab stays signed in). The My account tab's content, as tabs.ts loads it.
import { api, ApiError, ignoreSessionEnded, type Session } from "./api.ts";
import { byId, setMessage, show } from "./dom.ts";
import { sentence } from "./format.ts";
import { NOTHING_SIGNED_OUT, plainWords } from "./messages.ts";
import { endSessionProblem, renderSessions, sessionLabel } from "./sessions-list.ts";
import type { TabContent } from "./tabs.ts";
import { flash } from "./toast.ts";

const list = byId("my-sessions-list");
const problem = byId("my-sessions-error");
const alone = byId("my-sessions-alone");
const heading = byId("my-sessions-title");
const othersButton = byId<HTMLButtonElement>("my-sessions-others");

let loadSequence = 0;
/** One sign-out at a time: a second press while the first is on its way would only hear "already ended". */
let busy = false;

function showProblem(message: DocumentFragment | string | null): void {
  problem.replaceChildren(message ?? "");
  show(problem, message !== null);
}

/** Where focus goes when what had it is gone (the last other session signed out: no more buttons). */
function focusFallback(): HTMLElement {
  return othersButton.hidden ? heading : othersButton;
}

/** Fetches and shows your sessions; `keepProblem` leaves the message of the action that asked for the reload. */
async function loadMySessions(keepProblem = false): Promise<void> {
  const sequence = ++loadSequence;
  let sessions: Session[];
  try {
    ({ data: sessions } = await api<Session[]>("GET", "/auth/sessions"));
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    if (sequence !== loadSequence) return;
    // The list on show may no longer be true: it goes, rather than pass for the answer.
    const hadFocus = list.contains(document.activeElement) || document.activeElement === othersButton;
    list.replaceChildren();
    show(othersButton, false);
    show(alone, false);
    showProblem(`Your sessions could not be loaded. ${plainWords(error.detail)}`);
    if (hadFocus) heading.focus();
    return;
  }
  if (sequence !== loadSequence) return;
  if (!keepProblem) showProblem(null);
  const othersFocused = document.activeElement === othersButton;
  renderSessions(list, sessions, (session) => void signOutOne(session).catch(ignoreSessionEnded), focusFallback);
  const others = sessions.filter((session) => !session.current).length;
  show(othersButton, others > 0);
  // No session at all: this tab's token is from before sessions were kept (it has none to list).
  setMessage(alone, others > 0 ? null : sessions.length === 0 ? "No session is listed for this account." : "You are not signed in anywhere else.");
  // "Sign out of all other sessions" had the focus and has gone (nothing left to sign out): the heading takes it.
  if (othersFocused && others === 0) heading.focus();
}

/** Shows your sessions as they are now (after your own password change has ended the others). */
export function refreshMySessions(): void {
  void loadMySessions().catch(ignoreSessionEnded);
}

async function signOutOne(session: Session): Promise<void> {
  if (busy) return;
  busy = true;
  showProblem(null);
  flash(null);
  try {
    await api("DELETE", `/auth/sessions/${encodeURIComponent(session.id)}`);
    flash(sentence`Signed out ${sessionLabel(session)}. That device must sign in again.`);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    showProblem(endSessionProblem(error, session));
    // Gone already: the list shows what is left. Anything else: nothing changed, the list stays.
    if (error.status !== 404) return;
  } finally {
    busy = false;
  }
  await loadMySessions(true);
}

async function signOutOthers(): Promise<void> {
  if (busy) return;
  busy = true;
  showProblem(null);
  flash(null);
  othersButton.setAttribute("aria-busy", "true");
  try {
    await api("POST", "/auth/logout?scope=others");
    flash("Signed out of all your other sessions. You stay signed in here.");
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    showProblem(error.status === 0 ? NOTHING_SIGNED_OUT : plainWords(error.detail));
    return;
  } finally {
    busy = false;
    othersButton.removeAttribute("aria-busy");
  }
  await loadMySessions(true);
}

/** Forgets the sessions on show (signing out: the next person must not see them, nor a late answer fill them in). */
export function forgetMySessions(): void {
  loadSequence++;
  list.replaceChildren();
  showProblem(null);
  show(othersButton, false);
  show(alone, false);
}

/** My account as tabs.ts sees it: the details come with the sign-in (me.ts); the sessions load each time it is shown. */
export const profileTab: TabContent = {
  load: () => loadMySessions(),
  sync() {},
};

export function setupMySessions(): void {
  heading.tabIndex = -1;
  byId("my-sessions-refresh").addEventListener("click", () => void loadMySessions().catch(ignoreSessionEnded));
  othersButton.addEventListener("click", () => void signOutOthers().catch(ignoreSessionEnded));
}
