// Signing in and out: the sign-in form, the start of a session (who am I, which tab), its end (on sign-out, or
// when the server answers 401), and resuming the session a reload finds in sessionStorage.
import { api, ApiError, hasToken, saveToken, SessionEnded, whenSessionEnds, type PublicUser } from "./api.ts";
import { forgetAccounts } from "./accounts.ts";
import { closeAllDialogs } from "./dialogs.ts";
import { byId, field, setMessage, show } from "./dom.ts";
import { clearInvalid, handleSubmit, requireFilled } from "./forms.ts";
import { me, renderMe, setMe } from "./me.ts";
import { plainWords } from "./messages.ts";
import { hideAllPasswords } from "./passwords.ts";
import { forgetPlace, place, rereadPlace } from "./place.ts";
import { showTab, syncControls } from "./tabs.ts";
import { flash } from "./toast.ts";
import { focusPanelHeading, showView } from "./views.ts";

const signinForm = byId<HTMLFormElement>("signin-form");
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
  closeAllDialogs();
  hideAllPasswords();
  byId("accounts-body").replaceChildren();
  byId("activity-body").replaceChildren();
  flash(null);
  byId<HTMLFormElement>("own-password-form").reset();
  byId<HTMLFormElement>("reset-form").reset();
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
      const { data } = await api<{ access_token: string }>("POST", "/auth/login", { email, password }, { signedIn: false });
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

  byId<HTMLButtonElement>("sign-out").addEventListener("click", async () => {
    try {
      await api("POST", "/auth/logout");
    } catch {
      // Signed out already, or the server is away: the token is forgotten here either way.
    }
    if (hasToken() || me !== null) endSession("You are signed out.", { clearDrafts: true });
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
