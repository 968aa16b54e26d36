// The order of the accounts table: how each column compares, and the two controls that choose it, the column
// headers (wide screens) and the "Sort by" select with its direction (narrow screens, where the accounts are
// cards and the headers are not shown). Both write the same URL state (place.sort, place.descending).
import type { PublicUser } from "./api.ts";
import { byId } from "./dom.ts";
import { collator, roleName } from "./format.ts";
import { place, remember, type SortKey } from "./place.ts";

function compareAccounts(a: PublicUser, b: PublicUser, key: SortKey): number {
  switch (key) {
    case "name":
      return collator.compare(a.name, b.name);
    case "email":
      return collator.compare(a.email, b.email);
    case "role":
      return collator.compare(roleName(a.role), roleName(b.role));
    case "status":
      return Number(b.is_active) - Number(a.is_active);
    case "last_login":
      // Never signed in sorts as the oldest.
      return (a.last_login_at ?? "").localeCompare(b.last_login_at ?? "");
    case "created":
      return a.created_at.localeCompare(b.created_at) || a.id - b.id;
  }
}

/** `accounts` in the order the URL names (ties by id, so the order is stable). */
export function sortAccounts(accounts: readonly PublicUser[]): PublicUser[] {
  const direction = place.descending ? -1 : 1;
  return [...accounts].sort((a, b) => direction * compareAccounts(a, b, place.sort) || direction * (a.id - b.id));
}

/** How each column's two directions read in the select: [ascending, descending]. */
const DIRECTION_WORDS: Record<SortKey, [string, string]> = {
  name: ["A to Z", "Z to A"],
  email: ["A to Z", "Z to A"],
  role: ["Admins first", "Agents first"],
  status: ["Active first", "Inactive first"],
  last_login: ["Longest ago first", "Most recent first"],
  created: ["Oldest first", "Newest first"],
};

const sortKey = byId<HTMLSelectElement>("sort-key");
const sortOrder = byId<HTMLSelectElement>("sort-order");

/** Shows the order on show: aria-sort on the header that sorts, and the select's choice and its words. */
export function renderSortState(): void {
  for (const header of document.querySelectorAll<HTMLTableCellElement>("#accounts-table th[data-sort]")) {
    if (header.dataset.sort === place.sort) header.setAttribute("aria-sort", place.descending ? "descending" : "ascending");
    else header.removeAttribute("aria-sort");
  }
  sortKey.value = place.sort;
  const [ascending, descending] = DIRECTION_WORDS[place.sort];
  sortOrder.options[0]!.textContent = ascending;
  sortOrder.options[1]!.textContent = descending;
  sortOrder.value = place.descending ? "descending" : "ascending";
}

/** Wires the headers and the select; `redraw` shows the accounts again in the new order. */
export function setupSorting(redraw: () => void): void {
  for (const header of document.querySelectorAll<HTMLTableCellElement>("#accounts-table th[data-sort]")) {
    header.querySelector("button")?.addEventListener("click", () => {
      const key = header.dataset.sort as SortKey;
      remember({ sort: key, descending: place.sort === key ? !place.descending : false, page: 0 });
      redraw();
    });
  }
  // A new column starts ascending, as a header click does; the direction select turns it around.
  sortKey.addEventListener("change", () => {
    remember({ sort: sortKey.value as SortKey, descending: false, page: 0 });
    redraw();
  });
  sortOrder.addEventListener("change", () => {
    remember({ descending: sortOrder.value === "descending", page: 0 });
    redraw();
  });
}
