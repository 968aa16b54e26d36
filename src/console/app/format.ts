// How values read on the page: emails that wrap where they read well, dates and times in the reader's zone,
// role names, and the order names sort in. No state.
import { h } from "./dom.ts";

/** An email with line-break chances after "@" and before each ".", so a long one wraps where it reads well. */
export function emailText(email: string): DocumentFragment {
  const fragment = document.createDocumentFragment();
  for (const [index, part] of email.split(/(?=\.)|(?<=@)/).entries()) {
    if (index > 0) fragment.append(document.createElement("wbr"));
    fragment.append(part);
  }
  return fragment;
}

export const dateFormat = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", day: "numeric" });
// Times carry their zone ("14:05 EST"): an admin comparing with a log or a colleague knows which clock it is.
export const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  timeZoneName: "short",
});
export const shortDateTimeFormat = new Intl.DateTimeFormat(undefined, {
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "numeric",
  minute: "2-digit",
  timeZoneName: "short",
});
/** The same without the year, for this year's dates: a narrower "last signed in" column. */
export const thisYearDateTimeFormat = new Intl.DateTimeFormat(undefined, {
  month: "short",
  day: "numeric",
  hour: "numeric",
  minute: "2-digit",
  timeZoneName: "short",
});

export function timeElement(iso: string, format: Intl.DateTimeFormat): HTMLTimeElement {
  const date = new Date(iso);
  const text = Number.isNaN(date.getTime()) ? iso : format.format(date);
  return h("time", { text, attrs: { datetime: iso, title: iso } });
}

const ROLE_NAMES: Record<string, string> = { admin: "Admin", agent: "Agent" };

export function roleName(role: string): string {
  return ROLE_NAMES[role] ?? role;
}

/** Names and emails in the order a person expects: case and accents aside, "Agent 10" after "Agent 9". */
export const collator = new Intl.Collator(undefined, { sensitivity: "base", numeric: true });
