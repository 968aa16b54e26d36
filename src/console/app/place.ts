// Where you are, kept in the URL's query string (tab, filters, sort, page, person, event type), so reload and
// Back keep it. Other modules read `place`; only the functions here change it.

export type Tab = "accounts" | "activity" | "profile";
export type SortKey = "name" | "email" | "role" | "status" | "last_login" | "created";
const SORT_KEYS: SortKey[] = ["name", "email", "role", "status", "last_login", "created"];

/** Everything the URL remembers. Defaults are left out of the URL, so a plain /console/ is the usual view. */
export interface Place {
  tab: Tab | null;
  q: string;
  role: "" | "admin" | "agent";
  status: "" | "active" | "inactive";
  sort: SortKey;
  descending: boolean;
  page: number;
  person: number | null;
  type: string;
  activityPage: number;
}

function positive(value: string | null): number | null {
  return value !== null && /^[1-9][0-9]{0,8}$/.test(value) ? Number(value) : null;
}

function readPlace(): Place {
  const params = new URLSearchParams(location.search);
  const tab = params.get("tab");
  const role = params.get("role");
  const status = params.get("status");
  const sort = (params.get("sort") ?? "").replace(/^-/, "");
  return {
    tab: tab === "accounts" || tab === "activity" || tab === "profile" ? tab : null,
    q: (params.get("q") ?? "").slice(0, 100),
    role: role === "admin" || role === "agent" ? role : "",
    status: status === "active" || status === "inactive" ? status : "",
    sort: SORT_KEYS.includes(sort as SortKey) ? (sort as SortKey) : "created",
    descending: (params.get("sort") ?? "").startsWith("-"),
    page: (positive(params.get("page")) ?? 1) - 1,
    person: positive(params.get("person")),
    type: /^[a-z._]{1,40}$/.test(params.get("type") ?? "") ? params.get("type")! : "",
    activityPage: (positive(params.get("apage")) ?? 1) - 1,
  };
}

function placeQuery(place: Place): string {
  const params = new URLSearchParams();
  if (place.tab) params.set("tab", place.tab);
  if (place.q) params.set("q", place.q);
  if (place.role) params.set("role", place.role);
  if (place.status) params.set("status", place.status);
  if (place.sort !== "created" || place.descending) params.set("sort", `${place.descending ? "-" : ""}${place.sort}`);
  if (place.page > 0) params.set("page", String(place.page + 1));
  if (place.person !== null) params.set("person", String(place.person));
  if (place.type) params.set("type", place.type);
  if (place.activityPage > 0) params.set("apage", String(place.activityPage + 1));
  const query = params.toString();
  return query === "" ? location.pathname : `?${query}`;
}

/** The place on show. An import is read-only: change it with remember(), rereadPlace(), amendPlace(), forgetPlace(). */
export let place: Place = readPlace();

/** Records `changes` in the URL: a new history entry (Back returns here) or, while typing, the same one. */
export function remember(changes: Partial<Place>, mode: "push" | "replace" = "push"): void {
  place = { ...place, ...changes };
  const url = placeQuery(place);
  if (url === placeQuery(readPlace())) return;
  if (mode === "push") history.pushState(null, "", url);
  else history.replaceState(null, "", url);
}

/** Takes the place from the URL again (after Back, or at sign-in); returns the place before. */
export function rereadPlace(): Place {
  const before = place;
  place = readPlace();
  return before;
}

/** Corrects the place in memory only (a page past the last one); the URL keeps what it says. */
export function amendPlace(changes: Partial<Place>): void {
  place = { ...place, ...changes };
}

/** Back to a plain /console/ (signing out): the URL forgets the filters, tab and pages. */
export function forgetPlace(): void {
  place = readPlace();
  history.replaceState(null, "", location.pathname);
  place = readPlace();
}
