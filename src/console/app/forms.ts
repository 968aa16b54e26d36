// Every form's submit: the button busy while it runs, a refusal shown under the form with its field marked and
// focused, and what was typed kept.
import { ApiError, SessionEnded } from "./api.ts";
import { field, setMessage } from "./dom.ts";
import { plainWords } from "./messages.ts";

const FIELD_NAMES = ["name", "email", "role", "password", "new_password", "current_password"];

/** The form field a detail sentence is about: "email must be…" → email; "Email already registered" → email. */
function fieldOf(detail: string): string | undefined {
  const first = /^([a-z_]+)\b/i.exec(detail)?.[1]?.toLowerCase();
  if (first && FIELD_NAMES.includes(first)) return first;
  if (/^current password/i.test(detail)) return "current_password";
  if (/^new password/i.test(detail)) return "new_password";
  return undefined;
}

export function clearInvalid(form: HTMLFormElement): void {
  for (const element of form.querySelectorAll<HTMLElement>("[aria-invalid]")) {
    element.removeAttribute("aria-invalid");
    const describedBy = (element.getAttribute("aria-describedby") ?? "")
      .split(" ")
      .filter((id) => id !== "" && !id.endsWith("-error"));
    if (describedBy.length > 0) element.setAttribute("aria-describedby", describedBy.join(" "));
    else element.removeAttribute("aria-describedby");
  }
}

/** Shows `detail` under the form and marks (and focuses) the field it names; the typed values stay. */
function showFormError(form: HTMLFormElement, errorElement: HTMLElement, detail: string, fieldName?: string): void {
  setMessage(errorElement, plainWords(detail));
  const name = fieldName ?? fieldOf(detail);
  const target = name ? form.elements.namedItem(name) : null;
  if ((target instanceof HTMLInputElement || target instanceof HTMLSelectElement) && !target.disabled) {
    target.setAttribute("aria-invalid", "true");
    const describedBy = new Set((target.getAttribute("aria-describedby") ?? "").split(" ").filter(Boolean));
    describedBy.add(errorElement.id);
    target.setAttribute("aria-describedby", [...describedBy].join(" "));
    target.focus();
  }
}

/** A problem found before asking the server. */
export class FormProblem extends Error {
  constructor(
    message: string,
    readonly fieldName?: string,
  ) {
    super(message);
  }
}

/**
 * Runs `action` on submit with the submit button busy. An error is shown next to the form, which keeps
 * everything typed; only the action itself resets the form, on success.
 */
export function handleSubmit(form: HTMLFormElement, errorElement: HTMLElement, action: () => Promise<void>, before?: () => void): void {
  let busy = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (busy) return;
    busy = true;
    // Disabling the focused button drops focus to <body>; it goes back there unless the outcome moved it.
    const focusedBefore = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    const buttons = [...form.querySelectorAll<HTMLButtonElement>("button[type=submit]")];
    for (const button of buttons) {
      button.disabled = true;
      button.setAttribute("aria-busy", "true");
    }
    clearInvalid(form);
    setMessage(errorElement, null);
    before?.();
    try {
      await action();
    } catch (error) {
      if (error instanceof SessionEnded) return;
      if (error instanceof FormProblem) showFormError(form, errorElement, error.message, error.fieldName);
      else if (error instanceof ApiError) showFormError(form, errorElement, error.detail);
      else showFormError(form, errorElement, "Something went wrong in the page; reload it and try again");
    } finally {
      busy = false;
      for (const button of buttons) {
        button.disabled = false;
        button.removeAttribute("aria-busy");
      }
      const lost = document.activeElement === null || document.activeElement === document.body;
      // Still on the page and shown (a sign-in that succeeded has moved on to another view, which sets focus).
      if (lost && focusedBefore?.isConnected && focusedBefore.getClientRects().length > 0) focusedBefore.focus();
    }
  });
}

/**
 * Fills a password form's hidden username field (autocomplete="username") with whose password it is, so a
 * password manager ties the password to that account. As the default value, so a form reset keeps it.
 */
export function setUsername(form: HTMLFormElement, email: string): void {
  const username = field<HTMLInputElement>(form, "username");
  username.defaultValue = email;
  username.value = email;
}

export function requireFilled(form: HTMLFormElement, names: Record<string, string>): void {
  for (const [name, label] of Object.entries(names)) {
    if (field<HTMLInputElement>(form, name).value.trim() === "") throw new FormProblem(`${label} is required`, name);
  }
}

/** Typing in a field marked invalid takes the mark away (the message stays until the next submit). */
export function clearInvalidOnInput(): void {
  for (const form of document.querySelectorAll<HTMLFormElement>("form")) {
    form.addEventListener("input", (event) => {
      const target = event.target;
      if (target instanceof HTMLElement && target.getAttribute("aria-invalid")) target.removeAttribute("aria-invalid");
    });
  }
}
