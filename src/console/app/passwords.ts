// Passwords in the page: the length rule checked before asking the server, Show/Hide and Generate beside every
// password field, and changing your own password (My account, or your own row's dialog).
import { api, saveToken } from "./api.ts";
import { byId, field, h } from "./dom.ts";
import { FormProblem, handleSubmit, requireFilled } from "./forms.ts";
import { OWN_PASSWORD_CHANGED } from "./messages.ts";
import { flash } from "./toast.ts";

export function checkNewPassword(value: string, fieldName: string, label: string): void {
  const length = [...value.normalize("NFC")].length; // characters (code points), as the server counts them
  if (length < 8 || length > 128) throw new FormProblem(`${label} must be 8 to 128 characters`, fieldName);
}

/** No look-alikes (0/O, 1/l/I): a generated password is often read out or typed from a screen. */
const PASSWORD_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
/** 20 characters from 56 is about 116 bits. */
const GENERATED_PASSWORD_LENGTH = 20;

/** A random password from the browser's CSPRNG, every character equally likely (rejection sampling). */
function generatePassword(): string {
  const limit = 256 - (256 % PASSWORD_ALPHABET.length);
  let password = "";
  while (password.length < GENERATED_PASSWORD_LENGTH) {
    for (const byte of crypto.getRandomValues(new Uint8Array(32))) {
      if (byte < limit && password.length < GENERATED_PASSWORD_LENGTH) password += PASSWORD_ALPHABET[byte % PASSWORD_ALPHABET.length];
    }
  }
  return password;
}

const revealButtons: HTMLButtonElement[] = [];

function setRevealed(button: HTMLButtonElement, input: HTMLInputElement, revealed: boolean): void {
  input.type = revealed ? "text" : "password";
  // The name says what a press does ("Show password" / "Hide password"), as GOV.UK's password input does.
  button.firstChild!.textContent = revealed ? "Hide" : "Show";
}

/** Hides every password again (on a form reset, a dialog closing, a sign-out). */
export function hideAllPasswords(): void {
  for (const button of revealButtons) {
    const input = document.getElementById(button.getAttribute("aria-controls") ?? "");
    if (input instanceof HTMLInputElement) setRevealed(button, input, false);
  }
}

/** Every password field gets "Show"; those marked data-generate also get "Generate". */
export function enhancePasswordFields(): void {
  for (const input of document.querySelectorAll<HTMLInputElement>("input[type=password]")) {
    const wrap = h("div", { className: "password-wrap" });
    input.replaceWith(wrap);
    wrap.append(input);
    // The button's name comes from its text ("Show password"), so getByLabel("Password") still finds the field.
    const reveal = h("button", { className: "button secondary small reveal", attrs: { type: "button", "aria-controls": input.id } }, [
      h("span", { text: "Show" }),
      h("span", { className: "visually-hidden", text: " password" }),
    ]);
    reveal.addEventListener("click", () => setRevealed(reveal, input, input.type === "password"));
    revealButtons.push(reveal);
    wrap.append(reveal);
    if (input.hasAttribute("data-generate")) {
      const generate = h("button", { className: "button secondary small generate", attrs: { type: "button", "aria-controls": input.id } }, [
        h("span", { text: "Generate" }),
        h("span", { className: "visually-hidden", text: " a password" }),
      ]);
      generate.addEventListener("click", () => {
        const password = generatePassword();
        input.value = password;
        input.removeAttribute("aria-invalid");
        const repeat = input.dataset.repeat ? document.getElementById(input.dataset.repeat) : null;
        if (repeat instanceof HTMLInputElement) repeat.value = password;
        // Shown and selected, ready to copy and hand over.
        setRevealed(reveal, input, true);
        input.focus();
        input.select();
      });
      wrap.append(generate);
    }
    input.form?.addEventListener("reset", () => setRevealed(reveal, input, false));
  }
}

/**
 * PUT /auth/password answers with a fresh token for this tab (every other token of the account stops). The
 * console is served by the same binary as the API, so there is no older server to fall back for.
 */
export async function changeOwnPassword(current: string, next: string): Promise<void> {
  const { data } = await api<{ access_token: string }>("PUT", "/auth/password", { current_password: current, new_password: next });
  saveToken(data.access_token);
}

/** The "Change your password" form under My account; `changed` runs after a change (the other sessions have ended). */
export function setupOwnPassword(changed: () => void): void {
  const ownForm = byId<HTMLFormElement>("own-password-form");
  handleSubmit(ownForm, byId("own-password-error"), async () => {
    flash(null);
    requireFilled(ownForm, { current_password: "Current password", new_password: "New password" });
    const current = field<HTMLInputElement>(ownForm, "current_password").value;
    const next = field<HTMLInputElement>(ownForm, "new_password").value;
    checkNewPassword(next, "new_password", "New password");
    if (field<HTMLInputElement>(ownForm, "confirm_password").value !== next) {
      throw new FormProblem("The two new passwords do not match", "confirm_password");
    }
    await changeOwnPassword(current, next);
    ownForm.reset();
    flash(OWN_PASSWORD_CHANGED);
    changed();
  });
}
