// Sessions in the console, in Chromium against the COMPILED moxie: My account's "Where you are signed in" (sign out
// one device, or all the others) and an admin's Sessions dialog (end one session of an account, or all), at 320 and
// 1280 px with axe-core; the tab whose session was ended elsewhere hears so. The other "devices" sign in through the
// API with their own User-Agent (and, through TRUSTED_PROXY, an IPv6 address long enough to have to wrap at 320 px).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Browser, Page } from "playwright-core";
import { compiledBinary } from "../support/binary.ts";
import { launchChromium } from "../support/chromium.ts";
import {
  DESKTOP,
  eventually,
  expectAxeClean,
  expectNoSidewaysScroll,
  focusedDescription,
  NARROW,
  newConsolePage,
  prepareScreenshotDir,
  shot,
  signInWith,
  step,
  storedToken,
  withAxe,
} from "../support/console-page.ts";
import { startBinaryWithAdmin } from "../support/served-binary.ts";

const SECRET_KEY = "console-sessions-test-secret-0123456789abcdef";
const ADMIN = { email: "admin@example.com", name: "Office Admin", password: "Console-Admin-Pass-1" };
const AGENT_PASSWORD = "Agent-Initial-Pass-1";
/** The devices the API sign-ins claim to be, and the labels the server makes of them. */
const PHONE = {
  userAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
  label: "Safari on iPhone",
  // Nothing for the server to shorten: 38 characters, mostly wide digits, without a break chance.
  ip: "2001:db8:9999:8888:7777:6666:5555:4444",
};
const LAPTOP = {
  userAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
  label: "Firefox on Windows",
};
const TABLET = {
  userAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
  label: "Edge on Windows",
};
/** Headless Chromium's own User-Agent, as the server names it. */
const THIS_BROWSER = "Chrome on Linux";
const ENDED_ELSEWHERE = /ended elsewhere/;

let browser: Browser | undefined;

beforeAll(async () => {
  prepareScreenshotDir();
  await compiledBinary();
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
});

/** The binary with its admin; X-Forwarded-For is believed from 127.0.0.1, so an API sign-in can name its address. */
async function startServer(): Promise<string> {
  return (await startBinaryWithAdmin(ADMIN, { SECRET_KEY, TRUSTED_PROXY: "127.0.0.1" })).url;
}

/** Signs in through the API as another device would; returns its token. */
async function signInAsDevice(url: string, email: string, password: string, device: { userAgent: string; ip?: string }): Promise<string> {
  const headers: Record<string, string> = { "content-type": "application/json", "user-agent": device.userAgent };
  if (device.ip) headers["x-forwarded-for"] = device.ip;
  const response = await fetch(`${url}/auth/login`, { method: "POST", headers, body: JSON.stringify({ email, password }) });
  expect(response.status).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
}

/** What GET /auth/me answers a token: 200, or 401 with its detail. */
async function me(url: string, token: string): Promise<string> {
  const response = await fetch(`${url}/auth/me`, { headers: { authorization: `Bearer ${token}` } });
  return response.status === 200 ? "200" : `${response.status} ${((await response.json()) as { detail: string }).detail}`;
}

async function createAgent(url: string, adminToken: string, name: string, email: string): Promise<void> {
  const response = await fetch(`${url}/admin/users`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${adminToken}` },
    body: JSON.stringify({ name, email, role: "agent", password: AGENT_PASSWORD }),
  });
  expect(response.status).toBe(201);
}

/** The devices a session list shows, in order. */
async function listedDevices(page: Page, list: string): Promise<string[]> {
  return page.locator(`${list} .session-device`).allInnerTexts();
}

async function waitForDevices(page: Page, list: string, devices: string[]): Promise<void> {
  await eventually(`${list} shows ${devices.join(", ")}`, async () => {
    const shown = await listedDevices(page, list);
    return shown.length === devices.length && devices.every((device) => shown.includes(device));
  });
}

async function focusIsOnSomething(page: Page): Promise<string> {
  return page.evaluate<string>(`document.activeElement && document.activeElement !== document.body ? "something" : "body"`);
}

/** At 1280 and 320 px: no sideways scrolling (nothing outside the window or an open dialog) and axe-clean; screenshots. */
async function checkBothWidths(page: Page, where: string, shotName: string): Promise<void> {
  for (const [label, size] of [["1280", DESKTOP], ["320", NARROW]] as const) {
    await page.setViewportSize(size);
    await expectNoSidewaysScroll(page, `${where} at ${label} px`);
    await expectAxeClean(page, `${where} at ${label} px`);
    await shot(page, `${shotName}-${label}.png`);
  }
  await page.setViewportSize(DESKTOP);
}

describe("sessions in the console, in Chromium on the compiled binary", () => {
  test(
    "My account: an agent on three devices signs one out, then all the others, and stays signed in here",
    async () => {
      if (!browser) throw new Error("the browser did not start");
      const url = await startServer();
      const adminToken = await signInAsDevice(url, ADMIN.email, ADMIN.password, LAPTOP);
      const agentEmail = "avery.agent@example.com";
      await createAgent(url, adminToken, "Avery Agent", agentEmail);
      const phone = await signInAsDevice(url, agentEmail, AGENT_PASSWORD, PHONE);
      const laptop = await signInAsDevice(url, agentEmail, AGENT_PASSWORD, LAPTOP);

      const context = await withAxe(await browser.newContext({ viewport: DESKTOP }));
      const { page, watch } = await newConsolePage(context);
      const pages = [page];
      const list = "#my-sessions-list";
      const othersButton = page.getByRole("button", { name: "Sign out of all other sessions" });

      await step("signed in, My account lists the three sessions, this one marked and without a Sign out of its own", pages, async () => {
        await page.goto(`${url}/console/`);
        await signInWith(page, agentEmail, AGENT_PASSWORD);
        await waitForDevices(page, list, [THIS_BROWSER, PHONE.label, LAPTOP.label]);
        const current = page.locator(`${list} li.is-current`);
        expect(await current.count()).toBe(1);
        expect(await current.locator(".session-device").innerText()).toBe(THIS_BROWSER);
        expect(await current.innerText()).toContain("This device");
        expect(await current.getByRole("button").count()).toBe(0);
        // This device comes first; each other one has its own Sign out, named after it.
        expect((await listedDevices(page, list))[0]).toBe(THIS_BROWSER);
        expect(await page.locator(`${list} .session-sign-out`).count()).toBe(2);
        await page.getByRole("button", { name: `Sign out ${PHONE.label}, ${PHONE.ip}, signed in ` }).waitFor();
        await page.getByRole("button", { name: `Sign out ${LAPTOP.label}, 127.0.0.1, signed in ` }).waitFor();
        const phoneText = await page.locator(`${list} li`, { hasText: PHONE.label }).textContent();
        for (const fact of ["Address", PHONE.ip, "Signed in", "Last seen", "Expires"]) expect(phoneText).toContain(fact);
        expect(await othersButton.isVisible()).toBe(true);
        // The label stands for the User-Agent, which the page never shows.
        expect(await page.locator("#panel-profile").innerText()).not.toContain("AppleWebKit");
        await checkBothWidths(page, "my sessions", "sessions-my-account");
      });

      await step("Sign out on the phone: that token stops, the list refreshes, the status says which, focus stays", pages, async () => {
        await page.getByRole("button", { name: `Sign out ${PHONE.label}` }).click();
        await page.locator("#toast-region[role=status]", { hasText: `Signed out ${PHONE.label}, ${PHONE.ip}.` }).waitFor();
        await waitForDevices(page, list, [THIS_BROWSER, LAPTOP.label]);
        expect(await me(url, phone)).toBe("401 Session ended; sign in again");
        expect(await me(url, laptop)).toBe("200");
        // The button that had the focus went with its session: the one now in its place has it.
        expect(await focusedDescription(page)).toStartWith(`Sign out ${LAPTOP.label}`);
      });

      await step("a session that ended meanwhile: the list says so and refreshes", pages, async () => {
        const tablet = await signInAsDevice(url, agentEmail, AGENT_PASSWORD, TABLET);
        await page.getByRole("button", { name: "Refresh" }).click();
        await waitForDevices(page, list, [THIS_BROWSER, LAPTOP.label, TABLET.label]);
        // The tablet signs itself out before this page's click arrives: 404.
        expect((await fetch(`${url}/auth/logout`, { method: "POST", headers: { authorization: `Bearer ${tablet}` } })).status).toBe(204);
        await page.getByRole("button", { name: `Sign out ${TABLET.label}` }).click();
        await page.locator("#my-sessions-error[role=alert]", { hasText: `${TABLET.label}, 127.0.0.1 had already ended` }).waitFor();
        await waitForDevices(page, list, [THIS_BROWSER, LAPTOP.label]);
        expect(await focusIsOnSomething(page)).toBe("something");
      });

      await step("the server unreachable: nothing was signed out, and the page says so", pages, async () => {
        const logoutOthers = (address: URL) => address.pathname === "/auth/logout";
        await context.route(logoutOthers, (route) => route.abort("internetdisconnected"));
        await othersButton.click();
        await page.locator("#my-sessions-error", { hasText: "could not be reached, so no session was signed out" }).waitFor();
        await context.unroute(logoutOthers);
        expect(await me(url, laptop)).toBe("200");
        expect(await listedDevices(page, list)).toEqual([THIS_BROWSER, LAPTOP.label]);
      });

      await step("Sign out of all other sessions: the laptop stops, this tab stays signed in", pages, async () => {
        const here = await storedToken(page);
        await othersButton.click();
        await page.locator("#toast-region[role=status]", { hasText: "Signed out of all your other sessions. You stay signed in here." }).waitFor();
        await waitForDevices(page, list, [THIS_BROWSER]);
        expect(await me(url, laptop)).toBe("401 Session ended; sign in again");
        expect(await storedToken(page)).toBe(here);
        expect(await me(url, here!)).toBe("200");
        expect(await page.locator("#session").isVisible()).toBe(true);
        expect(await page.locator("#my-sessions-error").isVisible()).toBe(false);
        // Nothing left to sign out: the button gives way to a sentence, and the focus to the heading.
        expect(await othersButton.isVisible()).toBe(false);
        expect(await page.locator("#my-sessions-alone").innerText()).toBe("You are not signed in anywhere else.");
        expect(await focusedDescription(page)).toBe("my-sessions-title");
        await expectNoSidewaysScroll(page, "my sessions, alone, at 1280 px");
      });

      await step("no CSP refusal, page error or token in a URL", pages, async () => {
        expect(watch.problems).toEqual([]);
        expect(watch.calls).toContain("POST /auth/logout");
        expect(watch.calls).not.toContain("GET /admin/users");
      });
      await context.close();
    },
    90_000,
  );

  test(
    "an admin ends one of an agent's sessions, then all of them; the agent's tab hears it was ended elsewhere",
    async () => {
      if (!browser) throw new Error("the browser did not start");
      const url = await startServer();
      const adminToken = await signInAsDevice(url, ADMIN.email, ADMIN.password, LAPTOP);
      // A right-to-left name and a long email: both must read whole in the dialog at 320 px.
      const agentName = "דוד כהן";
      const agentEmail = "david.cohen-featherstonehaugh@a-rather-long-brokerage-domain.example.com";
      await createAgent(url, adminToken, agentName, agentEmail);
      const laptop = await signInAsDevice(url, agentEmail, AGENT_PASSWORD, { ...LAPTOP, ip: PHONE.ip });

      const agentContext = await browser.newContext({ viewport: DESKTOP });
      const { page: agent, watch: agentWatch } = await newConsolePage(agentContext);
      const adminContext = await withAxe(await browser.newContext({ viewport: DESKTOP }));
      const { page: admin, watch: adminWatch } = await newConsolePage(adminContext);
      const pages = [admin, agent];
      const dialog = admin.locator("#sessions-dialog");
      const list = "#sessions-list";

      await step("the agent signs in in a browser too", pages, async () => {
        await agent.goto(`${url}/console/`);
        await signInWith(agent, agentEmail, AGENT_PASSWORD);
        await waitForDevices(agent, "#my-sessions-list", [THIS_BROWSER, LAPTOP.label]);
      });

      await step("the admin opens the agent's Sessions: both listed, neither is the admin's", pages, async () => {
        await admin.goto(`${url}/console/`);
        await signInWith(admin, ADMIN.email, ADMIN.password);
        const own = admin.locator(`#accounts-body tr[data-email="${ADMIN.email}"]`);
        await own.waitFor();
        // Your own sessions are under My account: your row has no Sessions.
        expect(await own.getByRole("button", { name: /^Sessions/ }).count()).toBe(0);
        await admin.getByRole("button", { name: `Sessions of ${agentName}` }).click();
        await dialog.waitFor();
        await waitForDevices(admin, list, [THIS_BROWSER, LAPTOP.label]);
        expect(await dialog.locator("#sessions-title").innerText()).toBe(`Sessions of ${agentName}`);
        expect(await dialog.locator("#sessions-title bdi").innerText()).toBe(agentName);
        expect(await dialog.innerText()).not.toContain("This device");
        expect(await dialog.locator(`${list} .session-sign-out`).count()).toBe(2);
        await checkBothWidths(admin, "an agent's sessions dialog", "sessions-dialog");
      });

      await step("Sign out one session: its token stops at once, the dialog says which and lists the rest", pages, async () => {
        await dialog.getByRole("button", { name: `Sign out ${LAPTOP.label}, ${PHONE.ip}` }).click();
        await dialog.locator("#sessions-status[role=status]", { hasText: `Signed out ${LAPTOP.label}, ${PHONE.ip}: ${agentName} must sign in again on that device.` }).waitFor();
        await waitForDevices(admin, list, [THIS_BROWSER]);
        expect(await me(url, laptop)).toBe("401 Session ended; sign in again");
        expect(await focusIsOnSomething(admin)).toBe("something");
        expect(await admin.evaluate<boolean>(`document.getElementById("sessions-dialog").contains(document.activeElement)`)).toBe(true);
      });

      await step("Sign out of all sessions asks first, Cancel focused; Cancel ends nothing", pages, async () => {
        await dialog.getByRole("button", { name: "Sign out of all sessions" }).click();
        const confirm = admin.locator("#confirm-dialog");
        await confirm.waitFor();
        expect(await focusedDescription(admin)).toBe("confirm-cancel");
        expect(await confirm.locator("#confirm-title").innerText()).toBe(`Sign ${agentName} out of all sessions?`);
        expect(await confirm.innerText()).toContain("(1 session now)");
        await confirm.getByRole("button", { name: "Cancel" }).click();
        await confirm.waitFor({ state: "hidden" });
        expect(await storedToken(agent)).not.toBeNull();
        expect(await me(url, (await storedToken(agent))!)).toBe("200");
      });

      await step("confirmed: every session ends, the dialog shows none and says how many ended", pages, async () => {
        await dialog.getByRole("button", { name: "Sign out of all sessions" }).click();
        const confirm = admin.locator("#confirm-dialog");
        await confirm.waitFor();
        await confirm.locator("#confirm-submit").click();
        await confirm.waitFor({ state: "hidden" });
        await dialog.locator("#sessions-status", { hasText: `Signed ${agentName} out of 1 session: they must sign in again on every device.` }).waitFor();
        await dialog.locator("#sessions-none", { hasText: `${agentName} is not signed in anywhere` }).waitFor();
        expect(await dialog.locator(`${list} li`).count()).toBe(0);
        expect(await dialog.getByRole("button", { name: "Sign out of all sessions" }).isVisible()).toBe(false);
        expect(await focusedDescription(admin)).toBe("sessions-title");
        await checkBothWidths(admin, "an agent's sessions dialog, empty", "sessions-dialog-empty");
        await admin.keyboard.press("Escape");
        await dialog.waitFor({ state: "hidden" });
        expect(await focusedDescription(admin)).toBe(`Sessions of ${agentName}`);
      });

      await step("the agent's next request signs the tab out, saying it was ended elsewhere (not deactivated)", pages, async () => {
        await agent.getByRole("button", { name: "Refresh" }).click();
        const notice = agent.locator("#signin-notice");
        await notice.waitFor();
        expect(await notice.innerText()).toMatch(ENDED_ELSEWHERE);
        expect(await notice.innerText()).not.toContain("deactivated");
        expect(await storedToken(agent)).toBeNull();
        expect(await agent.locator("#signin-form").getByLabel("Email").inputValue()).toBe(agentEmail);
        expect(await agent.locator("#my-sessions-list li").count()).toBe(0);
      });

      await step("no CSP refusal, page error or token in a URL; the agent's page never called an admin route", pages, async () => {
        expect(adminWatch.problems).toEqual([]);
        expect(agentWatch.problems).toEqual([]);
        expect(agentWatch.adminCalls).toEqual([]);
      });
      await adminContext.close();
      await agentContext.close();
    },
    90_000,
  );
});
