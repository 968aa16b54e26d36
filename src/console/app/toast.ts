// The success message, floating at the bottom of the page with its dismiss button.
import { byId, show } from "./dom.ts";
import { focusPanelHeading } from "./views.ts";

const toast = byId("toast");
const toastText = byId("toast-text");

/**
 * A success message, floating at the bottom: it never moves the table, and goes with the next tab. A message
 * that names people is a node (format.ts's sentence), so each name stays isolated from the words around it.
 */
export function flash(message: string | Node | null): void {
  toastText.replaceChildren(message ?? "");
  show(toast, message !== null && message !== "");
}

export function setupToast(): void {
  byId("toast-close").addEventListener("click", () => {
    // The dismiss button had the focus: hand it to the panel, not to <body>.
    flash(null);
    focusPanelHeading();
  });
}
