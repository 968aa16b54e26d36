// The Activity tab: the audit log a page at a time, newest first, filtered by person and event type, with
// every event, refusal reason and change in words.
import { api, ApiError, ignoreSessionEnded, listAllAccounts, type AuditEvent, type PublicUser } from "./api.ts";
import { byId, field, h, setMessage, show } from "./dom.ts";
import { collator, dateTimeFormat, emailText, isolate, isolatedText, roleName, timeElement } from "./format.ts";
import { plainWords } from "./messages.ts";
import { PAGE_SIZE, renderPager } from "./pager.ts";
import { place, remember } from "./place.ts";
import { activityLink, type TabContent } from "./tabs.ts";

const EVENT_NAMES: Record<string, string> = {
  "login.succeeded": "Signed in",
  "login.failed": "Sign-in refused",
  logout: "Signed out",
  "password.changed": "Changed own password",
  "password.reset": "Password set by admin",
  "password.change_failed": "Password change refused",
  "user.created": "Account created",
  "user.updated": "Account edited",
  "user.deactivated": "Account deactivated",
  "user.activated": "Account reactivated",
  "user.unlocked": "Sign-in unlocked",
  "session.ended": "Session ended",
};

const REASONS: Record<string, string> = {
  wrong_password: "wrong password",
  unknown_email: "unknown email",
  inactive: "account inactive",
  throttled: "too many attempts",
  busy: "server busy",
  email_normalized: "stored email brought to one spelling when moxie started",
  // Why a session ended (session.ended), and who signed an account out everywhere (logout).
  self: "signed out",
  others: "signed out of the other sessions",
  global: "signed out everywhere",
  admin: "by an admin",
  password_change: "own password changed",
  deactivation: "account deactivated",
  reset: "password set for the account",
  limit: "too many sessions: the oldest ended",
  restore: "database restored",
  cli: "at the host (moxie sign-out)",
};

const CHANGE_FIELDS: Record<string, string> = { name: "Name", email: "Email", role: "Role", is_active: "Status" };

const activityFilters = byId<HTMLFormElement>("activity-filters");

/** A value from an audit event's `changes`, in words: roles by name, anything else as plain text. */
function changeValue(fieldName: string, value: unknown): string {
  if (value === null || value === undefined || value === "") return "(none)";
  if (fieldName === "role" && typeof value === "string") return roleName(value);
  if (fieldName === "is_active" && typeof value === "boolean") return value ? "Active" : "Inactive";
  return typeof value === "string" ? value : JSON.stringify(value);
}

let activitySequence = 0;

function renderPersonFilter(list: PublicUser[]): void {
  const select = field<HTMLSelectElement>(activityFilters, "person");
  const options = [h("option", { text: "Everyone", attrs: { value: "" } })];
  for (const person of [...list].sort((a, b) => collator.compare(a.name, b.name))) {
    options.push(h("option", { text: `${isolatedText(person.name)} (${isolatedText(person.email)})`, attrs: { value: String(person.id) } }));
  }
  if (place.person !== null && !list.some((person) => person.id === place.person)) {
    options.push(h("option", { text: `Account #${place.person}`, attrs: { value: String(place.person) } }));
  }
  select.replaceChildren(...options);
  select.value = place.person === null ? "" : String(place.person);
}

/** What happened: the event's name, how many times, the refusal's reason and what an edit changed. */
function eventWhat(event: AuditEvent): HTMLElement {
  const name = EVENT_NAMES[event.type] ?? event.type;
  const what = h("div", { className: "event-what" }, [h("span", { className: `event event-${event.type.replace(/\W+/g, "-")}`, text: name })]);
  const times = typeof event.count === "number" && event.count > 1 ? event.count : 1;
  if (times > 1) {
    what.firstChild!.appendChild(h("span", { className: "times", text: ` ×${times}`, attrs: { "aria-hidden": "true" } }));
    what.firstChild!.appendChild(h("span", { className: "visually-hidden", text: ` (${times} times)` }));
  }
  if (event.reason) what.append(h("span", { className: "reason", text: REASONS[event.reason] ?? event.reason }));
  if (event.changes && typeof event.changes === "object") {
    const list = h("ul", { className: "changes" });
    for (const [key, change] of Object.entries(event.changes)) {
      if (!change || typeof change !== "object") continue;
      list.append(
        h("li", {}, [
          h("span", { className: "change-field", text: `${CHANGE_FIELDS[key] ?? key}: ` }),
          // Each side isolated: a right-to-left name would otherwise swap the two sides of the arrow.
          isolate(changeValue(key, change.from)),
          " → ",
          isolate(changeValue(key, change.to)),
        ]),
      );
    }
    if (list.childElementCount > 0) what.append(list);
  }
  return what;
}

async function loadActivity(): Promise<void> {
  const sequence = ++activitySequence;
  const activityError = byId("activity-error");
  const params = new URLSearchParams({ limit: String(PAGE_SIZE), offset: String(place.activityPage * PAGE_SIZE) });
  if (place.person !== null) params.set("user_id", String(place.person));
  if (place.type) params.set("type", place.type);
  try {
    const [{ data: events, headers }, list] = await Promise.all([
      api<AuditEvent[]>("GET", `/admin/audit?${params}`),
      listAllAccounts(),
    ]);
    if (sequence !== activitySequence) return;
    setMessage(activityError, null);
    show(byId("activity-card"), true);
    renderPersonFilter(list);
    const total = Number(headers.get("x-total-count") ?? events.length);
    const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
    if (events.length === 0 && place.activityPage > 0 && total > 0) {
      remember({ activityPage: pages - 1 }, "replace");
      return loadActivity();
    }
    const byUserId = new Map(list.map((person) => [person.id, person]));
    const personCell = (id: number | null, fallback: string, label: string): HTMLTableCellElement => {
      const cell = h("td", { className: "cell-person", attrs: { "data-label": label } });
      if (id === null) {
        cell.append(fallback);
        return cell;
      }
      const person = byUserId.get(id);
      const text = person ? person.email : `account #${id}`;
      cell.append(activityLink({ id }, person ? emailText(text) : text, person ? `${text}: show ${person.name}’s activity` : undefined));
      return cell;
    };
    const rows = events.map((event) => {
      const what = eventWhat(event);
      const by =
        event.actor === "cli"
          ? personCell(null, "Server operator", "By")
          : event.actor === "anonymous"
            ? personCell(null, "Not signed in", "By")
            : personCell(event.actor_user_id, "—", "By");
      return h("tr", {}, [
        h("td", { className: "cell-date", attrs: { "data-label": "When" } }, [timeElement(event.created_at, dateTimeFormat)]),
        h("td", { attrs: { "data-label": "Event" } }, [what]),
        by,
        personCell(event.user_id, event.email ?? "—", "Account"),
        h("td", { className: "cell-ip", text: event.ip ?? "—", attrs: { "data-label": "Address" } }),
      ]);
    });
    byId("activity-body").replaceChildren(...rows);
    show(byId("activity-empty"), rows.length === 0);
    const filtered = place.person !== null || place.type !== "";
    byId("activity-count").textContent = `${total} ${total === 1 ? "event" : "events"}${filtered ? " match" : ""}, newest first`;
    renderPager("activity", place.activityPage, pages);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    if (sequence !== activitySequence) return;
    // The events on show answered other filters: they go rather than pass for this answer.
    byId("activity-body").replaceChildren();
    byId("activity-count").textContent = "";
    show(byId("activity-card"), false);
    show(byId("activity-pager"), false);
    setMessage(activityError, `The activity could not be loaded. ${plainWords(error.detail)}`);
  }
}

/** The Activity tab as tabs.ts sees it. */
export const activityTab: TabContent = {
  load: loadActivity,
  sync() {
    const type = field<HTMLSelectElement>(activityFilters, "type");
    type.value = place.type;
    // A type this console does not know (an edited URL) would only earn a refusal from the server: drop it.
    if (type.value !== place.type) {
      type.value = "";
      remember({ type: "" }, "replace");
    }
  },
};

export function setupActivity(): void {
  const type = field<HTMLSelectElement>(activityFilters, "type");
  for (const [value, label] of Object.entries(EVENT_NAMES)) type.append(h("option", { text: label, attrs: { value } }));

  for (const name of ["person", "type"]) {
    field<HTMLSelectElement>(activityFilters, name).addEventListener("change", () => {
      const person = field<HTMLSelectElement>(activityFilters, "person").value;
      remember({ person: person === "" ? null : Number(person), type: field<HTMLSelectElement>(activityFilters, "type").value, activityPage: 0 });
      void loadActivity().catch(ignoreSessionEnded);
    });
  }
  activityFilters.addEventListener("submit", (event) => event.preventDefault());
  byId("activity-refresh").addEventListener("click", () => void loadActivity().catch(ignoreSessionEnded));
  byId("activity-prev").addEventListener("click", () => {
    remember({ activityPage: Math.max(0, place.activityPage - 1) });
    void loadActivity().catch(ignoreSessionEnded);
  });
  byId("activity-next").addEventListener("click", () => {
    remember({ activityPage: place.activityPage + 1 });
    void loadActivity().catch(ignoreSessionEnded);
  });
}
