// Modal dialogs: opening with focus on the first field, closing with focus back on what opened them, and the
// one confirmation dialog that asks before a change that is hard to take back.
import { byId, setMessage } from "./dom.ts";
import { handleSubmit } from "./forms.ts";
import { hideAllPasswords } from "./passwords.ts";
import { appIsShown, focusPanelHeading } from "./views.ts";

const openers = new WeakMap<HTMLDialogElement, HTMLElement | null>();

export function openDialog(dialog: HTMLDialogElement, focus?: HTMLElement, opener?: HTMLElement): void {
  openers.set(dialog, opener ?? (document.activeElement instanceof HTMLElement ? document.activeElement : null));
  dialog.showModal();
  // A hidden input (a form's username for password managers) cannot take the focus.
  (focus ?? dialog.querySelector<HTMLElement>("input:not(:disabled):not([hidden]), select:not(:disabled), button[type=submit]"))?.focus();
}

export function closeDialog(dialog: HTMLDialogElement): void {
  if (!dialog.open) return;
  dialog.close();
  // At once, not on the (later) close event: the next key press already goes to the right place.
  restoreFocus(dialog);
}

/**
 * Back to what opened `dialog` (inside another dialog only if that one is still open). If a re-render has
 * replaced it meanwhile, the re-render has placed focus already; only focus lost to <body> moves.
 */
function restoreFocus(dialog: HTMLDialogElement): void {
  if (!appIsShown()) return;
  const opener = openers.get(dialog);
  const openerDialog = opener?.closest("dialog");
  if (opener && opener.isConnected && (!openerDialog || openerDialog.open)) opener.focus();
  else if (focusIsLost()) focusPanelHeading();
}

/** True when nothing useful has the focus: <body>, or something inside a dialog that has closed. */
function focusIsLost(): boolean {
  const active = document.activeElement;
  if (!active || active === document.body) return true;
  const dialog = active.closest("dialog");
  return dialog !== null && !dialog.open;
}

export function setupDialog(dialog: HTMLDialogElement): void {
  for (const button of dialog.querySelectorAll<HTMLButtonElement>("[data-close]")) {
    button.addEventListener("click", () => closeDialog(dialog));
  }
  dialog.addEventListener("close", () => {
    hideAllPasswords();
    // Escape closes a dialog without closeDialog(); restore here too (a second call changes nothing).
    if (document.activeElement !== openers.get(dialog)) restoreFocus(dialog);
    openers.delete(dialog);
  });
}

export function closeAllDialogs(): void {
  for (const dialog of document.querySelectorAll<HTMLDialogElement>("dialog")) closeDialog(dialog);
}

// Confirmations: deactivate, reactivate, make an admin
export interface Confirmation {
  /** Strings, or nodes when they name someone (format.ts's sentence keeps each name isolated). */
  title: string | Node;
  text: string | Node;
  action: string;
  danger: boolean;
  run: () => Promise<void>;
  /** Where focus returns on Cancel, when not the control that was focused. */
  returnTo?: HTMLElement;
}
const confirmDialog = byId<HTMLDialogElement>("confirm-dialog");
const confirmForm = byId<HTMLFormElement>("confirm-form");
let confirmation: Confirmation | null = null;

/** Asks before a change that is hard to take back; Cancel has the focus, so Enter twice changes nothing. */
export function askConfirmation(next: Confirmation): void {
  confirmation = next;
  setMessage(byId("confirm-error"), null);
  byId("confirm-title").replaceChildren(next.title);
  byId("confirm-text").replaceChildren(next.text);
  const submit = byId<HTMLButtonElement>("confirm-submit");
  submit.textContent = next.action;
  submit.className = next.danger ? "button danger" : "button primary";
  openDialog(confirmDialog, byId("confirm-cancel"), next.returnTo);
}

/** Closes the confirmation once its change is done (a refusal keeps it open, with the reason). */
export function closeConfirmation(): void {
  closeDialog(confirmDialog);
}

export function setupConfirmation(): void {
  setupDialog(confirmDialog);
  handleSubmit(confirmForm, byId("confirm-error"), async () => {
    if (!confirmation) return;
    await confirmation.run();
  });
}
