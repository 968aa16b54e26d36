// Who is signed in on this tab (the account from /auth/me), and the top bar and My account panel that show it.
import type { PublicUser } from "./api.ts";
import { byId } from "./dom.ts";
import { dateFormat, emailText, isolate, roleName, timeElement } from "./format.ts";
import { setUsername } from "./forms.ts";

/** The signed-in account, or null. An import is read-only: change it with setMe(). */
export let me: PublicUser | null = null;

export function setMe(account: PublicUser | null): void {
  me = account;
}

export function renderMe(): void {
  if (!me) return;
  byId("who-name").textContent = me.name;
  byId("who-email").textContent = me.email;
  const roleBadge = byId("who-role");
  roleBadge.textContent = roleName(me.role);
  roleBadge.className = `badge role-${me.role}`;
  byId("me-name").replaceChildren(isolate(me.name));
  byId("me-email").replaceChildren(emailText(me.email));
  byId("me-role").textContent = roleName(me.role);
  byId("me-created").replaceChildren(timeElement(me.created_at, dateFormat));
  setUsername(byId<HTMLFormElement>("own-password-form"), me.email);
  document.title = "moxie console";
}
