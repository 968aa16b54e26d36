// Signing in and out: the sign-in form, the start of a session (who am I, which tab), its end (on sign-out, or
// when the server answers 401), a sign-out the server did not confirm, and resuming the session a reload finds
// in sessionStorage.
import { api, ApiError, hasToken, ignoreSessionEnded, saveToken, SessionEnded, tokenExpiresAt, whenSessionEnds, type PublicUser } from "./api.ts";
import { forgetAccountSessions } from "./account-sessions.ts";
import { forgetAccounts } from "./accounts.ts";
import { closeAllDialogs, closeDialog, openDialog, setupDialog } from "./dialogs.ts";
import { byId, field, setMessage, show } from "./dom.ts";
import { shortDateTimeFormat } from "./format.ts";
import { clearInvalid, FormProblem, handleSubmit, requireFilled, setUsername } from "./forms.ts";
import { me, renderMe, setMe } from "./me.ts";
import { forgetMySessions } from "./my-sessions.ts";
import { plainWords, signInLocked } from "./messages.ts";
import { hideAllPasswords } from "./passwords.ts";
import { forgetPlace, place, rereadPlace } from "./place.ts";
import { showTab, syncControls } from "./tabs.ts";
import { flash } from "./toast.ts";
import { focusPanelHeading, showView } from "./views.ts";

const SIGNED_OUT = "You are signed out.";
const signinForm = byId<HTMLFormElement>("signin-form");
const signoutDialog = byId<HTMLDialogElement>("signout-dialog");
const signinNotice = byId("signin-notice");
const signinError = byId("signin-error");

/**
 * Back to the sign-in form, the token forgotten, with `notice` above it. A session that ended on its own
 * keeps what was typed in the account dialogs and the place in the URL (sign in again and carry on);
 * signing out clears it all.
 */
function endSession(notice: string | null, options: { clearDrafts?: boolean } = {}): void {
  const email = me?.email;
  saveToken(null);
  setMe(null);
  forgetAccounts();
  forgetAccountSessions();
  forgetMySessions();
  closeAllDialogs();
  hideAllPasswords();
  byId("accounts-body").replaceChildren();
  byId("activity-body").replaceChildren();
  flash(null);
  byId<HTMLFormElement>("own-password-form").reset();
  byId<HTMLFormElement>("reset-form").reset();
  for (const id of ["own-password-form", "reset-form"]) setUsername(byId<HTMLFormElement>(id), "");
  if (options.clearDrafts) {
    for (const form of document.querySelectorAll<HTMLFormElement>("dialog form, #filters, #activity-filters")) form.reset();
    forgetPlace();
  }
  show(byId("session"), false);
  setMessage(signinNotice, notice);
  setMessage(signinError, null);
  clearInvalid(signinForm);
  const emailInput = field<HTMLInputElement>(signinForm, "email");
  if (email && emailInput.value === "") emailInput.value = email;
  field<HTMLInputElement>(signinForm, "password").value = "";
  showView("signin");
  document.title = "Sign in · moxie console";
  (emailInput.value === "" ? emailInput : field<HTMLInputElement>(signinForm, "password")).focus();
}

async function startSession(): Promise<void> {
  const { data } = await api<PublicUser>("GET", "/auth/me");
  setMe(data);
  renderMe();
  show(byId("session"), true);
  setMessage(signinNotice, null);
  showView("app");
  const admin = data.role === "admin";
  show(byId("admin-nav"), admin);
  rereadPlace();
  syncControls();
  await showTab(place.tab ?? (admin ? "accounts" : "profile"), false);
}

export function setupSession(): void {
  whenSessionEnds((notice) => endSession(notice));

  handleSubmit(
    signinForm,
    signinError,
    async () => {
      requireFilled(signinForm, { email: "Email", password: "Password" });
      const email = field<HTMLInputElement>(signinForm, "email").value;
      const password = field<HTMLInputElement>(signinForm, "password").value;
      let data: { access_token: string };
      try {
        ({ data } = await api<{ access_token: string }>("POST", "/auth/login", { email, password }, { signedIn: false }));
      } catch (error) {
        // Locked after too many failed attempts: how long, and that an admin can lift it sooner.
        if (error instanceof ApiError && error.status === 429) throw new FormProblem(signInLocked(error.retryAfterSeconds));
        throw error;
      }
      saveToken(data.access_token);
      try {
        await startSession();
      } catch (error) {
        if (!(error instanceof SessionEnded)) saveToken(null);
        throw error;
      }
      field<HTMLInputElement>(signinForm, "password").value = "";
      hideAllPasswords();
      focusPanelHeading();
    },
    // "You are signed out." belongs to the moment it was said; it must not sit above a later error.
    () => setMessage(signinNotice, null),
  );

  byId<HTMLButtonElement>("sign-out").addEventListener("click", () => void signOut().catch(ignoreSessionEnded));
  setupSignOutProblem();
}

/**
 * POST /auth/logout ends this tab's session (the account's other sessions stay). Only its answer signs this tab
 * out: without it the token still works on the server, so this tab keeps it (to try again) and says so, rather
 * than claim "You are signed out."
 */
async function signOut(): Promise<void> {
  try {
    await api("POST", "/auth/logout");
  } catch (error) {
    // A 401 has already taken the page to the sign-in form, saying why (the session had ended anyway).
    if (error instanceof SessionEnded) return;
    if (error instanceof ApiError) return explainSignOutProblem(error);
    throw error;
  }
  if (hasToken() || me !== null) endSession(SIGNED_OUT, { clearDrafts: true });
}

/** Until when the server still accepts this tab's session, in words. */
function validUntil(): string {
  const expires = tokenExpiresAt();
  return expires ? `until ${shortDateTimeFormat.format(expires)}` : "for up to 8 hours after you signed in";
}

function explainSignOutProblem(error: ApiError): void {
  const why = error.status === 0 ? "The server could not be reached" : `The server did not sign you out (${plainWords(error.detail).replace(/\.$/, "")})`;
  byId("signout-text").textContent =
    `${why}, so your session has not ended: it stays valid on the server ${validUntil()} (a session lasts up to 8 hours). ` +
    "You are still signed in here. Try again once the server answers.";
  setMessage(byId("signout-error"), null);
  if (!signoutDialog.open) openDialog(signoutDialog, undefined, byId("sign-out"));
}

function setupSignOutProblem(): void {
  setupDialog(signoutDialog);
  // Try again: a refusal stays in the dialog (handleSubmit); a 401 has taken the page to the sign-in form already.
  handleSubmit(byId<HTMLFormElement>("signout-form"), byId("signout-error"), async () => {
    await api("POST", "/auth/logout");
    closeDialog(signoutDialog);
    endSession(SIGNED_OUT, { clearDrafts: true });
  });
  // Forgetting the token here does not end it on the server: the notice says so, and how to end it sooner (from a
  // new session: My account's "Sign out of all other sessions", logout with scope=others).
  byId("signout-here").addEventListener("click", () => {
    const until = validUntil();
    endSession(
      `Signed out on this device only. The server could not confirm it, so your session stays valid there ${until}. ` +
        "To end it sooner, sign in again once the server answers and, under My account, sign out of all other sessions.",
      { clearDrafts: true },
    );
  });
}

/** At page load: the token this tab kept (a reload) starts the session again; without one, the sign-in form. */
export async function resumeSession(): Promise<void> {
  if (!hasToken()) {
    endSession(null);
    return;
  }
  try {
    await startSession();
  } catch (error) {
    if (error instanceof SessionEnded) return;
    endSession(error instanceof ApiError ? plainWords(error.detail) : "The console could not start; sign in again.");
  }
}
