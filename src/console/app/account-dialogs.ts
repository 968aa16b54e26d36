// The dialogs that change an account: add, edit (with unlock), set or change a password, deactivate and
// reactivate. Each reloads the accounts through the function given to setupAccountDialogs().
import { api, ApiError, ignoreSessionEnded, type PublicUser } from "./api.ts";
import { askConfirmation, closeConfirmation, closeDialog, openDialog, setupDialog } from "./dialogs.ts";
import { byId, field, setMessage, show } from "./dom.ts";
import { emailText, isolate, roleName, sentence } from "./format.ts";
import { clearInvalid, FormProblem, handleSubmit, requireFilled, setUsername } from "./forms.ts";
import { me, renderMe, setMe } from "./me.ts";
import { OWN_PASSWORD_CHANGED, plainWords } from "./messages.ts";
import { changeOwnPassword, checkNewPassword } from "./passwords.ts";
import { flash } from "./toast.ts";

const addDialog = byId<HTMLDialogElement>("add-dialog");
const addForm = byId<HTMLFormElement>("add-form");
const editDialog = byId<HTMLDialogElement>("edit-dialog");
const editForm = byId<HTMLFormElement>("edit-form");
const resetDialog = byId<HTMLDialogElement>("reset-dialog");
const resetForm = byId<HTMLFormElement>("reset-form");

let editing: PublicUser | null = null;
let resetting: PublicUser | null = null;
/** Loads and shows the accounts again after a change (accounts.ts's loadAccounts). */
let loadAccounts: () => Promise<void> = async () => {};

/**
 * "name Avery Agent → Avery Q. Agent; role Agent → Admin": what an edit changed, in words, each value isolated
 * (a right-to-left name would otherwise swap the two sides of the arrow); null when nothing changed.
 */
function describeChanges(before: PublicUser, after: PublicUser): DocumentFragment | null {
  const parts: DocumentFragment[] = [];
  if (before.name !== after.name) parts.push(sentence`name ${before.name} → ${after.name}`);
  if (before.email !== after.email) parts.push(sentence`email ${before.email} → ${after.email}`);
  if (before.role !== after.role) parts.push(sentence`role ${roleName(before.role)} → ${roleName(after.role)}`);
  if (parts.length === 0) return null;
  const all = document.createDocumentFragment();
  parts.forEach((part, index) => all.append(...(index > 0 ? ["; ", part] : [part])));
  return all;
}


export function openEdit(account: PublicUser): void {
  editing = account;
  editForm.reset();
  clearInvalid(editForm);
  setMessage(byId("edit-error"), null);
  byId("edit-title").replaceChildren(sentence`Edit ${account.name}`);
  field<HTMLInputElement>(editForm, "name").value = account.name;
  field<HTMLInputElement>(editForm, "email").value = account.email;
  const role = field<HTMLSelectElement>(editForm, "role");
  role.value = account.role;
  // Your own role is not yours to change (the server refuses it): say so before, not after saving.
  const self = account.id === me?.id;
  role.disabled = self;
  show(byId("edit-role-hint"), self);
  if (self) role.setAttribute("aria-describedby", "edit-role-hint");
  else role.removeAttribute("aria-describedby");
  openDialog(editDialog);
}

async function saveEdit(account: PublicUser, changes: Record<string, string>): Promise<void> {
  const { data } = await api<PublicUser>("PATCH", `/admin/users/${account.id}`, changes);
  closeConfirmation();
  closeDialog(editDialog);
  const what = describeChanges(account, data);
  flash(what ? sentence`Saved ${data.name}: ${what}.` : sentence`Saved ${data.name}; nothing changed.`);
  if (data.id === me?.id) {
    setMe(data);
    renderMe();
  }
  await loadAccounts();
}

/** Set password (someone else's), or change your own (which needs your current one). */
export function openReset(account: PublicUser): void {
  resetting = account;
  resetForm.reset();
  clearInvalid(resetForm);
  setMessage(byId("reset-error"), null);
  const self = account.id === me?.id;
  byId("reset-title").replaceChildren(self ? "Change your password" : sentence`Set password for ${account.name}`);
  byId("reset-subject").replaceChildren(emailText(account.email));
  setUsername(resetForm, account.email);
  show(byId("reset-current-field"), self);
  byId("reset-submit").textContent = self ? "Change password" : "Set password";
  field<HTMLInputElement>(resetForm, "current_password").disabled = !self;
  byId("reset-password-hint").textContent = self
    ? "8 to 128 characters, different from the current one. Common passwords such as “password123” are refused. You stay signed in here; your other sessions end."
    : "8 to 128 characters. Common passwords such as “password123” are refused. Their current sessions end.";
  openDialog(resetDialog);
}

export function openActivation(account: PublicUser, activate: boolean): void {
  askConfirmation({
    title: activate ? sentence`Reactivate ${account.name}?` : sentence`Deactivate ${account.name}?`,
    text: activate
      ? sentence`${isolate(emailText(account.email))} will be able to sign in again with their password.`
      : sentence`${isolate(emailText(account.email))} will be signed out at once and cannot sign in until the account is reactivated.`,
    action: activate ? "Reactivate" : "Deactivate",
    danger: !activate,
    run: async () => {
      const { data } = await api<PublicUser>("PATCH", `/admin/users/${account.id}/${activate ? "activate" : "deactivate"}`);
      closeConfirmation();
      flash(data.is_active ? sentence`${data.name} is active again.` : sentence`${data.name} is deactivated; their sessions have ended.`);
      await loadAccounts();
    },
  });
}

/** Wires the add, edit and password dialogs; `reload` shows the accounts again after a change. */
export function setupAccountDialogs(reload: () => Promise<void>): void {
  loadAccounts = reload;

  // Add
  setupDialog(addDialog);
  byId("add-account").addEventListener("click", () => {
    setMessage(byId("add-error"), null);
    clearInvalid(addForm);
    openDialog(addDialog);
  });
  handleSubmit(addForm, byId("add-error"), async () => {
    requireFilled(addForm, { name: "Name", email: "Email", password: "Initial password" });
    const password = field<HTMLInputElement>(addForm, "password").value;
    checkNewPassword(password, "password", "Initial password");
    const role = field<HTMLSelectElement>(addForm, "role").value;
    const { data } = await api<PublicUser>("POST", "/admin/users", {
      name: field<HTMLInputElement>(addForm, "name").value,
      email: field<HTMLInputElement>(addForm, "email").value,
      role,
      password,
    });
    addForm.reset();
    closeDialog(addDialog);
    flash(sentence`Account created for ${data.name} (${data.email}), as ${data.role === "admin" ? "an admin" : "an agent"}.`);
    await loadAccounts();
  });

  // Edit
  setupDialog(editDialog);
  // Unlock: clears the account's sign-in throttle (POST /admin/users/{id}/unlock, 204), from the edit dialog,
  // where an admin already is when someone calls to say they are locked out.
  byId<HTMLButtonElement>("edit-unlock-button").addEventListener("click", async () => {
    if (!editing) return;
    const account = editing;
    const button = byId<HTMLButtonElement>("edit-unlock-button");
    button.disabled = true;
    setMessage(byId("edit-error"), null);
    try {
      await api("POST", `/admin/users/${account.id}/unlock`);
      closeDialog(editDialog);
      flash(sentence`${account.name} can sign in again now: the lock after failed attempts is cleared.`);
    } catch (error) {
      if (error instanceof ApiError) {
        setMessage(byId("edit-error"), (error.status === 404 && /^not found$/i.test(error.detail)) || error.status === 405 ? "This server cannot unlock sign-ins; it is older than the console." : plainWords(error.detail));
      } else ignoreSessionEnded(error);
    } finally {
      button.disabled = false;
    }
  });
  handleSubmit(editForm, byId("edit-error"), async () => {
    if (!editing) return;
    const account = editing;
    requireFilled(editForm, { name: "Name", email: "Email" });
    const changes: Record<string, string> = {};
    const name = field<HTMLInputElement>(editForm, "name").value;
    const email = field<HTMLInputElement>(editForm, "email").value;
    const role = field<HTMLSelectElement>(editForm, "role");
    if (name.trim() !== account.name) changes.name = name;
    if (email.trim().toLowerCase() !== account.email) changes.email = email;
    if (!role.disabled && role.value !== account.role) changes.role = role.value;
    if (Object.keys(changes).length === 0) {
      closeDialog(editDialog);
      return;
    }
    if (changes.role === "admin") {
      // Making an admin hands over every account: confirmed like a deactivation, with Cancel focused.
      askConfirmation({
        title: sentence`Make ${name.trim() || account.name} an admin?`,
        text: sentence`${isolate(emailText(account.email))} will be able to add, edit, deactivate and reactivate every account, set anyone's password and read the activity.`,
        action: "Make admin",
        danger: true,
        run: () => saveEdit(account, changes),
        // The save button is busy (disabled) right now; Cancel comes back to the choice being confirmed.
        returnTo: role,
      });
      return;
    }
    await saveEdit(account, changes);
  });

  // Set password, or change your own
  setupDialog(resetDialog);
  handleSubmit(resetForm, byId("reset-error"), async () => {
    if (!resetting) return;
    const who = resetting;
    const password = field<HTMLInputElement>(resetForm, "password").value;
    if (who.id === me?.id) {
      // The admin route is for other people's passwords; your own goes through /auth/password with the current one.
      requireFilled(resetForm, { current_password: "Current password" });
      const current = field<HTMLInputElement>(resetForm, "current_password").value;
      checkNewPassword(password, "password", "New password");
      try {
        await changeOwnPassword(current, password);
      } catch (error) {
        if (error instanceof ApiError && /^new[_ ]password/i.test(error.detail)) {
          throw new FormProblem(error.detail.replace(/^new[_ ]password/i, "New password"), "password");
        }
        throw error;
      }
      resetForm.reset();
      closeDialog(resetDialog);
      flash(OWN_PASSWORD_CHANGED);
      return;
    }
    checkNewPassword(password, "password", "New password");
    await api("PUT", `/admin/users/${who.id}/password`, { password });
    resetForm.reset();
    closeDialog(resetDialog);
    flash(sentence`New password set for ${who.name}. Their earlier sessions have ended.`);
  });
}
