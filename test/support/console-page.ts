// The console's browser tests' shared parts: the screen sizes, a page that records what must never happen on it
// (a CSP refusal, a page error, a token in a URL), axe-core inside the console's own policy, the no-sideways-scroll
// check, signing in, waiting, screenshots and named steps. Used by test/console/*.test.ts.
import { expect } from "bun:test";
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { ROOT } from "../helpers.ts";

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };
export const NARROW = { width: 320, height: 700 };
export const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR || join(ROOT, "test-artifacts", "console");
/** axe-core, served to the test browser only, from the console's own origin (see withAxe). */
const AXE_PATH = "/console/__test-only__/axe.min.js";
const AXE_SOURCE = readFileSync(join(ROOT, "node_modules", "axe-core", "axe.min.js"), "utf8");

/** Makes the screenshot folder and clears the failure screenshots of an earlier run. */
export function prepareScreenshotDir(): void {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  for (const name of readdirSync(SCREENSHOT_DIR)) {
    if (name.startsWith("failed-") && name.endsWith(".png")) rmSync(join(SCREENSHOT_DIR, name));
  }
}

/** Records what must never happen on a console page: a CSP refusal, an uncaught error, a token in a URL. */
export interface Watch {
  problems: string[];
  adminCalls: string[];
  calls: string[];
}

export async function newConsolePage(context: BrowserContext): Promise<{ page: Page; watch: Watch }> {
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const watch: Watch = { problems: [], adminCalls: [], calls: [] };
  page.on("pageerror", (error) => watch.problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    const text = message.text();
    if (/Content Security Policy|Refused to/i.test(text)) watch.problems.push(`CSP: ${text}`);
  });
  page.on("request", (request) => {
    const url = request.url();
    if (/eyJ[\w-]+\.[\w-]+\.[\w-]+/.test(url) || /token=/i.test(url)) watch.problems.push(`token in a URL: ${url}`);
    const path = new URL(url).pathname;
    if (path.startsWith("/admin/")) watch.adminCalls.push(url);
    if (!path.startsWith("/console/")) watch.calls.push(`${request.method()} ${path}`);
  });
  return { page, watch };
}

/**
 * A browser context that can run axe-core. The console's CSP allows scripts from its own origin only, and the
 * product must keep it that way; so, in this test browser only, Playwright answers one made-up same-origin
 * address with axe-core's file (the request never reaches moxie). The page's CSP is not touched at all.
 */
export async function withAxe(context: BrowserContext): Promise<BrowserContext> {
  await context.route(`**${AXE_PATH}`, (route) =>
    route.fulfill({ status: 200, contentType: "text/javascript; charset=utf-8", body: AXE_SOURCE }),
  );
  return context;
}

interface AxeViolation {
  id: string;
  impact: string;
  help: string;
  nodes: string[];
}

/** axe-core on the page as it is now (dialogs included): zero violations of any impact. */
export async function expectAxeClean(page: Page, where: string): Promise<void> {
  if (!(await page.evaluate<boolean>("typeof window.axe === 'object'"))) await page.addScriptTag({ url: AXE_PATH });
  const violations = await page.evaluate<AxeViolation[]>(
    `axe.run(document, { resultTypes: ["violations"] }).then((result) => result.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map((node) => node.target.join(" ") + " — " + node.failureSummary),
    })))`,
  );
  if (violations.length > 0) await shot(page, `failed-axe-${where.replace(/[^a-z0-9]+/gi, "-")}.png`);
  expect({ where, violations }).toEqual({ where, violations: [] });
}

/** Nothing wider than the window: no sideways scrolling of the page or of any box in it (WCAG 1.4.10). */
export async function expectNoSidewaysScroll(page: Page, where: string): Promise<void> {
  const problems = await page.evaluate<string[]>(`(() => {
    const width = document.documentElement.clientWidth;
    const problems = [];
    if (document.documentElement.scrollWidth > width) problems.push("the page is " + document.documentElement.scrollWidth + " px wide");
    const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.className && typeof el.className === "string" ? "." + el.className.split(" ").join(".") : "");
    for (const el of document.querySelectorAll("body *")) {
      const box = el.getBoundingClientRect();
      if (box.width === 0 || box.height === 0 || el.closest(".visually-hidden, thead")) continue;
      if (box.right > width + 0.5 || box.left < -0.5) problems.push(name(el) + " spans " + Math.round(box.left) + "–" + Math.round(box.right));
      const overflowX = getComputedStyle(el).overflowX;
      if ((overflowX === "auto" || overflowX === "scroll") && el.scrollWidth > el.clientWidth + 1) problems.push(name(el) + " scrolls sideways");
    }
    // Inside an open dialog, nothing sticks out of the dialog either.
    for (const form of document.querySelectorAll("dialog[open] > form")) {
      const frame = form.getBoundingClientRect();
      const style = getComputedStyle(form);
      const left = frame.left + parseFloat(style.paddingLeft) - 0.5;
      const right = frame.right - parseFloat(style.paddingRight) + 0.5;
      for (const el of form.querySelectorAll("*")) {
        const box = el.getBoundingClientRect();
        if (box.width === 0 || el.closest(".visually-hidden")) continue;
        if (box.left < left || box.right > right) problems.push(name(el) + " sticks out of " + name(form));
      }
    }
    // The top bar squeezes, never overlaps: the brand ends before the signed-in name starts.
    const brand = document.querySelector(".brand").getBoundingClientRect();
    const session = document.getElementById("session").getBoundingClientRect();
    if (session.width > 0 && brand.right > session.left) problems.push("the brand overlaps the signed-in name");
    return problems.slice(0, 10);
  })()`);
  if (problems.length > 0) await shot(page, `failed-scroll-${where.replace(/[^a-z0-9]+/gi, "-")}.png`);
  expect({ where, problems }).toEqual({ where, problems: [] });
}

export async function signInWith(page: Page, email: string, password: string): Promise<void> {
  const form = page.locator("#signin-form");
  await form.getByLabel("Email").fill(email);
  await form.getByLabel("Password").fill(password);
  await form.getByRole("button", { name: "Sign in" }).click();
}

export async function storedToken(page: Page): Promise<string | null> {
  return page.evaluate<string | null>(`sessionStorage.getItem("moxie.console.token")`);
}

export async function focusedDescription(page: Page): Promise<string> {
  return page.evaluate<string>(
    `(() => { const el = document.activeElement; return el ? (el.getAttribute("aria-label") || el.id || el.textContent.trim() || el.tagName) : "none"; })()`,
  );
}

/** Polls `probe` until it returns true (from here: the page's CSP forbids the eval that waitForFunction needs). */
export async function eventually(what: string, probe: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await Bun.sleep(50);
  }
}

export async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOT_DIR, name), fullPage: true });
}

/** Runs one step of the story; a failure names the step and leaves a screenshot of every open page. */
export async function step(name: string, pages: Page[], body: () => Promise<void>): Promise<void> {
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
