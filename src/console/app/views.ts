// The page's three views (loading, sign-in, the signed-in app) and the app's tab panels, and where focus goes
// when what had it is gone.
import { byId, show } from "./dom.ts";
import type { Tab } from "./place.ts";

const views = {
  loading: byId("view-loading"),
  signin: byId("view-signin"),
  app: byId("view-app"),
};

export function showView(name: keyof typeof views): void {
  for (const [key, element] of Object.entries(views)) show(element, key === name);
}

/** True while someone is signed in and the app (not the sign-in form) is on show. */
export function appIsShown(): boolean {
  return !views.app.hidden;
}

export const panels: Record<Tab, HTMLElement> = {
  accounts: byId("panel-accounts"),
  activity: byId("panel-activity"),
  profile: byId("panel-profile"),
};

/** Where focus goes when what had it is gone: the heading of the panel on show. */
export function focusPanelHeading(): void {
  const panel = Object.values(panels).find((element) => !element.hidden);
  panel?.querySelector<HTMLElement>("h1")?.focus();
}
