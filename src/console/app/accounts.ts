// The Accounts tab: every account matching the filters, loaded whole and then sorted (accounts-sort.ts) and
// paged here; the filter and page controls; and each row's actions, which open the account and sessions dialogs.
import { ApiError, ignoreSessionEnded, listAllAccounts, type PublicUser } from "./api.ts";
import { openActivation, openEdit, openReset } from "./account-dialogs.ts";
import { openAccountSessions } from "./account-sessions.ts";
import { renderSortState, setupSorting, sortAccounts } from "./accounts-sort.ts";
import { byId, field, h, setMessage, show } from "./dom.ts";
import { dateFormat, emailText, initials, roleName, shortDateTimeFormat, thisYearDateTimeFormat, timeElement } from "./format.ts";
import { me } from "./me.ts";
import { plainWords } from "./messages.ts";
import { PAGE_SIZE, renderPager } from "./pager.ts";
import { amendPlace, place, remember, type Place } from "./place.ts";
import { activityLink, type TabContent } from "./tabs.ts";
import { focusPanelHeading } from "./views.ts";

const filtersForm = byId<HTMLFormElement>("filters");
const accountsError = byId("accounts-error");

let accounts: PublicUser[] = [];
let accountsLoaded = false;
let loadSequence = 0;

function accountFilterParams(): URLSearchParams {
  const params = new URLSearchParams();
  if (place.q.trim() !== "") params.set("q", place.q.trim());
  if (place.role) params.set("role", place.role);
  if (place.status) params.set("is_active", String(place.status === "active"));
  return params;
}

export async function loadAccounts(): Promise<void> {
  const sequence = ++loadSequence;
  try {
    const data = await listAllAccounts(accountFilterParams());
    if (sequence !== loadSequence) return;
    setMessage(accountsError, null);
    show(byId("accounts-card"), true);
    accounts = data;
    accountsLoaded = true;
    renderAccounts();
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    if (sequence !== loadSequence) return;
    // The rows on show belong to the filters before: under an error about these filters they would pass for
    // its answer. They go, with their count and pager, until a load succeeds.
    forgetAccounts();
    byId("accounts-body").replaceChildren();
    byId("accounts-count").textContent = "";
    show(byId("accounts-card"), false);
    show(byId("accounts-pager"), false);
    setMessage(accountsError, `The accounts could not be loaded. ${plainWords(error.detail)}`);
  }
}

/** Fetches every matching account afresh and shows them; returns them all in the order shown (for the export). */
export async function refreshAccounts(): Promise<PublicUser[]> {
  accounts = await listAllAccounts(accountFilterParams());
  accountsLoaded = true;
  setMessage(accountsError, null);
  show(byId("accounts-card"), true);
  renderAccounts();
  return sortAccounts(accounts);
}

/** Forgets the loaded accounts (signing out: the next person must not see them, even for a moment). */
export function forgetAccounts(): void {
  accounts = [];
  accountsLoaded = false;
}

function roleBadge(role: PublicUser["role"]): HTMLElement {
  return h("span", { className: `badge role-${role}`, text: roleName(role) });
}

function statusBadge(active: boolean): HTMLElement {
  return h("span", { className: `status ${active ? "is-active" : "is-inactive"}`, text: active ? "Active" : "Inactive" });
}

function actionButton(label: string, accessibleName: string, onClick: () => void, className = "link-button"): HTMLButtonElement {
  const button = h("button", { className, text: label, attrs: { type: "button", "aria-label": accessibleName } });
  button.addEventListener("click", onClick);
  return button;
}

function lastLoginCell(account: PublicUser): HTMLElement {
  const cell = h("td", { className: "cell-date cell-last-in", attrs: { "data-label": "Last in" } });
  if (account.last_login_at === undefined) cell.append(h("span", { text: "—", attrs: { title: "This server does not report sign-ins" } }));
  else if (account.last_login_at === null) cell.append("Never");
  else {
    const sameYear = new Date(account.last_login_at).getFullYear() === new Date().getFullYear();
    cell.append(timeElement(account.last_login_at, sameYear ? thisYearDateTimeFormat : shortDateTimeFormat));
  }
  return cell;
}

function accountRow(account: PublicUser): HTMLTableRowElement {
  const self = account.id === me?.id;
  const actions = h("div", { className: "row-actions" }, [
    actionButton("Edit", `Edit ${account.name}`, () => openEdit(account)),
    self
      ? actionButton("Change password", "Change password (your own)", () => openReset(account))
      : actionButton("Set password", `Set password for ${account.name}`, () => openReset(account)),
    activityLink(account, "Activity", `Activity of ${account.name}`, "link-button"),
  ]);
  // Your own sessions are under My account, where this tab's is marked and cannot be ended by a stray click.
  if (!self) {
    actions.append(
      actionButton("Sessions", `Sessions of ${account.name}`, () => openAccountSessions(account)),
      account.is_active
        ? actionButton("Deactivate", `Deactivate ${account.name}`, () => openActivation(account, false), "link-button danger")
        : actionButton("Reactivate", `Reactivate ${account.name}`, () => openActivation(account, true)),
    );
  }
  const name = h("div", { className: "name" }, [
    h("span", { className: "avatar", text: initials(account.name), attrs: { "aria-hidden": "true" } }),
    // <bdi>: a right-to-left name reads in its own direction without reordering "you" beside it.
    h("bdi", { className: "name-text", text: account.name }),
  ]);
  if (self) name.append(h("span", { className: "you", text: "you" }));
  const row = h("tr", { attrs: { "data-email": account.email, "data-id": String(account.id) } }, [
    h("td", { className: "cell-name" }, [name]),
    h("td", { className: "cell-email", attrs: { "data-label": "Email" } }, [emailText(account.email)]),
    h("td", { attrs: { "data-label": "Role" } }, [roleBadge(account.role)]),
    h("td", { attrs: { "data-label": "Status" } }, [statusBadge(account.is_active)]),
    lastLoginCell(account),
    h("td", { className: "cell-date", attrs: { "data-label": "Created" } }, [timeElement(account.created_at, dateFormat)]),
    h("td", { className: "cell-actions" }, [actions]),
  ]);
  if (!account.is_active) row.classList.add("inactive");
  return row;
}

function renderAccounts(): void {
  // After a failed load there is nothing to show in any order (the error says why).
  if (!accountsLoaded) return renderSortState();
  const body = byId<HTMLTableSectionElement>("accounts-body");
  const pages = Math.max(1, Math.ceil(accounts.length / PAGE_SIZE));
  if (place.page >= pages) amendPlace({ page: pages - 1 });
  const shown = sortAccounts(accounts).slice(place.page * PAGE_SIZE, (place.page + 1) * PAGE_SIZE);
  const rows = shown.map(accountRow);

  // A re-render replaces the row buttons: keep keyboard focus on the same row and action if still there,
  // else on the row that took its place (a reactivated account leaves the "Inactive" list), else the heading.
  const active = document.activeElement;
  const focused = active instanceof HTMLElement && body.contains(active) ? active : null;
  const focusedRow = focused?.closest("tr");
  const focusedId = focusedRow?.dataset.id;
  const focusedRowIndex = focusedRow ? [...body.rows].indexOf(focusedRow as HTMLTableRowElement) : -1;
  const focusedLabel = focused?.getAttribute("aria-label") ?? "";
  const focusedVerb = focused?.textContent ?? "";
  const focusedIndex = focused && focusedRow ? [...focusedRow.querySelectorAll("button, a")].indexOf(focused) : -1;
  body.replaceChildren(...rows);
  if (focused) {
    const sameRow = body.querySelector<HTMLTableRowElement>(`tr[data-id="${focusedId}"]`);
    const row = sameRow ?? (rows.length > 0 ? rows[Math.min(focusedRowIndex, rows.length - 1)] : null);
    const controls = row ? [...row.querySelectorAll<HTMLElement>("button, a")] : [];
    const target = sameRow
      ? (controls.find((control) => control.getAttribute("aria-label") === focusedLabel) ?? controls[focusedIndex] ?? controls[0])
      : (controls.find((control) => control.textContent === focusedVerb) ?? controls[0]);
    if (target) target.focus();
    else focusPanelHeading();
  }

  renderSortState();
  show(byId("accounts-empty"), accounts.length === 0);
  const filtered = place.q.trim() !== "" || place.role !== "" || place.status !== "";
  const total = accounts.length;
  byId("accounts-count").textContent = `${total} ${total === 1 ? "account" : "accounts"}${filtered ? " match" : ""}`;
  renderPager("accounts", place.page, pages);
}

let searchTimer: ReturnType<typeof setTimeout> | undefined;
function reloadFromFilters(delay: number, mode: "push" | "replace"): void {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => {
    remember(
      {
        q: field<HTMLInputElement>(filtersForm, "q").value,
        role: field<HTMLSelectElement>(filtersForm, "role").value as Place["role"],
        status: field<HTMLSelectElement>(filtersForm, "status").value as Place["status"],
        page: 0,
      },
      mode,
    );
    void loadAccounts().catch(ignoreSessionEnded);
  }, delay);
}

/** The Accounts tab as tabs.ts sees it. */
export const accountsTab: TabContent = {
  load: loadAccounts,
  sync() {
    field<HTMLInputElement>(filtersForm, "q").value = place.q;
    field<HTMLSelectElement>(filtersForm, "role").value = place.role;
    field<HTMLSelectElement>(filtersForm, "status").value = place.status;
  },
  // Only the order or the page changed: the loaded list is still the right one.
  redraw(before) {
    const sameFilters = before.q === place.q && before.role === place.role && before.status === place.status;
    if (!sameFilters || !accountsLoaded) return false;
    renderAccounts();
    return true;
  },
};

export function setupAccounts(): void {
  // Typing replaces the history entry (Back should not step through every letter); a choice adds one.
  field<HTMLInputElement>(filtersForm, "q").addEventListener("input", () => reloadFromFilters(250, "replace"));
  field<HTMLSelectElement>(filtersForm, "role").addEventListener("change", () => reloadFromFilters(0, "push"));
  field<HTMLSelectElement>(filtersForm, "status").addEventListener("change", () => reloadFromFilters(0, "push"));
  filtersForm.addEventListener("submit", (event) => {
    event.preventDefault();
    reloadFromFilters(0, "replace");
  });

  setupSorting(renderAccounts);

  byId("page-prev").addEventListener("click", () => {
    remember({ page: Math.max(0, place.page - 1) });
    renderAccounts();
  });
  byId("page-next").addEventListener("click", () => {
    remember({ page: place.page + 1 });
    renderAccounts();
  });
}
