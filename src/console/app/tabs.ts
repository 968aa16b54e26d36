// Moving between the tabs (Accounts, Activity, My account): the nav links, links to someone's activity, and
// Back and Forward. A tab's module gives what it needs through defineTab(); this module imports none of them.
import { SessionEnded } from "./api.ts";
import { h, show } from "./dom.ts";
import { closeAllDialogs } from "./dialogs.ts";
import { me } from "./me.ts";
import { place, remember, rereadPlace, type Place, type Tab } from "./place.ts";
import { flash } from "./toast.ts";
import { panels } from "./views.ts";

/** What a tab's module does when its tab is shown, and when the URL changes under it. */
export interface TabContent {
  /** Fetches and renders the tab's data (each time the tab is shown). */
  load(): Promise<void>;
  /** Puts the URL's place into the tab's filter controls. */
  sync(): void;
  /** On Back/Forward while the tab is on show: re-renders without loading and returns true, or returns false. */
  redraw?(before: Place): boolean;
}

const contents: Partial<Record<Tab, TabContent>> = {};

export function defineTab(tab: Tab, content: TabContent): void {
  contents[tab] = content;
}

/** Puts the URL's filters into the filter controls of every tab. */
export function syncControls(): void {
  for (const content of Object.values(contents)) content.sync();
}

const TAB_TITLES: Record<Tab, string> = { accounts: "Accounts", activity: "Activity", profile: "My account" };

/** Shows `tab` (agents only ever see their own account) and loads what it needs. */
export async function showTab(tab: Tab, focus = true): Promise<void> {
  if (me?.role !== "admin") tab = "profile";
  const changed = panels[tab].hidden;
  for (const [key, panel] of Object.entries(panels)) show(panel, key === tab);
  for (const link of document.querySelectorAll<HTMLAnchorElement>("#admin-nav [data-tab]")) {
    if (link.dataset.tab === tab) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  // A success message is about the tab it was said on.
  if (changed) flash(null);
  document.title = `${TAB_TITLES[tab]} · moxie console`;
  if (focus) panels[tab].querySelector<HTMLElement>("h1")?.focus();
  try {
    const content = contents[tab];
    if (content) await content.load();
  } catch (error) {
    if (!(error instanceof SessionEnded)) throw error;
  }
}

/** A link to someone's activity: a real link (open in a new tab works), followed in place on a plain click. */
export function activityLink(person: { id: number }, text: string | Node, accessibleName?: string, className = "person-link"): HTMLAnchorElement {
  const link = h("a", { className, attrs: { href: `?tab=activity&person=${person.id}` } }, [text]);
  if (accessibleName) link.setAttribute("aria-label", accessibleName);
  link.addEventListener("click", (event) => {
    if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    remember({ tab: "activity", person: person.id, type: "", activityPage: 0 });
    syncControls();
    void showTab("activity");
  });
  return link;
}

export function setupTabs(): void {
  for (const link of document.querySelectorAll<HTMLAnchorElement>("#admin-nav [data-tab]")) {
    link.addEventListener("click", (event) => {
      if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
      event.preventDefault();
      const tab = link.dataset.tab as Tab;
      remember({ tab });
      void showTab(tab);
    });
  }
  for (const heading of document.querySelectorAll<HTMLElement>(".panel h1")) heading.tabIndex = -1;

  // Back and Forward: show the place the URL names; focus moves only when the tab changes.
  window.addEventListener("popstate", () => {
    if (!me) {
      rereadPlace();
      return;
    }
    const before = rereadPlace();
    // Back means leaving what was on screen, an open dialog included (its typed values stay in its form).
    closeAllDialogs();
    syncControls();
    const tab = place.tab ?? (me.role === "admin" ? "accounts" : "profile");
    if (!panels[tab].hidden && contents[tab]?.redraw?.(before)) return;
    void showTab(tab, panels[tab].hidden);
  });
}
