// How values read on the page: names and emails kept apart from the words around them (right-to-left names
// included), emails that wrap where they read well, initials, dates and times in the reader's zone, role names,
// and the order names sort in. No state.
import { h } from "./dom.ts";

/**
 * A value someone typed (a name, an email) set apart from the text around it (<bdi>, "bidirectional isolate"):
 * a right-to-left name cannot pull the "→", the parentheses or the words beside it into its own direction.
 */
export function isolate(value: string | Node): HTMLElement {
  return h("bdi", {}, [value]);
}

/**
 * A sentence for the page: each interpolated string is isolated (it is a name or an email someone typed);
 * an interpolated node goes in as it is (it isolates its own parts): sentence`Saved ${name}.`
 */
export function sentence(strings: TemplateStringsArray, ...values: Array<string | Node>): DocumentFragment {
  const fragment = document.createDocumentFragment();
  strings.forEach((text, index) => {
    if (text !== "") fragment.append(text);
    const value = values[index];
    if (value !== undefined) fragment.append(typeof value === "string" ? isolate(value) : value);
  });
  return fragment;
}

/** The same isolation inside plain text, where no element can go (an <option>): FSI … PDI. */
export function isolatedText(value: string): string {
  return `\u2068${value}\u2069`;
}

/**
 * Up to two initials for the avatar, from letters only: the first letters of the first and last words that
 * begin with a letter ("דוד לוי (QA)" → "דל", "=SUM(1+1) Mallory" → "M"), else of the words with a letter in them
 * ("<b>Bold</b>" → "B"), else the first digit, else "?". A zero-width non-joiner goes between the two, so two
 * Arabic letters stay two initials instead of joining into a word.
 */
export function initials(name: string): string {
  const words = name.trim().split(/\s+/).filter((word) => word !== "");
  const leading = words.filter((word) => /^\p{L}/u.test(word));
  const chosen = leading.length > 0 ? leading : words.filter((word) => /\p{L}/u.test(word));
  const picked = chosen.length > 1 ? [chosen[0]!, chosen[chosen.length - 1]!] : chosen;
  const letters = picked.map((word) => (/\p{L}\p{M}*/u.exec(word)?.[0] ?? "").toUpperCase());
  if (letters.length > 0) return letters.join("\u200C");
  return /\p{N}/u.exec(name)?.[0] ?? "?";
}

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
