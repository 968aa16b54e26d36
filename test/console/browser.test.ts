// The console in a real browser: Debian's Chromium, driven by playwright-core, against the COMPILED moxie
// (built with the package.json "build" flags, copied alone into an empty directory) on 127.0.0.1.
// Screenshots go to test-artifacts/console/ (or $SCREENSHOT_DIR); the folder is printed.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { ROOT, tempDir } from "../helpers.ts";
import { binaryAloneIn, compiledBinary } from "../support/binary.ts";
import { freePort, listeningUrl, login, runCli, startServe } from "../support/processes.ts";

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const SECRET_KEY = "console-browser-test-secret-0123456789abcdef";
const ADMIN = { email: "admin@example.com", name: "Office Admin", password: "Console-Admin-Pass-1" };
const ADMIN_NEW_PASSWORD = "Console-Admin-Pass-2";
const AGENT = { email: "avery.agent@example.com", name: "Avery Agent", password: "Agent-Initial-Pass-1" };
const AGENT_RESET_PASSWORD = "Agent-Reset-Pass-2";
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 375, height: 812 };
const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR || join(ROOT, "test-artifacts", "console");

let browser: Browser | undefined;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM}: the console's browser tests need it. ` +
        "Install it with `apt-get update && apt-get install -y chromium` (as root), as .ci/run does.",
    );
  }
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  for (const name of readdirSync(SCREENSHOT_DIR)) {
    if (name.startsWith("failed-") && name.endsWith(".png")) rmSync(join(SCREENSHOT_DIR, name));
  }
  await compiledBinary();
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  console.log(`console screenshots: ${SCREENSHOT_DIR}`);
});

/** The binary alone in an empty directory, with an admin created by its own CLI, serving on a free port. */
async function startConsoleServer(): Promise<string> {
  const dir = tempDir("moxie-console-bin-");
  const binary = await binaryAloneIn(dir);
  expect(readdirSync(dir)).toEqual(["moxie"]);
  const created = await runCli(["create-admin", "--email", ADMIN.email, "--name", ADMIN.name, "--password", ADMIN.password], {
    cwd: dir,
    command: [binary],
  });
  if (created.code !== 0) throw new Error(`create-admin failed (${created.code}): ${created.stderr}`);
  const server = startServe(["--port", String(freePort())], { cwd: dir, env: { SECRET_KEY }, command: [binary] });
  return listeningUrl(server);
}

/** Records what must never happen on a console page: a CSP refusal, an uncaught error, a token in a URL. */
interface Watch {
  problems: string[];
  adminCalls: string[];
}

async function newConsolePage(context: BrowserContext): Promise<{ page: Page; watch: Watch }> {
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const watch: Watch = { problems: [], adminCalls: [] };
  page.on("pageerror", (error) => watch.problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    const text = message.text();
    if (/Content Security Policy|Refused to/i.test(text)) watch.problems.push(`CSP: ${text}`);
  });
  page.on("request", (request) => {
    const url = request.url();
    if (/eyJ[\w-]+\.[\w-]+\.[\w-]+/.test(url) || /token=/i.test(url)) watch.problems.push(`token in a URL: ${url}`);
    if (new URL(url).pathname.startsWith("/admin/")) watch.adminCalls.push(url);
  });
  return { page, watch };
}

async function signInWith(page: Page, email: string, password: string): Promise<void> {
  const form = page.locator("#signin-form");
  await form.getByLabel("Email").fill(email);
  await form.getByLabel("Password").fill(password);
  await form.getByRole("button", { name: "Sign in" }).click();
}

async function storedToken(page: Page): Promise<string | null> {
  return page.evaluate<string | null>(`sessionStorage.getItem("moxie.console.token")`);
}

/** Waits until the accounts table shows `count` rows. (Polled from here: the page's CSP forbids eval.) */
async function waitForRows(page: Page, count: number, ms = 10_000): Promise<void> {
  const rows = page.locator("#accounts-body tr");
  const deadline = Date.now() + ms;
  while ((await rows.count()) !== count) {
    if (Date.now() > deadline) throw new Error(`the accounts table has ${await rows.count()} rows, not ${count}`);
    await Bun.sleep(50);
  }
}

function accountRow(page: Page, email: string) {
  return page.locator(`#accounts-body tr[data-email="${email}"]`);
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOT_DIR, name), fullPage: true });
}

/** Runs one step of the story; a failure names the step and leaves a screenshot of every open page. */
async function step(name: string, pages: Page[], body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
    for (const [index, page] of pages.entries()) {
      await page.screenshot({ path: join(SCREENSHOT_DIR, `failed-${slug}-${index}.png`), fullPage: true }).catch(() => {});
    }
    throw new Error(`step "${name}" failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

describe("admin console in Chromium, on the compiled binary", () => {
  test(
    "an admin runs the team's accounts, an agent sees only their own",
    async () => {
      if (!browser) throw new Error("the browser did not start");
      const url = await startConsoleServer();
      const adminContext = await browser.newContext({ viewport: DESKTOP });
      const agentContext = await browser.newContext({ viewport: DESKTOP });
      const { page: admin, watch: adminWatch } = await newConsolePage(adminContext);
      const { page: agent, watch: agentWatch } = await newConsolePage(agentContext);
      const pages = [admin, agent];

      await step("the sign-in page", pages, async () => {
        const response = await admin.goto(`${url}/console`);
        expect(admin.url()).toBe(`${url}/console/`);
        expect(response?.headers()["content-security-policy"]).toContain("script-src 'self'");
        await admin.locator("#signin-form").getByLabel("Email").waitFor();
        expect(await admin.title()).toContain("moxie");
        // Keyboard first: the email field has focus when the page opens.
        expect(await admin.evaluate<string>("document.activeElement.id")).toBe("signin-email");
        await shot(admin, "signin-desktop.png");
        await admin.setViewportSize(PHONE);
        await shot(admin, "signin-phone.png");
        await admin.setViewportSize(DESKTOP);
      });

      await step("a wrong password is refused next to the form, the email kept", pages, async () => {
        await signInWith(admin, ADMIN.email, "not-the-right-password");
        await admin.locator("#signin-error", { hasText: "Invalid email or password" }).waitFor();
        expect(await admin.locator("#signin-form").getByLabel("Email").inputValue()).toBe(ADMIN.email);
        expect(await storedToken(admin)).toBeNull();
      });

      await step("sign in as the admin", pages, async () => {
        await signInWith(admin, ADMIN.email, ADMIN.password);
        await accountRow(admin, ADMIN.email).waitFor();
        expect(await admin.locator("#who-name").textContent()).toBe(ADMIN.name);
        expect(await admin.locator("#who-email").textContent()).toBe(ADMIN.email);
        const token = await storedToken(admin);
        expect(token).toMatch(/^eyJ/);
        expect(admin.url()).not.toContain(token!);
        expect(await admin.evaluate<number>("localStorage.length")).toBe(0);
        expect(await accountRow(admin, ADMIN.email).locator("td").allInnerTexts()).toEqual(
          expect.arrayContaining([ADMIN.email, "Admin", "Active"]),
        );
      });

      await step("add an agent; a common password is refused first, nothing typed lost", pages, async () => {
        await admin.getByRole("button", { name: "Add account" }).click();
        const dialog = admin.locator("#add-dialog");
        await dialog.waitFor();
        expect(await dialog.getAttribute("open")).not.toBeNull();
        expect(await dialog.locator("#add-password-hint").innerText()).toContain("8 to 128 characters");
        await dialog.getByLabel("Name").fill(AGENT.name);
        await dialog.getByLabel("Email").fill(AGENT.email);
        await dialog.getByLabel("Role").selectOption("agent");
        await dialog.getByLabel("Initial password").fill("password123");
        await dialog.getByRole("button", { name: "Create account" }).click();
        await dialog.locator("#add-error", { hasText: "Password is too common" }).waitFor();
        expect(await dialog.getByLabel("Name").inputValue()).toBe(AGENT.name);
        expect(await dialog.getByLabel("Email").inputValue()).toBe(AGENT.email);
        expect(await dialog.getByLabel("Initial password").inputValue()).toBe("password123");
        expect(await dialog.getByLabel("Initial password").getAttribute("aria-invalid")).toBe("true");

        await dialog.getByLabel("Initial password").fill(AGENT.password);
        await dialog.getByRole("button", { name: "Create account" }).click();
        await dialog.waitFor({ state: "hidden" });
        await admin.locator("#accounts-flash", { hasText: `Account created for ${AGENT.name}` }).waitFor();
      });

      await step("the agent appears in the table", pages, async () => {
        const row = accountRow(admin, AGENT.email);
        await row.waitFor();
        const cells = await row.locator("td").allInnerTexts();
        expect(cells).toEqual(expect.arrayContaining([AGENT.email, "Agent", "Active"]));
        expect(cells.join(" ")).toContain(AGENT.name);
        expect(await admin.locator("#accounts-count").innerText()).toBe("2 accounts");
      });

      await step("a duplicate email shows the error and keeps the form filled", pages, async () => {
        await admin.getByRole("button", { name: "Add account" }).click();
        const dialog = admin.locator("#add-dialog");
        await dialog.getByLabel("Name").fill("Someone Else");
        await dialog.getByLabel("Email").fill("Avery.Agent@Example.com");
        await dialog.getByLabel("Initial password").fill("Another-Good-Pass-9");
        await dialog.getByRole("button", { name: "Create account" }).click();
        await dialog.locator("#add-error", { hasText: "Email already registered" }).waitFor();
        expect(await dialog.isVisible()).toBe(true);
        expect(await dialog.getByLabel("Name").inputValue()).toBe("Someone Else");
        expect(await dialog.getByLabel("Email").inputValue()).toBe("Avery.Agent@Example.com");
        expect(await dialog.getByLabel("Initial password").inputValue()).toBe("Another-Good-Pass-9");
        expect(await dialog.getByLabel("Email").getAttribute("aria-invalid")).toBe("true");
        await shot(admin, "add-duplicate-desktop.png");
        await admin.setViewportSize(PHONE);
        await shot(admin, "add-duplicate-phone.png");
        await admin.setViewportSize(DESKTOP);
        // Escape closes the dialog, as a keyboard user expects.
        await admin.keyboard.press("Escape");
        await dialog.waitFor({ state: "hidden" });
      });

      await step("search by name or email, filter by role and status", pages, async () => {
        const search = admin.locator("#filters").getByLabel("Search");
        await search.fill("avery");
        await waitForRows(admin, 1);
        await accountRow(admin, AGENT.email).waitFor();
        await search.fill("");
        await admin.locator("#filters").getByLabel("Role").selectOption("admin");
        await waitForRows(admin, 1);
        await accountRow(admin, ADMIN.email).waitFor();
        await admin.locator("#filters").getByLabel("Role").selectOption("");
        await admin.locator("#filters").getByLabel("Status").selectOption("false");
        await admin.locator("#accounts-empty").waitFor();
        await admin.locator("#filters").getByLabel("Status").selectOption("");
        await waitForRows(admin, 2);
      });

      await step("the agent signs in (by keyboard) and sees only their own account", pages, async () => {
        await agent.goto(`${url}/console/`);
        await agent.locator("#signin-email").waitFor();
        await agent.keyboard.type(AGENT.email);
        await agent.keyboard.press("Tab");
        await agent.keyboard.type(AGENT.password);
        await agent.keyboard.press("Enter");
        await agent.locator("#panel-profile").waitFor();
        expect(await agent.locator("#me-email").innerText()).toBe(AGENT.email);
        expect(await agent.locator("#who-name").innerText()).toBe(AGENT.name);
        expect(await agent.getByRole("button", { name: /Add account|Edit|Deactivate|Reactivate|Set password/ }).count()).toBe(0);
        expect(await agent.locator("#admin-nav").isVisible()).toBe(false);
        expect(await agent.locator("#panel-accounts").isVisible()).toBe(false);
        expect(await agent.locator("#panel-activity").isVisible()).toBe(false);
        expect(await agent.locator("#accounts-body tr").count()).toBe(0);
        expect(await agent.getByRole("button", { name: "Change password" }).isVisible()).toBe(true);
        expect(agentWatch.adminCalls).toEqual([]);
      });

      await step("deactivate the agent through the confirmation dialog", pages, async () => {
        await admin.getByRole("button", { name: `Deactivate ${AGENT.name}` }).click();
        const dialog = admin.locator("#confirm-dialog");
        await dialog.waitFor();
        expect(await dialog.innerText()).toContain(AGENT.email);
        // Cancel first: nothing changes.
        await dialog.getByRole("button", { name: "Cancel" }).click();
        await dialog.waitFor({ state: "hidden" });
        expect(await accountRow(admin, AGENT.email).innerText()).toContain("Active");

        // By keyboard: the dialog opens with its action focused; Enter confirms.
        await admin.getByRole("button", { name: `Deactivate ${AGENT.name}` }).focus();
        await admin.keyboard.press("Enter");
        await dialog.waitFor();
        expect(await admin.evaluate<string>("document.activeElement.textContent")).toBe("Deactivate");
        await admin.keyboard.press("Enter");
        await dialog.waitFor({ state: "hidden" });
        await accountRow(admin, AGENT.email).locator(".status", { hasText: "Inactive" }).waitFor();
        // Focus lands on the row's new action, not lost on the page.
        await admin.getByRole("button", { name: `Reactivate ${AGENT.name}` }).waitFor();
        expect(await admin.evaluate<string>("document.activeElement.getAttribute('aria-label')")).toBe(`Reactivate ${AGENT.name}`);
      });

      await step("the agent's session is rejected at its next action", pages, async () => {
        const form = agent.locator("#own-password-form");
        await form.getByLabel("Current password").fill(AGENT.password);
        await form.getByLabel("New password", { exact: true }).fill("Agent-Own-Pass-3");
        await form.getByLabel("Repeat new password").fill("Agent-Own-Pass-3");
        await form.getByRole("button", { name: "Change password" }).click();
        await agent.locator("#signin-notice", { hasText: "Your session ended; sign in again" }).waitFor();
        await agent.locator("#signin-form").waitFor();
        expect(await storedToken(agent)).toBeNull();
        expect(await agent.locator("#signin-form").getByLabel("Email").inputValue()).toBe(AGENT.email);
        await signInWith(agent, AGENT.email, AGENT.password);
        await agent.locator("#signin-error", { hasText: "Account is inactive" }).waitFor();
      });

      await step("reactivate the agent", pages, async () => {
        await admin.getByRole("button", { name: `Reactivate ${AGENT.name}` }).click();
        const dialog = admin.locator("#confirm-dialog");
        await dialog.waitFor();
        await dialog.getByRole("button", { name: "Reactivate" }).click();
        await dialog.waitFor({ state: "hidden" });
        await accountRow(admin, AGENT.email).locator(".status", { hasText: "Active" }).waitFor();
        await admin.locator("#accounts-flash", { hasText: "is active again" }).waitFor();
      });

      await step("edit the agent's name; an invalid email is refused in plain words", pages, async () => {
        await admin.getByRole("button", { name: `Edit ${AGENT.name}` }).click();
        const dialog = admin.locator("#edit-dialog");
        await dialog.waitFor();
        expect(await dialog.getByLabel("Email").inputValue()).toBe(AGENT.email);
        await dialog.getByLabel("Name").fill("Avery Q. Agent");
        await dialog.getByLabel("Email").fill("not-an-email");
        await dialog.getByRole("button", { name: "Save changes" }).click();
        await dialog.locator("#edit-error", { hasText: "Email must be a valid email address" }).waitFor();
        expect(await dialog.getByLabel("Name").inputValue()).toBe("Avery Q. Agent");
        await dialog.getByLabel("Email").fill(AGENT.email);
        await dialog.getByRole("button", { name: "Save changes" }).click();
        await dialog.waitFor({ state: "hidden" });
        await accountRow(admin, AGENT.email).locator(".name-text", { hasText: "Avery Q. Agent" }).waitFor();
      });

      await step("set the agent's password; the agent signs in with it", pages, async () => {
        await admin.getByRole("button", { name: "Set password for Avery Q. Agent" }).click();
        const dialog = admin.locator("#reset-dialog");
        await dialog.waitFor();
        await dialog.getByLabel("New password").fill(AGENT_RESET_PASSWORD);
        await dialog.getByRole("button", { name: "Set password" }).click();
        await dialog.waitFor({ state: "hidden" });
        await admin.locator("#accounts-flash", { hasText: "New password set for Avery Q. Agent" }).waitFor();

        await signInWith(agent, AGENT.email, AGENT.password);
        await agent.locator("#signin-error", { hasText: "Invalid email or password" }).waitFor();
        await signInWith(agent, AGENT.email, AGENT_RESET_PASSWORD);
        await agent.locator("#panel-profile").waitFor();
        expect(await agent.locator("#me-name").innerText()).toBe("Avery Q. Agent");
      });

      await step("the agent's view has no admin actions", pages, async () => {
        expect(await agent.getByRole("button", { name: /Add account|Edit|Deactivate|Reactivate|Set password/ }).count()).toBe(0);
        expect(await agent.getByRole("table").count()).toBe(0);
        expect(await agent.locator("#admin-nav").isVisible()).toBe(false);
        expect(agentWatch.adminCalls).toEqual([]);
        await agent.setViewportSize(PHONE);
        await shot(agent, "agent-phone.png");
      });

      await step("screenshots of the accounts table, desktop and phone", pages, async () => {
        // A few more colleagues, so the table looks like a team's.
        const token = (await storedToken(admin))!;
        const headers = { "content-type": "application/json", authorization: `Bearer ${token}` };
        const colleagues = [
          { name: "Jordan Lee", email: "jordan.lee@example.com", role: "agent" },
          { name: "Priya Natarajan", email: "priya.natarajan@example.com", role: "admin" },
          { name: "Sam Ortiz", email: "sam.ortiz@example.com", role: "agent" },
        ];
        for (const colleague of colleagues) {
          const created = await fetch(`${url}/admin/users`, {
            method: "POST",
            headers,
            body: JSON.stringify({ ...colleague, password: "Colleague-Pass-Word-7" }),
          });
          expect(created.status).toBe(201);
          if (colleague.name === "Sam Ortiz") {
            const { id } = (await created.json()) as { id: number };
            expect((await fetch(`${url}/admin/users/${id}/deactivate`, { method: "PATCH", headers })).status).toBe(200);
          }
        }
        await admin.reload();
        await accountRow(admin, "sam.ortiz@example.com").waitFor();
        expect(await admin.locator("#accounts-body tr").count()).toBe(5);
        await admin.locator("#accounts-flash").waitFor({ state: "hidden" });
        await shot(admin, "accounts-desktop.png");
        await admin.setViewportSize(PHONE);
        await shot(admin, "accounts-phone.png");
        // Nothing is wider than the phone's screen.
        expect(await admin.evaluate<number>("document.documentElement.scrollWidth")).toBeLessThanOrEqual(PHONE.width);
        await admin.setViewportSize(DESKTOP);
      });

      await step("the recent activity panel", pages, async () => {
        await admin.getByRole("button", { name: "Activity" }).click();
        await admin.locator("#activity-body tr").first().waitFor();
        const text = await admin.locator("#activity-body").innerText();
        for (const event of ["Account created", "Account deactivated", "Account reactivated", "Password set by admin", "Signed in", "Sign-in refused"]) {
          expect(text).toContain(event);
        }
        expect(text).toContain(AGENT.email);
        expect(adminWatch.adminCalls.some((call) => call.includes("/admin/audit?limit=50"))).toBe(true);
        await shot(admin, "activity-desktop.png");
      });

      await step("change own password", pages, async () => {
        await admin.getByRole("button", { name: "My account" }).click();
        const form = admin.locator("#own-password-form");
        await form.getByLabel("Current password").fill("not-my-password");
        await form.getByLabel("New password", { exact: true }).fill(ADMIN_NEW_PASSWORD);
        await form.getByLabel("Repeat new password").fill(ADMIN_NEW_PASSWORD);
        await form.getByRole("button", { name: "Change password" }).click();
        await admin.locator("#own-password-error", { hasText: "Current password is incorrect" }).waitFor();
        expect(await form.getByLabel("New password", { exact: true }).inputValue()).toBe(ADMIN_NEW_PASSWORD);

        const before = await storedToken(admin);
        await form.getByLabel("Current password").fill(ADMIN.password);
        await form.getByRole("button", { name: "Change password" }).click();
        await admin.locator("#own-password-flash", { hasText: "Password changed" }).waitFor();
        const after = await storedToken(admin);
        expect(after).toMatch(/^eyJ/);
        expect(after).not.toBe(before);
        expect((await fetch(`${url}/auth/me`, { headers: { authorization: `Bearer ${before}` } })).status).toBe(401);
        expect((await login(url, ADMIN.email, ADMIN.password)).status).toBe(401);
        // Still signed in here, with the fresh token.
        await admin.getByRole("button", { name: "Accounts" }).click();
        await accountRow(admin, AGENT.email).waitFor();
      });

      await step("sign out; the old token no longer works", pages, async () => {
        const token = await storedToken(admin);
        expect((await fetch(`${url}/auth/me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
        await admin.getByRole("button", { name: "Sign out" }).click();
        await admin.locator("#signin-notice", { hasText: "You are signed out" }).waitFor();
        expect(await storedToken(admin)).toBeNull();
        expect(await admin.locator("#session").isVisible()).toBe(false);
        expect((await fetch(`${url}/auth/me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
        // The new password works.
        await signInWith(admin, ADMIN.email, ADMIN_NEW_PASSWORD);
        await accountRow(admin, ADMIN.email).waitFor();
      });

      await step("no CSP refusal, page error or token in a URL on either page", pages, async () => {
        expect(adminWatch.problems).toEqual([]);
        expect(agentWatch.problems).toEqual([]);
      });

      await adminContext.close();
      await agentContext.close();
    },
    180_000,
  );
});
