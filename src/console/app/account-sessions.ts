// An admin's view of where an account is signed in: the Sessions dialog a row's "Sessions" opens (GET
// /admin/users/{id}/sessions), with "Sign out" for each session (DELETE …/sessions/{sid}) and "Sign out of all
// sessions" (DELETE …/sessions, confirmed first). The dialog stays open on what is left, saying what happened.
import { api, ApiError, ignoreSessionEnded, type PublicUser, type Session } from "./api.ts";
import { askConfirmation, closeConfirmation, openDialog, setupDialog } from "./dialogs.ts";
import { byId, h, show } from "./dom.ts";
import { emailText, isolate, sentence } from "./format.ts";
import { FormProblem } from "./forms.ts";
import { NOTHING_SIGNED_OUT, plainWords } from "./messages.ts";
import { endSessionProblem, renderSessions, sessionLabel } from "./sessions-list.ts";

const dialog = byId<HTMLDialogElement>("sessions-dialog");
const form = byId<HTMLFormElement>("sessions-form");
const heading = byId("sessions-title");
const list = byId("sessions-list");
const status = byId("sessions-status");
const problem = byId("sessions-error");
const none = byId("sessions-none");
const endAllButton = byId<HTMLButtonElement>("sessions-end-all");

/** The account whose sessions are on show, and those sessions as last loaded. */
let account: PublicUser | null = null;
let shown: Session[] = [];
let loadSequence = 0;
let busy = false;

/** "1 session", "3 sessions": a text node, so a sentence does not isolate it as it does a name. */
function sessionCount(count: number): Text {
  return document.createTextNode(`${count} ${count === 1 ? "session" : "sessions"}`);
}

function say(element: HTMLElement, message: DocumentFragment | string | null): void {
  element.replaceChildren(message ?? "");
  show(element, message !== null);
}

/**
 * What an action did, in the dialog's status region: the region stays in the page (a modal dialog makes the
 * page's own success message unreachable), and only its content changes, so a screen reader announces it.
 */
function tell(message: DocumentFragment | null): void {
  status.replaceChildren(...(message === null ? [] : [h("p", { className: "flash" }, [message])]));
}

/** True when nothing in view has the focus (what had it was removed or hidden by the last render). */
function focusIsLost(): boolean {
  const active = document.activeElement;
  return !(active instanceof HTMLElement) || active === document.body || active.getClientRects().length === 0;
}

/** Fetches and shows the account's sessions; `keepMessages` leaves what the action that asked for it said. */
async function loadAccountSessions(keepMessages = false): Promise<void> {
  if (!account) return;
  const sequence = ++loadSequence;
  let sessions: Session[];
  try {
    ({ data: sessions } = await api<Session[]>("GET", `/admin/users/${account.id}/sessions`));
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    if (sequence !== loadSequence) return;
    shown = [];
    list.replaceChildren();
    show(endAllButton, false);
    say(none, null);
    say(problem, `The sessions could not be loaded. ${plainWords(error.detail)}`);
    if (focusIsLost()) heading.focus();
    return;
  }
  if (sequence !== loadSequence || !dialog.open) return;
  if (!keepMessages) {
    tell(null);
    say(problem, null);
  }
  shown = sessions;
  renderSessions(list, sessions, (session) => void endOne(session).catch(ignoreSessionEnded), () => (endAllButton.hidden ? heading : endAllButton));
  show(endAllButton, sessions.length > 0);
  say(none, sessions.length > 0 ? null : sentence`${account.name} is not signed in anywhere: no live session.`);
  // The last session's Sign out, or "Sign out of all sessions", has gone with it: the heading takes the focus.
  if (focusIsLost()) heading.focus();
}

async function endOne(session: Session): Promise<void> {
  if (busy || !account) return;
  const who = account;
  busy = true;
  tell(null);
  say(problem, null);
  try {
    await api("DELETE", `/admin/users/${who.id}/sessions/${encodeURIComponent(session.id)}`);
    tell(sentence`Signed out ${sessionLabel(session)}: ${who.name} must sign in again on that device.`);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    say(problem, endSessionProblem(error, session));
    if (error.status !== 404) return;
  } finally {
    busy = false;
  }
  await loadAccountSessions(true);
}

/**
 * Signs the account out everywhere, once the admin confirms (Cancel focused); the dialog then shows what is left
 * (nothing) and says how many sessions ended. A refusal stays in the confirmation, in plain words.
 */
function confirmEndAll(): void {
  if (!account) return;
  const who = account;
  askConfirmation({
    title: sentence`Sign ${who.name} out of all sessions?`,
    text: sentence`${isolate(emailText(who.email))} will be signed out at once on every device (${sessionCount(shown.length)} now) and must sign in again. The password stays as it is.`,
    action: "Sign out of all sessions",
    danger: true,
    returnTo: endAllButton,
    run: async () => {
      let ended: number;
      try {
        ({ data: { ended } } = await api<{ ended: number }>("DELETE", `/admin/users/${who.id}/sessions`));
      } catch (error) {
        if (error instanceof ApiError && error.status === 0) throw new FormProblem(NOTHING_SIGNED_OUT);
        throw error;
      }
      closeConfirmation();
      say(problem, null);
      tell(
        ended === 0
          ? sentence`${who.name} had no live session left to end.`
          : sentence`Signed ${who.name} out of ${sessionCount(ended)}: they must sign in again on every device.`,
      );
      await loadAccountSessions(true);
    },
  });
}

/** Opens the Sessions dialog for `target` (a row's "Sessions"); focus returns to that button when it closes. */
export function openAccountSessions(target: PublicUser): void {
  account = target;
  shown = [];
  loadSequence++;
  heading.replaceChildren(sentence`Sessions of ${target.name}`);
  byId("sessions-subject").replaceChildren(emailText(target.email));
  list.replaceChildren();
  tell(null);
  say(problem, null);
  show(endAllButton, false);
  say(none, "Loading…");
  openDialog(dialog, heading);
  void loadAccountSessions().catch(ignoreSessionEnded);
}

/** Forgets the account and sessions on show (signing out: a late answer must not fill them in for the next person). */
export function forgetAccountSessions(): void {
  account = null;
  shown = [];
  loadSequence++;
  list.replaceChildren();
}

export function setupAccountSessions(): void {
  heading.tabIndex = -1;
  setupDialog(dialog);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    confirmEndAll();
  });
}
