// The success message, floating at the bottom of the page with its dismiss button.
import { byId, show } from "./dom.ts";
import { focusPanelHeading } from "./views.ts";

const toast = byId("toast");
const toastText = byId("toast-text");

/** A success message, floating at the bottom: it never moves the table, and goes with the next tab. */
export function flash(message: string | null): void {
  toastText.textContent = message ?? "";
  show(toast, Boolean(message));
}

export function setupToast(): void {
  byId("toast-close").addEventListener("click", () => {
    // The dismiss button had the focus: hand it to the panel, not to <body>.
    flash(null);
    focusPanelHeading();
  });
}
