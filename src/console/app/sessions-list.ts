// A list of sessions as both My account and an admin's Sessions dialog show it: the device, "This device" on the
// current one, the address and the times, and a "Sign out" button for every session but the current one. Also how
// a session is named in messages, and what a refusal to end one means. No state; every value goes in as text.
import { ApiError, type Session } from "./api.ts";
import { h } from "./dom.ts";
import { sentence, shortDateTimeFormat, timeElement } from "./format.ts";
import { NOTHING_SIGNED_OUT, plainWords } from "./messages.ts";

/** "Chrome on Windows, 203.0.113.7": how a session is named in a button's name and a message (text, not markup). */
export function sessionLabel(session: Session): string {
  return session.ip ? `${session.device}, ${session.ip}` : session.device;
}

function fact(term: string, value: Node | string): HTMLElement {
  return h("div", {}, [h("dt", { text: term }), h("dd", {}, [value])]);
}

function sessionItem(session: Session, signOut: (session: Session) => void): HTMLLIElement {
  const head = h("div", { className: "session-head" }, [h("bdi", { className: "session-device", text: session.device })]);
  if (session.current) head.append(h("span", { className: "badge this-device", text: "This device" }));
  const item = h("li", { className: "session-item", attrs: { "data-session-id": session.id } }, [
    head,
    h("dl", { className: "session-facts" }, [
      fact("Address", session.ip === null ? "Not recorded" : h("bdi", { text: session.ip })),
      fact("Signed in", timeElement(session.created_at, shortDateTimeFormat)),
      fact("Last seen", timeElement(session.last_seen_at, shortDateTimeFormat)),
      fact("Expires", timeElement(session.expires_at, shortDateTimeFormat)),
    ]),
  ]);
  if (session.current) {
    item.classList.add("is-current");
    // Ending the session this tab uses would sign you out without a word: that is the Sign out button's job.
    return item;
  }
  const signedIn = shortDateTimeFormat.format(new Date(session.created_at));
  const button = h("button", {
    className: "button secondary small session-sign-out",
    text: "Sign out",
    attrs: { type: "button", "aria-label": `Sign out ${sessionLabel(session)}, signed in ${signedIn}` },
  });
  button.addEventListener("click", () => signOut(session));
  item.append(button);
  return item;
}

/**
 * Shows `sessions` in `list` (a <ul>). A "Sign out" button that had the focus and is gone (its session ended) hands
 * it to the one now in its place, or the last one, else to `fallback()`: focus never falls to <body>.
 */
export function renderSessions(list: HTMLElement, sessions: Session[], signOut: (session: Session) => void, fallback: () => HTMLElement | null): void {
  const buttons = () => [...list.querySelectorAll<HTMLButtonElement>(".session-sign-out")];
  const focusedIndex = buttons().findIndex((button) => button === document.activeElement);
  list.replaceChildren(...sessions.map((session) => sessionItem(session, signOut)));
  if (focusedIndex < 0) return;
  const after = buttons();
  (after[Math.min(focusedIndex, after.length - 1)] ?? fallback())?.focus();
}

/** What a refused "Sign out" of one session means: gone already (404: the list is refreshed), or the server's reason. */
export function endSessionProblem(error: ApiError, session: Session): DocumentFragment | string {
  if (error.status === 404 && /session/i.test(error.detail)) {
    return sentence`${sessionLabel(session)} had already ended (signed out or expired); the list is up to date now.`;
  }
  if (error.status === 0) return NOTHING_SIGNED_OUT;
  return plainWords(error.detail);
}
