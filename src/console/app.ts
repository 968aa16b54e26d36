/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/// <reference lib="dom.asynciterable" />
// The admin console in the browser: plain DOM, no framework. It talks to the same JSON API as any client,
// with the bearer token kept in sessionStorage (this tab only, gone when it closes), never in a URL.
// Bundled by bundle.ts (a build-time macro) and served as /console/app.js.

interface PublicUser {
  id: number;
  name: string;
  email: string;
  role: "admin" | "agent";
  is_active: boolean;
  created_at: string;
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
}

const TOKEN_KEY = "moxie.console.token";
const PAGE_SIZE = 50;
const SESSION_ENDED = "Your session ended; sign in again.";

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

function setMessage(element: HTMLElement, text: string | null): void {
  element.textContent = text ?? "";
  show(element, Boolean(text));
}

const dateFormat = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", day: "numeric" });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  month: "short",
  day: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
});

function timeElement(iso: string, format: Intl.DateTimeFormat): HTMLTimeElement {
  const date = new Date(iso);
  const text = Number.isNaN(date.getTime()) ? iso : format.format(date);
  return h("time", { text, attrs: { datetime: iso, title: iso } });
}

/** The server's sentence, as a person reads it: "new_password is too common" → "New password is too common." */
function plainWords(detail: string): string {
  let text = detail
    .replace(/\bnew_password\b/g, "new password")
    .replace(/\bcurrent_password\b/g, "current password")
    .replace(/\bis_active\b/g, "status")
    .trim();
  if (text === "") text = "Something went wrong";
  text = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(text) ? text : `${text}.`;
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
  if (response.status === 401 && signedIn) {
    endSession(SESSION_ENDED);
    throw new SessionEnded();
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
  if (!response.ok) {
    const detail =
      payload && typeof payload === "object" && typeof (payload as { detail?: unknown }).detail === "string"
        ? (payload as { detail: string }).detail
        : `The server answered ${response.status} ${response.statusText}`.trim();
    throw new ApiError(response.status, detail);
  }
  return { data: payload as T, headers: response.headers };
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
  if (target instanceof HTMLInputElement || target instanceof HTMLSelectElement) {
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
function handleSubmit(form: HTMLFormElement, errorElement: HTMLElement, action: () => Promise<void>): void {
  let busy = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (busy) return;
    busy = true;
    const buttons = [...form.querySelectorAll<HTMLButtonElement>("button[type=submit]")];
    for (const button of buttons) {
      button.disabled = true;
      button.setAttribute("aria-busy", "true");
    }
    clearInvalid(form);
    setMessage(errorElement, null);
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
    }
  });
}

function requireFilled(form: HTMLFormElement, names: Record<string, string>): void {
  for (const [name, label] of Object.entries(names)) {
    if (field<HTMLInputElement>(form, name).value.trim() === "") throw new FormProblem(`${label} is required`, name);
  }
}

function checkNewPassword(value: string, fieldName: string, label: string): void {
  const length = value.normalize("NFC").length;
  if (length < 8 || length > 128) throw new FormProblem(`${label} must be 8 to 128 characters`, fieldName);
}

// ---------------------------------------------------------------------------------------------- dialogs

const openers = new WeakMap<HTMLDialogElement, HTMLElement | null>();

function openDialog(dialog: HTMLDialogElement, focus?: HTMLElement): void {
  openers.set(dialog, document.activeElement instanceof HTMLElement ? document.activeElement : null);
  dialog.showModal();
  (focus ?? dialog.querySelector<HTMLElement>("input, select, button[type=submit]"))?.focus();
}

function closeDialog(dialog: HTMLDialogElement): void {
  if (dialog.open) dialog.close();
}

function setupDialog(dialog: HTMLDialogElement): void {
  for (const button of dialog.querySelectorAll<HTMLButtonElement>("[data-close]")) {
    button.addEventListener("click", () => closeDialog(dialog));
  }
  dialog.addEventListener("close", () => {
    const opener = openers.get(dialog);
    if (opener && opener.isConnected && !views.app.hidden) opener.focus();
  });
}

function closeAllDialogs(): void {
  for (const dialog of document.querySelectorAll<HTMLDialogElement>("dialog")) closeDialog(dialog);
}

// ---------------------------------------------------------------------------------------------- state

let me: PublicUser | null = null;
let accounts: PublicUser[] = [];
let page = 0;
let total = 0;
type Tab = "accounts" | "activity" | "profile";

const views = {
  loading: byId("view-loading"),
  signin: byId("view-signin"),
  app: byId("view-app"),
};

function showView(name: keyof typeof views): void {
  for (const [key, element] of Object.entries(views)) show(element, key === name);
}

// ---------------------------------------------------------------------------------------------- session

const signinForm = byId<HTMLFormElement>("signin-form");
const signinNotice = byId("signin-notice");
const signinError = byId("signin-error");

/**
 * Back to the sign-in form, the token forgotten, with `notice` above it. A session that ended on its own
 * keeps what was typed in the account dialogs (sign in again and carry on); signing out clears it all.
 */
function endSession(notice: string | null, options: { clearDrafts?: boolean } = {}): void {
  const email = me?.email;
  saveToken(null);
  me = null;
  accounts = [];
  page = 0;
  closeAllDialogs();
  byId("accounts-body").replaceChildren();
  byId("activity-body").replaceChildren();
  setMessage(byId("accounts-flash"), null);
  setMessage(byId("own-password-flash"), null);
  byId<HTMLFormElement>("own-password-form").reset();
  byId<HTMLFormElement>("reset-form").reset();
  if (options.clearDrafts) {
    for (const form of document.querySelectorAll<HTMLFormElement>("dialog form, #filters")) form.reset();
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
  await selectTab(admin ? "accounts" : "profile", false);
}

handleSubmit(signinForm, signinError, async () => {
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
  byId("main").focus();
});

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
  roleBadge.textContent = me.role === "admin" ? "Admin" : "Agent";
  roleBadge.className = `badge role-${me.role}`;
  byId("me-name").textContent = me.name;
  byId("me-email").textContent = me.email;
  byId("me-role").textContent = me.role === "admin" ? "Admin" : "Agent";
  byId("me-created").replaceChildren(timeElement(me.created_at, dateFormat));
  document.title = "moxie console";
}

// ---------------------------------------------------------------------------------------------- tabs

const panels: Record<Tab, HTMLElement> = {
  accounts: byId("panel-accounts"),
  activity: byId("panel-activity"),
  profile: byId("panel-profile"),
};

async function selectTab(tab: Tab, focus = true): Promise<void> {
  if (me?.role !== "admin") tab = "profile";
  for (const [key, panel] of Object.entries(panels)) show(panel, key === tab);
  for (const button of document.querySelectorAll<HTMLButtonElement>("#admin-nav [data-tab]")) {
    if (button.dataset.tab === tab) button.setAttribute("aria-current", "page");
    else button.removeAttribute("aria-current");
  }
  if (focus) panels[tab].querySelector<HTMLElement>("h1")?.focus();
  try {
    if (tab === "accounts") await loadAccounts();
    if (tab === "activity") await loadActivity();
  } catch (error) {
    if (!(error instanceof SessionEnded)) throw error;
  }
}

for (const button of document.querySelectorAll<HTMLButtonElement>("#admin-nav [data-tab]")) {
  button.addEventListener("click", () => void selectTab(button.dataset.tab as Tab));
}
for (const heading of document.querySelectorAll<HTMLElement>(".panel h1")) heading.tabIndex = -1;

// ---------------------------------------------------------------------------------------------- accounts

const filtersForm = byId<HTMLFormElement>("filters");
const accountsError = byId("accounts-error");
const accountsFlash = byId("accounts-flash");

function flash(message: string): void {
  setMessage(accountsFlash, message);
}

let loadSequence = 0;

async function loadAccounts(): Promise<void> {
  const sequence = ++loadSequence;
  const params = new URLSearchParams();
  const q = field<HTMLInputElement>(filtersForm, "q").value.trim();
  const role = field<HTMLSelectElement>(filtersForm, "role").value;
  const active = field<HTMLSelectElement>(filtersForm, "is_active").value;
  if (q !== "") params.set("q", q);
  if (role !== "") params.set("role", role);
  if (active !== "") params.set("is_active", active);
  params.set("limit", String(PAGE_SIZE));
  params.set("offset", String(page * PAGE_SIZE));
  try {
    const { data, headers } = await api<PublicUser[]>("GET", `/admin/users?${params}`);
    if (sequence !== loadSequence) return;
    setMessage(accountsError, null);
    accounts = data;
    total = Number(headers.get("x-total-count") ?? data.length);
    if (data.length === 0 && page > 0 && total > 0) {
      page = Math.max(0, Math.ceil(total / PAGE_SIZE) - 1);
      return loadAccounts();
    }
    renderAccounts();
  } catch (error) {
    if (error instanceof ApiError && sequence === loadSequence) setMessage(accountsError, plainWords(error.detail));
    else throw error;
  }
}

function roleBadge(role: PublicUser["role"]): HTMLElement {
  return h("span", { className: `badge role-${role}`, text: role === "admin" ? "Admin" : "Agent" });
}

function statusBadge(active: boolean): HTMLElement {
  return h("span", { className: `status ${active ? "is-active" : "is-inactive"}`, text: active ? "Active" : "Inactive" });
}

function actionButton(label: string, accessibleName: string, onClick: () => void, className = "link-button"): HTMLButtonElement {
  const button = h("button", { className, text: label, attrs: { type: "button", "aria-label": accessibleName } });
  button.addEventListener("click", onClick);
  return button;
}

function renderAccounts(): void {
  const body = byId("accounts-body");
  const rows = accounts.map((account) => {
    const self = account.id === me?.id;
    const actions = h("div", { className: "row-actions" }, [
      actionButton("Edit", `Edit ${account.name}`, () => openEdit(account)),
      actionButton("Set password", `Set password for ${account.name}`, () => openReset(account)),
    ]);
    if (!self) {
      actions.append(
        account.is_active
          ? actionButton("Deactivate", `Deactivate ${account.name}`, () => openConfirm(account, false), "link-button danger")
          : actionButton("Reactivate", `Reactivate ${account.name}`, () => openConfirm(account, true)),
      );
    }
    const name = h("div", { className: "name" }, [
      h("span", { className: "avatar", text: initials(account.name), attrs: { "aria-hidden": "true" } }),
      h("span", { className: "name-text", text: account.name }),
    ]);
    if (self) name.append(h("span", { className: "you", text: "you" }));
    const nameCell = h("td", { className: "cell-name" }, [name]);
    const row = h("tr", { attrs: { "data-email": account.email, "data-id": String(account.id) } }, [
      nameCell,
      h("td", { className: "cell-email", text: account.email, attrs: { "data-label": "Email" } }),
      h("td", { attrs: { "data-label": "Role" } }, [roleBadge(account.role)]),
      h("td", { attrs: { "data-label": "Status" } }, [statusBadge(account.is_active)]),
      h("td", { className: "cell-date", attrs: { "data-label": "Created" } }, [timeElement(account.created_at, dateFormat)]),
      h("td", { className: "cell-actions" }, [actions]),
    ]);
    if (!account.is_active) row.classList.add("inactive");
    return row;
  });
  // A re-render replaces the row buttons: keep keyboard focus on the same row (and action, if still offered).
  const focused = document.activeElement instanceof HTMLButtonElement && body.contains(document.activeElement) ? document.activeElement : null;
  const focusedRow = focused?.closest("tr")?.dataset.id;
  const focusedIndex = focused ? [...(focused.closest("tr")?.querySelectorAll("button") ?? [])].indexOf(focused) : -1;
  body.replaceChildren(...rows);
  if (focused && focusedRow) {
    const buttons = [...body.querySelectorAll<HTMLButtonElement>(`tr[data-id="${focusedRow}"] button`)];
    const label = focused.getAttribute("aria-label");
    (buttons.find((button) => button.getAttribute("aria-label") === label) ?? buttons[focusedIndex] ?? buttons[0])?.focus();
  }
  show(byId("accounts-empty"), accounts.length === 0);
  const filtered =
    field<HTMLInputElement>(filtersForm, "q").value.trim() !== "" ||
    field<HTMLSelectElement>(filtersForm, "role").value !== "" ||
    field<HTMLSelectElement>(filtersForm, "is_active").value !== "";
  byId("accounts-count").textContent = `${total} ${total === 1 ? "account" : "accounts"}${filtered ? " match" : ""}`;
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
  show(byId("accounts-pager"), pages > 1);
  byId("page-label").textContent = `Page ${page + 1} of ${pages}`;
  byId<HTMLButtonElement>("page-prev").disabled = page === 0;
  byId<HTMLButtonElement>("page-next").disabled = page + 1 >= pages;
}

function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  const letters = parts.length > 1 ? [parts[0], parts[parts.length - 1]] : [parts[0]];
  return letters.map((part) => [...(part ?? "")][0] ?? "").join("").toUpperCase() || "?";
}

let searchTimer: ReturnType<typeof setTimeout> | undefined;
function reloadFromFilters(delay: number): void {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(() => {
    page = 0;
    void loadAccounts().catch(ignoreSessionEnded);
  }, delay);
}

function ignoreSessionEnded(error: unknown): void {
  if (!(error instanceof SessionEnded)) console.error(error);
}

field<HTMLInputElement>(filtersForm, "q").addEventListener("input", () => reloadFromFilters(250));
field<HTMLSelectElement>(filtersForm, "role").addEventListener("change", () => reloadFromFilters(0));
field<HTMLSelectElement>(filtersForm, "is_active").addEventListener("change", () => reloadFromFilters(0));
filtersForm.addEventListener("submit", (event) => {
  event.preventDefault();
  reloadFromFilters(0);
});
byId("page-prev").addEventListener("click", () => {
  page = Math.max(0, page - 1);
  void loadAccounts().catch(ignoreSessionEnded);
});
byId("page-next").addEventListener("click", () => {
  page += 1;
  void loadAccounts().catch(ignoreSessionEnded);
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
  const { data } = await api<PublicUser>("POST", "/admin/users", {
    name: field<HTMLInputElement>(addForm, "name").value,
    email: field<HTMLInputElement>(addForm, "email").value,
    role: field<HTMLSelectElement>(addForm, "role").value,
    password,
  });
  addForm.reset();
  closeDialog(addDialog);
  flash(`Account created for ${data.name} (${data.email}).`);
  await loadAccounts();
});

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
  field<HTMLSelectElement>(editForm, "role").value = account.role;
  openDialog(editDialog);
}
handleSubmit(editForm, byId("edit-error"), async () => {
  if (!editing) return;
  requireFilled(editForm, { name: "Name", email: "Email" });
  const changes: Record<string, string> = {};
  const name = field<HTMLInputElement>(editForm, "name").value;
  const email = field<HTMLInputElement>(editForm, "email").value;
  const role = field<HTMLSelectElement>(editForm, "role").value;
  if (name.trim() !== editing.name) changes.name = name;
  if (email.trim().toLowerCase() !== editing.email) changes.email = email;
  if (role !== editing.role) changes.role = role;
  if (Object.keys(changes).length === 0) {
    closeDialog(editDialog);
    return;
  }
  const { data } = await api<PublicUser>("PATCH", `/admin/users/${editing.id}`, changes);
  closeDialog(editDialog);
  flash(`Saved changes to ${data.name}.`);
  if (data.id === me?.id) {
    me = data;
    renderMe();
  }
  await loadAccounts();
});

// Set password
const resetDialog = byId<HTMLDialogElement>("reset-dialog");
const resetForm = byId<HTMLFormElement>("reset-form");
let resetting: PublicUser | null = null;
setupDialog(resetDialog);
function openReset(account: PublicUser): void {
  resetting = account;
  resetForm.reset();
  clearInvalid(resetForm);
  setMessage(byId("reset-error"), null);
  byId("reset-title").textContent = `Set password for ${account.name}`;
  byId("reset-subject").textContent = account.email;
  openDialog(resetDialog);
}
handleSubmit(resetForm, byId("reset-error"), async () => {
  if (!resetting) return;
  const password = field<HTMLInputElement>(resetForm, "password").value;
  checkNewPassword(password, "password", "New password");
  await api("PUT", `/admin/users/${resetting.id}/password`, { password });
  const who = resetting;
  resetForm.reset();
  closeDialog(resetDialog);
  if (who.id === me?.id) {
    // Setting your own password revokes this session's token too: sign in again with the new one.
    await signInAgain(who.email, password);
  }
  flash(`New password set for ${who.name}. Their earlier sessions have ended.`);
});

// Deactivate / reactivate
const confirmDialog = byId<HTMLDialogElement>("confirm-dialog");
const confirmForm = byId<HTMLFormElement>("confirm-form");
let confirming: { account: PublicUser; activate: boolean } | null = null;
setupDialog(confirmDialog);
function openConfirm(account: PublicUser, activate: boolean): void {
  confirming = { account, activate };
  setMessage(byId("confirm-error"), null);
  byId("confirm-title").textContent = activate ? `Reactivate ${account.name}?` : `Deactivate ${account.name}?`;
  byId("confirm-text").textContent = activate
    ? `${account.email} will be able to sign in again with their password.`
    : `${account.email} will be signed out at once and cannot sign in until the account is reactivated.`;
  const submit = byId<HTMLButtonElement>("confirm-submit");
  submit.textContent = activate ? "Reactivate" : "Deactivate";
  submit.className = activate ? "button primary" : "button danger";
  openDialog(confirmDialog, submit);
}
handleSubmit(confirmForm, byId("confirm-error"), async () => {
  if (!confirming) return;
  const { account, activate } = confirming;
  const { data } = await api<PublicUser>("PATCH", `/admin/users/${account.id}/${activate ? "activate" : "deactivate"}`);
  closeDialog(confirmDialog);
  flash(data.is_active ? `${data.name} is active again.` : `${data.name} is deactivated; their sessions have ended.`);
  await loadAccounts();
});

// ---------------------------------------------------------------------------------------------- activity

const EVENT_NAMES: Record<string, string> = {
  "login.succeeded": "Signed in",
  "login.failed": "Sign-in refused",
  logout: "Signed out",
  "password.changed": "Changed own password",
  "password.reset": "Password set by admin",
  "user.created": "Account created",
  "user.updated": "Account edited",
  "user.deactivated": "Account deactivated",
  "user.activated": "Account reactivated",
};

const REASONS: Record<string, string> = {
  wrong_password: "wrong password",
  unknown_email: "unknown email",
  inactive: "account inactive",
  throttled: "too many attempts",
};

async function loadActivity(): Promise<void> {
  const activityError = byId("activity-error");
  try {
    const [{ data: events }, { data: people }] = await Promise.all([
      api<AuditEvent[]>("GET", "/admin/audit?limit=50"),
      api<PublicUser[]>("GET", "/admin/users?limit=1000"),
    ]);
    setMessage(activityError, null);
    const byUserId = new Map(people.map((person) => [person.id, person]));
    const who = (id: number | null): string => {
      if (id === null) return "—";
      const person = byUserId.get(id);
      return person ? person.email : `account #${id}`;
    };
    const rows = events.map((event) => {
      const by = event.actor === "cli" ? "Server operator" : event.actor === "anonymous" ? "Not signed in" : who(event.actor_user_id);
      const subject = event.user_id !== null ? who(event.user_id) : (event.email ?? "—");
      const name = EVENT_NAMES[event.type] ?? event.type;
      const eventCell = h("td", { attrs: { "data-label": "Event" } }, [
        h("span", { className: `event event-${event.type.replace(/\W+/g, "-")}`, text: name }),
      ]);
      if (event.reason) eventCell.append(h("span", { className: "reason", text: REASONS[event.reason] ?? event.reason }));
      return h("tr", {}, [
        h("td", { className: "cell-date", attrs: { "data-label": "When" } }, [timeElement(event.created_at, dateTimeFormat)]),
        eventCell,
        h("td", { text: by, attrs: { "data-label": "By" } }),
        h("td", { text: subject, attrs: { "data-label": "Account" } }),
        h("td", { className: "cell-ip", text: event.ip ?? "—", attrs: { "data-label": "Address" } }),
      ]);
    });
    byId("activity-body").replaceChildren(...rows);
    show(byId("activity-empty"), rows.length === 0);
  } catch (error) {
    if (error instanceof ApiError) setMessage(activityError, plainWords(error.detail));
    else throw error;
  }
}

byId("activity-refresh").addEventListener("click", () => void loadActivity().catch(ignoreSessionEnded));

// ---------------------------------------------------------------------------------------------- own password

const ownForm = byId<HTMLFormElement>("own-password-form");
const ownFlash = byId("own-password-flash");

/** After a password change the old token is revoked; a fresh sign-in keeps this tab working. */
async function signInAgain(email: string, password: string): Promise<void> {
  try {
    const { data } = await api<{ access_token: string }>("POST", "/auth/login", { email, password }, { signedIn: false });
    saveToken(data.access_token);
  } catch {
    endSession("Your password was changed; sign in again with the new one.");
    throw new SessionEnded();
  }
}

handleSubmit(ownForm, byId("own-password-error"), async () => {
  setMessage(ownFlash, null);
  requireFilled(ownForm, { current_password: "Current password", new_password: "New password" });
  const current = field<HTMLInputElement>(ownForm, "current_password").value;
  const next = field<HTMLInputElement>(ownForm, "new_password").value;
  checkNewPassword(next, "new_password", "New password");
  if (field<HTMLInputElement>(ownForm, "confirm_password").value !== next) {
    throw new FormProblem("The two new passwords do not match", "confirm_password");
  }
  if (!me) return;
  // The answer carries a fresh token for this session; every other token of the account has stopped working.
  const { data } = await api<{ access_token: string }>("PUT", "/auth/password", { current_password: current, new_password: next });
  saveToken(data.access_token);
  ownForm.reset();
  setMessage(ownFlash, "Password changed. You stay signed in here; other sessions have ended.");
});

// ---------------------------------------------------------------------------------------------- start

for (const form of document.querySelectorAll<HTMLFormElement>("form")) {
  form.addEventListener("input", (event) => {
    const target = event.target;
    if (target instanceof HTMLElement && target.getAttribute("aria-invalid")) target.removeAttribute("aria-invalid");
  });
}

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
