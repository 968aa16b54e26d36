// "Page n of m" under the accounts and activity tables, and how many rows a page holds.
import { byId, show } from "./dom.ts";
import { focusPanelHeading } from "./views.ts";

export const PAGE_SIZE = 25;

/** Shows "Page n of m"; a pager button that has just become disabled hands its focus to the other one. */
export function renderPager(which: "accounts" | "activity", index: number, pages: number): void {
  const ids =
    which === "accounts"
      ? { pager: "accounts-pager", label: "page-label", prev: "page-prev", next: "page-next" }
      : { pager: "activity-pager", label: "activity-page-label", prev: "activity-prev", next: "activity-next" };
  const previous = byId<HTMLButtonElement>(ids.prev);
  const next = byId<HTMLButtonElement>(ids.next);
  const hadFocus = document.activeElement === previous ? previous : document.activeElement === next ? next : null;
  show(byId(ids.pager), pages > 1);
  byId(ids.label).textContent = `Page ${index + 1} of ${pages}`;
  previous.disabled = index === 0;
  next.disabled = index + 1 >= pages;
  if (hadFocus?.disabled) {
    const other = hadFocus === next ? previous : next;
    if (!other.disabled && pages > 1) other.focus();
    else focusPanelHeading();
  }
}
