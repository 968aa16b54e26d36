/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="dom.asynciterable" />
// The admin console in the browser: plain DOM, no framework. It talks to the same JSON API as any client,
// with the bearer token kept in sessionStorage (this tab only, gone when it closes), never in a URL.
// Where you are (tab, filters, sort, page) lives in the URL's query string, so reload and Back keep it.
// Bundled by bundle.ts (a build-time macro) and served as /console/app.js.

interface PublicUser {
  id: number;
  name: string;
  email: string;
  role: "admin" | "agent";
  is_active: boolean;
  created_at: string;
  /** Absent from servers older than the field: shown as unknown, not as "never". */
  last_login_at?: string | null;
}

interface AuditEvent {
  id: number;
  created_at: string;
  type: string;
  actor: "user" | "cli" | "anonymous";
  actor_user_id: number | null;
  user_id: number | null;
  email: string | null;
  ip: string | null;
  reason: string | null;
  /** How many refused sign-ins this one event stands for (absent on older servers: one). */
  count?: number;
  /** What an edit changed, field by field; never a password. Absent or null when not recorded. */
  changes?: Record<string, { from: unknown; to: unknown }> | null;
}

const TOKEN_KEY = "moxie.console.token";
const PAGE_SIZE = 25;
/** The list API's largest page; the console reads every match (a team is small) to sort and export them. */
const LIST_LIMIT = 1000;
const SESSION_ENDED = "Your session ended; sign in again.";
const ACCOUNT_DEACTIVATED = "Your account has been deactivated, so you were signed out. Ask your admin to reactivate it.";

/** An API answer other than 2xx (or no answer at all: status 0), with its detail sentence. */
class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
  ) {
    super(detail);
  }
}

/** Thrown after a 401 on a signed-in call: the page has already gone back to the sign-in form. */
class SessionEnded extends Error {}

// ---------------------------------------------------------------------------------------------- DOM

function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`console page has no #${id}`);
  return element as T;
}

function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: { className?: string; text?: string; attrs?: Record<string, string> } = {},
  children: Array<Node | string> = [],
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  if (props.className) element.className = props.className;
  if (props.text !== undefined) element.textContent = props.text;
  for (const [name, value] of Object.entries(props.attrs ?? {})) element.setAttribute(name, value);
  for (const child of children) element.append(child);
  return element;
}

function field<T extends HTMLInputElement | HTMLSelectElement>(form: HTMLFormElement, name: string): T {
  const element = form.elements.namedItem(name);
  if (!element) throw new Error(`form #${form.id} has no field ${name}`);
  return element as T;
}

function show(element: HTMLElement, visible: boolean): void {
  element.hidden = !visible;
}

/** An email with line-break chances after "@" and before each ".", so a long one wraps where it reads well. */
function emailText(email: string): DocumentFragment {
  const fragment = document.createDocumentFragment();
  for (const [index, part] of email.split(/(?=\.)|(?<=@)/).entries()) {
    if (index > 0) fragment.append(document.createElement("wbr"));
    fragment.append(part);
  }
  return fragment;
}

function setMessage(element: HTMLElement, text: string | null): void {
  element.textContent = text ?? "";
  show(element, Boolean(text));
}

const dateFormat = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", day: "numeric" });
// Times carry their zone ("14:05 EST"): an admin comparing with a log or a colleague knows which clock it is.
const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  timeZoneName: "short",
});
const shortDateTimeFormat = new Intl.DateTimeFormat(undefined, {
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "numeric",
  minute: "2-digit",
  timeZoneName: "short",
});
/** The same without the year, for this year's dates: a narrower "last signed in" column. */
const thisYearDateTimeFormat = new Intl.DateTimeFormat(undefined, {
  month: "short",
  day: "numeric",
  hour: "numeric",
  minute: "2-digit",
  timeZoneName: "short",
});

function timeElement(iso: string, format: Intl.DateTimeFormat): HTMLTimeElement {
  const date = new Date(iso);
  const text = Number.isNaN(date.getTime()) ? iso : format.format(date);
  return h("time", { text, attrs: { datetime: iso, title: iso } });
}

/** The server's sentence, as a person reads it: "new_password is too common" → "New password is too common." */
function plainWords(detail: string): string {
  if (/^account is inactive$/i.test(detail.trim())) {
    return "This account is deactivated. Ask your admin to reactivate it; signing in again will not help.";
  }
  let text = detail
    .replace(/\bnew_password\b/g, "new password")
    .replace(/\bcurrent_password\b/g, "current password")
    .replace(/\bis_active\b/g, "status")
    .trim();
  if (text === "") text = "Something went wrong";
  text = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

const ROLE_NAMES: Record<string, string> = { admin: "Admin", agent: "Agent" };

function roleName(role: string): string {
  return ROLE_NAMES[role] ?? role;
}

// ---------------------------------------------------------------------------------------------- API

let token: string | null = null;
try {
  token = sessionStorage.getItem(TOKEN_KEY);
} catch {
  token = null;
}

function saveToken(value: string | null): void {
  token = value;
  try {
    if (value === null) sessionStorage.removeItem(TOKEN_KEY);
    else sessionStorage.setItem(TOKEN_KEY, value);
  } catch {
    // Storage refused (private mode quota): the session lasts as long as the page.
  }
}

interface ApiAnswer<T> {
  data: T;
  status: number;
  headers: Headers;
}

async function api<T>(method: string, path: string, body?: unknown, options: { signedIn?: boolean } = {}): Promise<ApiAnswer<T>> {
  const signedIn = options.signedIn ?? true;
  const headers: Record<string, string> = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (signedIn && token) headers.authorization = `Bearer ${token}`;
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
    });
  } catch {
    throw new ApiError(0, "The server could not be reached. Check the connection and try again.");
  }
  let payload: unknown = undefined;
  const text = await response.text();
  if (text !== "") {
    try {
      payload = JSON.parse(text);
    } catch {
      payload = undefined;
    }
  }
  const detail =
    payload && typeof payload === "object" && typeof (payload as { detail?: unknown }).detail === "string"
      ? (payload as { detail: string }).detail
      : `The server answered ${response.status} ${response.statusText}`.trim();
  if (response.status === 401 && signedIn) {
    // A deactivated account cannot sign in again: say who can help instead.
    endSession(/inactive/i.test(detail) ? ACCOUNT_DEACTIVATED : SESSION_ENDED);
    throw new SessionEnded();
  }
  if (!response.ok) throw new ApiError(response.status, detail);
  return { data: payload as T, status: response.status, headers: response.headers };
}

/** Every account matching `params`, however many pages the list API needs. */
async function listAllAccounts(params: URLSearchParams = new URLSearchParams()): Promise<PublicUser[]> {
  const all: PublicUser[] = [];
  for (;;) {
    const query = new URLSearchParams(params);
    query.set("limit", String(LIST_LIMIT));
    query.set("offset", String(all.length));
    const { data, headers } = await api<PublicUser[]>("GET", `/admin/users?${query}`);
    all.push(...data);
    const total = Number(headers.get("x-total-count") ?? all.length);
    if (data.length === 0 || all.length >= total) return all;
  }
}

// ---------------------------------------------------------------------------------------------- where you are

type Tab = "accounts" | "activity" | "profile";
type SortKey = "name" | "email" | "role" | "status" | "last_login" | "created";
const SORT_KEYS: SortKey[] = ["name", "email", "role", "status", "last_login", "created"];

/** Everything the URL remembers. Defaults are left out of the URL, so a plain /console/ is the usual view. */
interface Place {
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

let place: Place = readPlace();

/** Records `changes` in the URL: a new history entry (Back returns here) or, while typing, the same one. */
function remember(changes: Partial<Place>, mode: "push" | "replace" = "push"): void {
  place = { ...place, ...changes };
  const url = placeQuery(place);
  if (url === placeQuery(readPlace())) return;
  if (mode === "push") history.pushState(null, "", url);
  else history.replaceState(null, "", url);
}

// ---------------------------------------------------------------------------------------------- forms

const FIELD_NAMES = ["name", "email", "role", "password", "new_password", "current_password"];

/** The form field a detail sentence is about: "email must be…" → email; "Email already registered" → email. */
function fieldOf(detail: string): string | undefined {
  const first = /^([a-z_]+)\b/i.exec(detail)?.[1]?.toLowerCase();
  if (first && FIELD_NAMES.includes(first)) return first;
  if (/^current password/i.test(detail)) return "current_password";
  if (/^new password/i.test(detail)) return "new_password";
  return undefined;
}

function clearInvalid(form: HTMLFormElement): void {
  for (const element of form.querySelectorAll<HTMLElement>("[aria-invalid]")) {
    element.removeAttribute("aria-invalid");
    const describedBy = (element.getAttribute("aria-describedby") ?? "")
      .split(" ")
      .filter((id) => id !== "" && !id.endsWith("-error"));
    if (describedBy.length > 0) element.setAttribute("aria-describedby", describedBy.join(" "));
    else element.removeAttribute("aria-describedby");
  }
}

/** Shows `detail` under the form and marks (and focuses) the field it names; the typed values stay. */
function showFormError(form: HTMLFormElement, errorElement: HTMLElement, detail: string, fieldName?: string): void {
  setMessage(errorElement, plainWords(detail));
  const name = fieldName ?? fieldOf(detail);
  const target = name ? form.elements.namedItem(name) : null;
  if ((target instanceof HTMLInputElement || target instanceof HTMLSelectElement) && !target.disabled) {
    target.setAttribute("aria-invalid", "true");
    const describedBy = new Set((target.getAttribute("aria-describedby") ?? "").split(" ").filter(Boolean));
    describedBy.add(errorElement.id);
    target.setAttribute("aria-describedby", [...describedBy].join(" "));
    target.focus();
  }
}

/** A problem found before asking the server. */
class FormProblem extends Error {
  constructor(
    message: string,
    readonly fieldName?: string,
  ) {
    super(message);
  }
}

/**
 * Runs `action` on submit with the submit button busy. An error is shown next to the form, which keeps
 * everything typed; only the action itself resets the form, on success.
 */
function handleSubmit(form: HTMLFormElement, errorElement: HTMLElement, action: () => Promise<void>, before?: () => void): void {
  let busy = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (busy) return;
    busy = true;
    // Disabling the focused button drops focus to <body>; it goes back there unless the outcome moved it.
    const focusedBefore = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    const buttons = [...form.querySelectorAll<HTMLButtonElement>("button[type=submit]")];
    for (const button of buttons) {
      button.disabled = true;
      button.setAttribute("aria-busy", "true");
    }
    clearInvalid(form);
    setMessage(errorElement, null);
    before?.();
    try {
      await action();
    } catch (error) {
      if (error instanceof SessionEnded) return;
      if (error instanceof FormProblem) showFormError(form, errorElement, error.message, error.fieldName);
      else if (error instanceof ApiError) showFormError(form, errorElement, error.detail);
      else showFormError(form, errorElement, "Something went wrong in the page; reload it and try again");
    } finally {
      busy = false;
      for (const button of buttons) {
        button.disabled = false;
        button.removeAttribute("aria-busy");
      }
      const lost = document.activeElement === null || document.activeElement === document.body;
      // Still on the page and shown (a sign-in that succeeded has moved on to another view, which sets focus).
      if (lost && focusedBefore?.isConnected && focusedBefore.getClientRects().length > 0) focusedBefore.focus();
    }
  });
}

function requireFilled(form: HTMLFormElement, names: Record<string, string>): void {
  for (const [name, label] of Object.entries(names)) {
    if (field<HTMLInputElement>(form, name).value.trim() === "") throw new FormProblem(`${label} is required`, name);
  }
}

function checkNewPassword(value: string, fieldName: string, label: string): void {
  const length = [...value.normalize("NFC")].length; // characters (code points), as the server counts them
  if (length < 8 || length > 128) throw new FormProblem(`${label} must be 8 to 128 characters`, fieldName);
}

// ---------------------------------------------------------------------------------------------- passwords

/** No look-alikes (0/O, 1/l/I): a generated password is often read out or typed from a screen. */
const PASSWORD_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
/** 20 characters from 56 is about 116 bits. */
const GENERATED_PASSWORD_LENGTH = 20;

/** A random password from the browser's CSPRNG, every character equally likely (rejection sampling). */
function generatePassword(): string {
  const limit = 256 - (256 % PASSWORD_ALPHABET.length);
  let password = "";
  while (password.length < GENERATED_PASSWORD_LENGTH) {
    for (const byte of crypto.getRandomValues(new Uint8Array(32))) {
      if (byte < limit && password.length < GENERATED_PASSWORD_LENGTH) password += PASSWORD_ALPHABET[byte % PASSWORD_ALPHABET.length];
    }
  }
  return password;
}

const revealButtons: HTMLButtonElement[] = [];

function setRevealed(button: HTMLButtonElement, input: HTMLInputElement, revealed: boolean): void {
  input.type = revealed ? "text" : "password";
  // The name says what a press does ("Show password" / "Hide password"), as GOV.UK's password input does.
  button.firstChild!.textContent = revealed ? "Hide" : "Show";
}

/** Hides every password again (on a form reset, a dialog closing, a sign-out). */
function hideAllPasswords(): void {
  for (const button of revealButtons) {
    const input = document.getElementById(button.getAttribute("aria-controls") ?? "");
    if (input instanceof HTMLInputElement) setRevealed(button, input, false);
  }
}

/** Every password field gets "Show"; those marked data-generate also get "Generate". */
function enhancePasswordFields(): void {
  for (const input of document.querySelectorAll<HTMLInputElement>("input[type=password]")) {
    const wrap = h("div", { className: "password-wrap" });
    input.replaceWith(wrap);
    wrap.append(input);
    // The button's name comes from its text ("Show password"), so getByLabel("Password") still finds the field.
    const reveal = h("button", { className: "button secondary small reveal", attrs: { type: "button", "aria-controls": input.id } }, [
      h("span", { text: "Show" }),
      h("span", { className: "visually-hidden", text: " password" }),
    ]);
    reveal.addEventListener("click", () => setRevealed(reveal, input, input.type === "password"));
    revealButtons.push(reveal);
    wrap.append(reveal);
    if (input.hasAttribute("data-generate")) {
      const generate = h("button", { className: "button secondary small generate", attrs: { type: "button", "aria-controls": input.id } }, [
        h("span", { text: "Generate" }),
        h("span", { className: "visually-hidden", text: " a password" }),
      ]);
      generate.addEventListener("click", () => {
        const password = generatePassword();
        input.value = password;
        input.removeAttribute("aria-invalid");
        const repeat = input.dataset.repeat ? document.getElementById(input.dataset.repeat) : null;
        if (repeat instanceof HTMLInputElement) repeat.value = password;
        // Shown and selected, ready to copy and hand over.
        setRevealed(reveal, input, true);
        input.focus();
        input.select();
      });
      wrap.append(generate);
    }
    input.form?.addEventListener("reset", () => setRevealed(reveal, input, false));
  }
}

// ---------------------------------------------------------------------------------------------- dialogs

const openers = new WeakMap<HTMLDialogElement, HTMLElement | null>();

function openDialog(dialog: HTMLDialogElement, focus?: HTMLElement, opener?: HTMLElement): void {
  openers.set(dialog, opener ?? (document.activeElement instanceof HTMLElement ? document.activeElement : null));
  dialog.showModal();
  (focus ?? dialog.querySelector<HTMLElement>("input:not(:disabled), select:not(:disabled), button[type=submit]"))?.focus();
}

function closeDialog(dialog: HTMLDialogElement): void {
  if (!dialog.open) return;
  dialog.close();
  // At once, not on the (later) close event: the next key press already goes to the right place.
  restoreFocus(dialog);
}

/**
 * Back to what opened `dialog` (inside another dialog only if that one is still open). If a re-render has
 * replaced it meanwhile, the re-render has placed focus already; only focus lost to <body> moves.
 */
function restoreFocus(dialog: HTMLDialogElement): void {
  if (views.app.hidden) return;
  const opener = openers.get(dialog);
  const openerDialog = opener?.closest("dialog");
  if (opener && opener.isConnected && (!openerDialog || openerDialog.open)) opener.focus();
  else if (focusIsLost()) focusPanelHeading();
}

/** True when nothing useful has the focus: <body>, or something inside a dialog that has closed. */
function focusIsLost(): boolean {
  const active = document.activeElement;
  if (!active || active === document.body) return true;
  const dialog = active.closest("dialog");
  return dialog !== null && !dialog.open;
}

/** Where focus goes when what had it is gone: the heading of the panel on show. */
function focusPanelHeading(): void {
  const panel = Object.values(panels).find((element) => !element.hidden);
  panel?.querySelector<HTMLElement>("h1")?.focus();
}

function setupDialog(dialog: HTMLDialogElement): void {
  for (const button of dialog.querySelectorAll<HTMLButtonElement>("[data-close]")) {
    button.addEventListener("click", () => closeDialog(dialog));
  }
  dialog.addEventListener("close", () => {
    hideAllPasswords();
    // Escape closes a dialog without closeDialog(); restore here too (a second call changes nothing).
    if (document.activeElement !== openers.get(dialog)) restoreFocus(dialog);
    openers.delete(dialog);
  });
}

function closeAllDialogs(): void {
  for (const dialog of document.querySelectorAll<HTMLDialogElement>("dialog")) closeDialog(dialog);
}

// ---------------------------------------------------------------------------------------------- messages

const toast = byId("toast");
const toastText = byId("toast-text");

/** A success message, floating at the bottom: it never moves the table, and goes with the next tab. */
function flash(message: string | null): void {
  toastText.textContent = message ?? "";
  show(toast, Boolean(message));
}

byId("toast-close").addEventListener("click", () => {
  // The dismiss button had the focus: hand it to the panel, not to <body>.
  flash(null);
  focusPanelHeading();
});

// ---------------------------------------------------------------------------------------------- state

let me: PublicUser | null = null;
let accounts: PublicUser[] = [];
let accountsLoaded = false;

const views = {
  loading: byId("view-loading"),
  signin: byId("view-signin"),
  app: byId("view-app"),
};

function showView(name: keyof typeof views): void {
  for (const [key, element] of Object.entries(views)) show(element, key === name);
}

const panels: Record<Tab, HTMLElement> = {
  accounts: byId("panel-accounts"),
  activity: byId("panel-activity"),
  profile: byId("panel-profile"),
};

// ---------------------------------------------------------------------------------------------- session

const signinForm = byId<HTMLFormElement>("signin-form");
const signinNotice = byId("signin-notice");
const signinError = byId("signin-error");

/**
 * Back to the sign-in form, the token forgotten, with `notice` above it. A session that ended on its own
 * keeps what was typed in the account dialogs and the place in the URL (sign in again and carry on);
 * signing out clears it all.
 */
function endSession(notice: string | null, options: { clearDrafts?: boolean } = {}): void {
  const email = me?.email;
  saveToken(null);
  me = null;
  accounts = [];
  accountsLoaded = false;
  closeAllDialogs();
  hideAllPasswords();
  byId("accounts-body").replaceChildren();
  byId("activity-body").replaceChildren();
  flash(null);
  byId<HTMLFormElement>("own-password-form").reset();
  byId<HTMLFormElement>("reset-form").reset();
  if (options.clearDrafts) {
    for (const form of document.querySelectorAll<HTMLFormElement>("dialog form, #filters, #activity-filters")) form.reset();
    place = readPlace();
    history.replaceState(null, "", location.pathname);
    place = readPlace();
  }
  show(byId("session"), false);
  setMessage(signinNotice, notice);
  setMessage(signinError, null);
  clearInvalid(signinForm);
  const emailInput = field<HTMLInputElement>(signinForm, "email");
  if (email && emailInput.value === "") emailInput.value = email;
  field<HTMLInputElement>(signinForm, "password").value = "";
  showView("signin");
  document.title = "Sign in · moxie console";
  (emailInput.value === "" ? emailInput : field<HTMLInputElement>(signinForm, "password")).focus();
}

async function startSession(): Promise<void> {
  const { data } = await api<PublicUser>("GET", "/auth/me");
  me = data;
  renderMe();
  show(byId("session"), true);
  setMessage(signinNotice, null);
  showView("app");
  const admin = me.role === "admin";
  show(byId("admin-nav"), admin);
  place = readPlace();
  syncControls();
  await showTab(place.tab ?? (admin ? "accounts" : "profile"), false);
}

handleSubmit(
  signinForm,
  signinError,
  async () => {
    requireFilled(signinForm, { email: "Email", password: "Password" });
    const email = field<HTMLInputElement>(signinForm, "email").value;
    const password = field<HTMLInputElement>(signinForm, "password").value;
    const { data } = await api<{ access_token: string }>("POST", "/auth/login", { email, password }, { signedIn: false });
    saveToken(data.access_token);
    try {
      await startSession();
    } catch (error) {
      if (!(error instanceof SessionEnded)) saveToken(null);
      throw error;
    }
    field<HTMLInputElement>(signinForm, "password").value = "";
    hideAllPasswords();
    focusPanelHeading();
  },
  // "You are signed out." belongs to the moment it was said; it must not sit above a later error.
  () => setMessage(signinNotice, null),
);

byId<HTMLButtonElement>("sign-out").addEventListener("click", async () => {
  try {
    await api("POST", "/auth/logout");
  } catch {
    // Signed out already, or the server is away: the token is forgotten here either way.
  }
  if (token !== null || me !== null) endSession("You are signed out.", { clearDrafts: true });
});

function renderMe(): void {
  if (!me) return;
  byId("who-name").textContent = me.name;
  byId("who-email").textContent = me.email;
  const roleBadge = byId("who-role");
  roleBadge.textContent = roleName(me.role);
  roleBadge.className = `badge role-${me.role}`;
  byId("me-name").textContent = me.name;
  byId("me-email").replaceChildren(emailText(me.email));
  byId("me-role").textContent = roleName(me.role);
  byId("me-created").replaceChildren(timeElement(me.created_at, dateFormat));
  document.title = "moxie console";
}

// ---------------------------------------------------------------------------------------------- tabs

const TAB_TITLES: Record<Tab, string> = { accounts: "Accounts", activity: "Activity", profile: "My account" };

/** Shows `tab` (agents only ever see their own account) and loads what it needs. */
async function showTab(tab: Tab, focus = true): Promise<void> {
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
    if (tab === "accounts") await loadAccounts();
    if (tab === "activity") await loadActivity();
  } catch (error) {
    if (!(error instanceof SessionEnded)) throw error;
  }
}

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

/** Puts the URL's filters into the filter controls. */
function syncControls(): void {
  field<HTMLInputElement>(filtersForm, "q").value = place.q;
  field<HTMLSelectElement>(filtersForm, "role").value = place.role;
  field<HTMLSelectElement>(filtersForm, "status").value = place.status;
  const type = field<HTMLSelectElement>(activityFilters, "type");
  type.value = place.type;
  // A type this console does not know (an edited URL) would only earn a refusal from the server: drop it.
  if (type.value !== place.type) {
    type.value = "";
    remember({ type: "" }, "replace");
  }
}

// Back and Forward: show the place the URL names; focus moves only when the tab changes.
window.addEventListener("popstate", () => {
  if (!me) {
    place = readPlace();
    return;
  }
  const before = place;
  place = readPlace();
  // Back means leaving what was on screen, an open dialog included (its typed values stay in its form).
  closeAllDialogs();
  syncControls();
  const tab = place.tab ?? (me.role === "admin" ? "accounts" : "profile");
  const sameFilters = before.q === place.q && before.role === place.role && before.status === place.status;
  if (tab === "accounts" && !panels.accounts.hidden && sameFilters && accountsLoaded) renderAccounts();
  else void showTab(tab, panels[tab].hidden);
});

// ---------------------------------------------------------------------------------------------- accounts

const filtersForm = byId<HTMLFormElement>("filters");
const activityFilters = byId<HTMLFormElement>("activity-filters");
const accountsError = byId("accounts-error");

let loadSequence = 0;

function accountFilterParams(): URLSearchParams {
  const params = new URLSearchParams();
  if (place.q.trim() !== "") params.set("q", place.q.trim());
  if (place.role) params.set("role", place.role);
  if (place.status) params.set("is_active", String(place.status === "active"));
  return params;
}

async function loadAccounts(): Promise<void> {
  const sequence = ++loadSequence;
  try {
    const data = await listAllAccounts(accountFilterParams());
    if (sequence !== loadSequence) return;
    setMessage(accountsError, null);
    accounts = data;
    accountsLoaded = true;
    renderAccounts();
  } catch (error) {
    if (error instanceof ApiError && sequence === loadSequence) setMessage(accountsError, plainWords(error.detail));
    else throw error;
  }
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

/** A link to someone's activity: a real link (open in a new tab works), followed in place on a plain click. */
function activityLink(person: { id: number }, text: string | Node, accessibleName?: string, className = "person-link"): HTMLAnchorElement {
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

const collator = new Intl.Collator(undefined, { sensitivity: "base", numeric: true });

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

function sortedAccounts(): PublicUser[] {
  const direction = place.descending ? -1 : 1;
  return [...accounts].sort((a, b) => direction * compareAccounts(a, b, place.sort) || direction * (a.id - b.id));
}

function renderAccounts(): void {
  const body = byId<HTMLTableSectionElement>("accounts-body");
  const pages = Math.max(1, Math.ceil(accounts.length / PAGE_SIZE));
  if (place.page >= pages) place = { ...place, page: pages - 1 };
  const shown = sortedAccounts().slice(place.page * PAGE_SIZE, (place.page + 1) * PAGE_SIZE);
  const rows = shown.map((account) => {
    const self = account.id === me?.id;
    const actions = h("div", { className: "row-actions" }, [
      actionButton("Edit", `Edit ${account.name}`, () => openEdit(account)),
      self
        ? actionButton("Change password", "Change password (your own)", () => openReset(account))
        : actionButton("Set password", `Set password for ${account.name}`, () => openReset(account)),
      activityLink(account, "Activity", `Activity of ${account.name}`, "link-button"),
    ]);
    if (!self) {
      actions.append(
        account.is_active
          ? actionButton("Deactivate", `Deactivate ${account.name}`, () => openActivation(account, false), "link-button danger")
          : actionButton("Reactivate", `Reactivate ${account.name}`, () => openActivation(account, true)),
      );
    }
    const name = h("div", { className: "name" }, [
      h("span", { className: "avatar", text: initials(account.name), attrs: { "aria-hidden": "true" } }),
      h("span", { className: "name-text", text: account.name }),
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
  });

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

  for (const header of document.querySelectorAll<HTMLTableCellElement>("#accounts-table th[data-sort]")) {
    if (header.dataset.sort === place.sort) header.setAttribute("aria-sort", place.descending ? "descending" : "ascending");
    else header.removeAttribute("aria-sort");
  }
  show(byId("accounts-empty"), accounts.length === 0);
  const filtered = place.q.trim() !== "" || place.role !== "" || place.status !== "";
  const total = accounts.length;
  byId("accounts-count").textContent = `${total} ${total === 1 ? "account" : "accounts"}${filtered ? " match" : ""}`;
  renderPager("accounts", place.page, pages);
}

/** Shows "Page n of m"; a pager button that has just become disabled hands its focus to the other one. */
function renderPager(which: "accounts" | "activity", index: number, pages: number): void {
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

function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  const letters = parts.length > 1 ? [parts[0], parts[parts.length - 1]] : [parts[0]];
  return letters.map((part) => [...(part ?? "")][0] ?? "").join("").toUpperCase() || "?";
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

function ignoreSessionEnded(error: unknown): void {
  if (!(error instanceof SessionEnded)) console.error(error);
}

// Typing replaces the history entry (Back should not step through every letter); a choice adds one.
field<HTMLInputElement>(filtersForm, "q").addEventListener("input", () => reloadFromFilters(250, "replace"));
field<HTMLSelectElement>(filtersForm, "role").addEventListener("change", () => reloadFromFilters(0, "push"));
field<HTMLSelectElement>(filtersForm, "status").addEventListener("change", () => reloadFromFilters(0, "push"));
filtersForm.addEventListener("submit", (event) => {
  event.preventDefault();
  reloadFromFilters(0, "replace");
});

for (const header of document.querySelectorAll<HTMLTableCellElement>("#accounts-table th[data-sort]")) {
  header.querySelector("button")?.addEventListener("click", () => {
    const key = header.dataset.sort as SortKey;
    remember({ sort: key, descending: place.sort === key ? !place.descending : false, page: 0 });
    renderAccounts();
  });
}

byId("page-prev").addEventListener("click", () => {
  remember({ page: Math.max(0, place.page - 1) });
  renderAccounts();
});
byId("page-next").addEventListener("click", () => {
  remember({ page: place.page + 1 });
  renderAccounts();
});

// Export: every account that matches the filters, in the order shown, as a CSV file made here.
const CSV_COLUMNS: Array<[string, (account: PublicUser) => string]> = [
  ["id", (account) => String(account.id)],
  ["name", (account) => account.name],
  ["email", (account) => account.email],
  ["role", (account) => account.role],
  ["status", (account) => (account.is_active ? "active" : "inactive")],
  ["last_signed_in", (account) => account.last_login_at ?? ""],
  ["created", (account) => account.created_at],
];

/**
 * One CSV cell (RFC 4180). A cell that a spreadsheet would run as a formula (= + - @, or a tab or carriage
 * return before one) gets a leading apostrophe: a name typed as =HYPERLINK(...) stays text (OWASP "CSV injection").
 */
function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]|^\s|\s$/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

function accountsCsv(list: PublicUser[]): string {
  const lines = [CSV_COLUMNS.map(([name]) => name), ...list.map((account) => CSV_COLUMNS.map(([, value]) => value(account)))];
  return lines.map((cells) => cells.map(csvCell).join(",")).join("\r\n") + "\r\n";
}

byId<HTMLButtonElement>("export-csv").addEventListener("click", async () => {
  const button = byId<HTMLButtonElement>("export-csv");
  button.setAttribute("aria-busy", "true");
  try {
    // Fresh from the API, so the file is what the server holds now, not what this page loaded earlier.
    accounts = await listAllAccounts(accountFilterParams());
    renderAccounts();
    // The byte order mark lets spreadsheet programs read the names as UTF-8.
    const blob = new Blob(["\uFEFF", accountsCsv(sortedAccounts())], { type: "text/csv;charset=utf-8" });
    const href = URL.createObjectURL(blob);
    const link = h("a", { attrs: { href, download: `moxie-accounts-${new Date().toISOString().slice(0, 10)}.csv` } });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(href), 60_000);
    flash(`Exported ${accounts.length} ${accounts.length === 1 ? "account" : "accounts"} as CSV.`);
  } catch (error) {
    if (error instanceof ApiError) setMessage(accountsError, plainWords(error.detail));
    else ignoreSessionEnded(error);
  } finally {
    button.removeAttribute("aria-busy");
  }
});

// Add
const addDialog = byId<HTMLDialogElement>("add-dialog");
const addForm = byId<HTMLFormElement>("add-form");
setupDialog(addDialog);
byId("add-account").addEventListener("click", () => {
  setMessage(byId("add-error"), null);
  clearInvalid(addForm);
  openDialog(addDialog);
});
handleSubmit(addForm, byId("add-error"), async () => {
  requireFilled(addForm, { name: "Name", email: "Email", password: "Initial password" });
  const password = field<HTMLInputElement>(addForm, "password").value;
  checkNewPassword(password, "password", "Initial password");
  const role = field<HTMLSelectElement>(addForm, "role").value;
  const { data } = await api<PublicUser>("POST", "/admin/users", {
    name: field<HTMLInputElement>(addForm, "name").value,
    email: field<HTMLInputElement>(addForm, "email").value,
    role,
    password,
  });
  addForm.reset();
  closeDialog(addDialog);
  flash(`Account created for ${data.name} (${data.email}), as ${data.role === "admin" ? "an admin" : "an agent"}.`);
  await loadAccounts();
});

/** "role Agent → Admin; name Avery Agent → Avery Q. Agent": what an edit changed, in words. */
function describeChanges(before: PublicUser, after: PublicUser): string {
  const parts: string[] = [];
  if (before.name !== after.name) parts.push(`name ${before.name} → ${after.name}`);
  if (before.email !== after.email) parts.push(`email ${before.email} → ${after.email}`);
  if (before.role !== after.role) parts.push(`role ${roleName(before.role)} → ${roleName(after.role)}`);
  return parts.join("; ");
}

// Edit
const editDialog = byId<HTMLDialogElement>("edit-dialog");
const editForm = byId<HTMLFormElement>("edit-form");
let editing: PublicUser | null = null;
setupDialog(editDialog);
function openEdit(account: PublicUser): void {
  editing = account;
  editForm.reset();
  clearInvalid(editForm);
  setMessage(byId("edit-error"), null);
  byId("edit-title").textContent = `Edit ${account.name}`;
  field<HTMLInputElement>(editForm, "name").value = account.name;
  field<HTMLInputElement>(editForm, "email").value = account.email;
  const role = field<HTMLSelectElement>(editForm, "role");
  role.value = account.role;
  // Your own role is not yours to change (the server refuses it): say so before, not after saving.
  const self = account.id === me?.id;
  role.disabled = self;
  show(byId("edit-role-hint"), self);
  if (self) role.setAttribute("aria-describedby", "edit-role-hint");
  else role.removeAttribute("aria-describedby");
  openDialog(editDialog);
}

// Unlock: clears the account's sign-in throttle (POST /admin/users/{id}/unlock, 204), from the edit dialog,
// where an admin already is when someone calls to say they are locked out.
byId<HTMLButtonElement>("edit-unlock-button").addEventListener("click", async () => {
  if (!editing) return;
  const account = editing;
  const button = byId<HTMLButtonElement>("edit-unlock-button");
  button.disabled = true;
  setMessage(byId("edit-error"), null);
  try {
    await api("POST", `/admin/users/${account.id}/unlock`);
    closeDialog(editDialog);
    flash(`${account.name} can sign in again now: the lock after failed attempts is cleared.`);
  } catch (error) {
    if (error instanceof ApiError) {
      setMessage(byId("edit-error"), (error.status === 404 && /^not found$/i.test(error.detail)) || error.status === 405 ? "This server cannot unlock sign-ins; it is older than the console." : plainWords(error.detail));
    } else ignoreSessionEnded(error);
  } finally {
    button.disabled = false;
  }
});

async function saveEdit(account: PublicUser, changes: Record<string, string>): Promise<void> {
  const { data } = await api<PublicUser>("PATCH", `/admin/users/${account.id}`, changes);
  closeDialog(confirmDialog);
  closeDialog(editDialog);
  const what = describeChanges(account, data);
  flash(what ? `Saved ${data.name}: ${what}.` : `Saved ${data.name}; nothing changed.`);
  if (data.id === me?.id) {
    me = data;
    renderMe();
  }
  await loadAccounts();
}

handleSubmit(editForm, byId("edit-error"), async () => {
  if (!editing) return;
  const account = editing;
  requireFilled(editForm, { name: "Name", email: "Email" });
  const changes: Record<string, string> = {};
  const name = field<HTMLInputElement>(editForm, "name").value;
  const email = field<HTMLInputElement>(editForm, "email").value;
  const role = field<HTMLSelectElement>(editForm, "role");
  if (name.trim() !== account.name) changes.name = name;
  if (email.trim().toLowerCase() !== account.email) changes.email = email;
  if (!role.disabled && role.value !== account.role) changes.role = role.value;
  if (Object.keys(changes).length === 0) {
    closeDialog(editDialog);
    return;
  }
  if (changes.role === "admin") {
    // Making an admin hands over every account: confirmed like a deactivation, with Cancel focused.
    askConfirmation({
      title: `Make ${name.trim() || account.name} an admin?`,
      text: `${account.email} will be able to add, edit, deactivate and reactivate every account, set anyone's password and read the activity.`,
      action: "Make admin",
      danger: true,
      run: () => saveEdit(account, changes),
      // The save button is busy (disabled) right now; Cancel comes back to the choice being confirmed.
      returnTo: role,
    });
    return;
  }
  await saveEdit(account, changes);
});

// Set password (someone else's), or change your own (which needs your current one)
const resetDialog = byId<HTMLDialogElement>("reset-dialog");
const resetForm = byId<HTMLFormElement>("reset-form");
let resetting: PublicUser | null = null;
setupDialog(resetDialog);
function openReset(account: PublicUser): void {
  resetting = account;
  resetForm.reset();
  clearInvalid(resetForm);
  setMessage(byId("reset-error"), null);
  const self = account.id === me?.id;
  byId("reset-title").textContent = self ? "Change your password" : `Set password for ${account.name}`;
  byId("reset-subject").textContent = account.email;
  show(byId("reset-current-field"), self);
  byId("reset-submit").textContent = self ? "Change password" : "Set password";
  field<HTMLInputElement>(resetForm, "current_password").disabled = !self;
  byId("reset-password-hint").textContent = self
    ? "8 to 128 characters, different from the current one. Common passwords such as “password123” are refused. You stay signed in here; your other sessions end."
    : "8 to 128 characters. Common passwords such as “password123” are refused. Their current sessions end.";
  openDialog(resetDialog);
}
handleSubmit(resetForm, byId("reset-error"), async () => {
  if (!resetting) return;
  const who = resetting;
  const password = field<HTMLInputElement>(resetForm, "password").value;
  if (who.id === me?.id) {
    // The admin route is for other people's passwords; your own goes through /auth/password with the current one.
    requireFilled(resetForm, { current_password: "Current password" });
    const current = field<HTMLInputElement>(resetForm, "current_password").value;
    checkNewPassword(password, "password", "New password");
    try {
      await changeOwnPassword(current, password);
    } catch (error) {
      if (error instanceof ApiError && /^new[_ ]password/i.test(error.detail)) {
        throw new FormProblem(error.detail.replace(/^new[_ ]password/i, "New password"), "password");
      }
      throw error;
    }
    resetForm.reset();
    closeDialog(resetDialog);
    flash(OWN_PASSWORD_CHANGED);
    return;
  }
  checkNewPassword(password, "password", "New password");
  await api("PUT", `/admin/users/${who.id}/password`, { password });
  resetForm.reset();
  closeDialog(resetDialog);
  flash(`New password set for ${who.name}. Their earlier sessions have ended.`);
});

// Confirmations: deactivate, reactivate, make an admin
interface Confirmation {
  title: string;
  text: string;
  action: string;
  danger: boolean;
  run: () => Promise<void>;
  /** Where focus returns on Cancel, when not the control that was focused. */
  returnTo?: HTMLElement;
}
const confirmDialog = byId<HTMLDialogElement>("confirm-dialog");
const confirmForm = byId<HTMLFormElement>("confirm-form");
let confirmation: Confirmation | null = null;
setupDialog(confirmDialog);

/** Asks before a change that is hard to take back; Cancel has the focus, so Enter twice changes nothing. */
function askConfirmation(next: Confirmation): void {
  confirmation = next;
  setMessage(byId("confirm-error"), null);
  byId("confirm-title").textContent = next.title;
  byId("confirm-text").textContent = next.text;
  const submit = byId<HTMLButtonElement>("confirm-submit");
  submit.textContent = next.action;
  submit.className = next.danger ? "button danger" : "button primary";
  openDialog(confirmDialog, byId("confirm-cancel"), next.returnTo);
}

function openActivation(account: PublicUser, activate: boolean): void {
  askConfirmation({
    title: activate ? `Reactivate ${account.name}?` : `Deactivate ${account.name}?`,
    text: activate
      ? `${account.email} will be able to sign in again with their password.`
      : `${account.email} will be signed out at once and cannot sign in until the account is reactivated.`,
    action: activate ? "Reactivate" : "Deactivate",
    danger: !activate,
    run: async () => {
      const { data } = await api<PublicUser>("PATCH", `/admin/users/${account.id}/${activate ? "activate" : "deactivate"}`);
      closeDialog(confirmDialog);
      flash(data.is_active ? `${data.name} is active again.` : `${data.name} is deactivated; their sessions have ended.`);
      await loadAccounts();
    },
  });
}

handleSubmit(confirmForm, byId("confirm-error"), async () => {
  if (!confirmation) return;
  await confirmation.run();
});

// ---------------------------------------------------------------------------------------------- activity

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
};

const REASONS: Record<string, string> = {
  wrong_password: "wrong password",
  unknown_email: "unknown email",
  inactive: "account inactive",
  throttled: "too many attempts",
  busy: "server busy",
  email_normalized: "stored email brought to one spelling when moxie started",
};

const CHANGE_FIELDS: Record<string, string> = { name: "Name", email: "Email", role: "Role", is_active: "Status" };

/** A value from an audit event's `changes`, in words: roles by name, anything else as plain text. */
function changeValue(fieldName: string, value: unknown): string {
  if (value === null || value === undefined || value === "") return "(none)";
  if (fieldName === "role" && typeof value === "string") return roleName(value);
  if (fieldName === "is_active" && typeof value === "boolean") return value ? "Active" : "Inactive";
  return typeof value === "string" ? value : JSON.stringify(value);
}

{
  const type = field<HTMLSelectElement>(activityFilters, "type");
  for (const [value, label] of Object.entries(EVENT_NAMES)) type.append(h("option", { text: label, attrs: { value } }));
}

let activitySequence = 0;

function renderPersonFilter(list: PublicUser[]): void {
  const select = field<HTMLSelectElement>(activityFilters, "person");
  const options = [h("option", { text: "Everyone", attrs: { value: "" } })];
  for (const person of [...list].sort((a, b) => collator.compare(a.name, b.name))) {
    options.push(h("option", { text: `${person.name} (${person.email})`, attrs: { value: String(person.id) } }));
  }
  if (place.person !== null && !list.some((person) => person.id === place.person)) {
    options.push(h("option", { text: `Account #${place.person}`, attrs: { value: String(place.person) } }));
  }
  select.replaceChildren(...options);
  select.value = place.person === null ? "" : String(place.person);
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
              `${changeValue(key, change.from)} → ${changeValue(key, change.to)}`,
            ]),
          );
        }
        if (list.childElementCount > 0) what.append(list);
      }
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
    if (error instanceof ApiError && sequence === activitySequence) setMessage(activityError, plainWords(error.detail));
    else throw error;
  }
}

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

// ---------------------------------------------------------------------------------------------- own password

const ownForm = byId<HTMLFormElement>("own-password-form");
const OWN_PASSWORD_CHANGED = "Your password is changed. You stay signed in here; your other sessions have ended.";

/**
 * PUT /auth/password answers with a fresh token for this tab (every other token of the account stops). The
 * console is served by the same binary as the API, so there is no older server to fall back for.
 */
async function changeOwnPassword(current: string, next: string): Promise<void> {
  const { data } = await api<{ access_token: string }>("PUT", "/auth/password", { current_password: current, new_password: next });
  saveToken(data.access_token);
}

handleSubmit(ownForm, byId("own-password-error"), async () => {
  flash(null);
  requireFilled(ownForm, { current_password: "Current password", new_password: "New password" });
  const current = field<HTMLInputElement>(ownForm, "current_password").value;
  const next = field<HTMLInputElement>(ownForm, "new_password").value;
  checkNewPassword(next, "new_password", "New password");
  if (field<HTMLInputElement>(ownForm, "confirm_password").value !== next) {
    throw new FormProblem("The two new passwords do not match", "confirm_password");
  }
  await changeOwnPassword(current, next);
  ownForm.reset();
  flash(OWN_PASSWORD_CHANGED);
});

// ---------------------------------------------------------------------------------------------- start

for (const form of document.querySelectorAll<HTMLFormElement>("form")) {
  form.addEventListener("input", (event) => {
    const target = event.target;
    if (target instanceof HTMLElement && target.getAttribute("aria-invalid")) target.removeAttribute("aria-invalid");
  });
}

enhancePasswordFields();

async function boot(): Promise<void> {
  if (!token) {
    endSession(null);
    return;
  }
  try {
    await startSession();
  } catch (error) {
    if (error instanceof SessionEnded) return;
    endSession(error instanceof ApiError ? plainWords(error.detail) : "The console could not start; sign in again.");
  }
}

void boot();
