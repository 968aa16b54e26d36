// /docs in a real browser with no internet: Debian's Chromium (playwright-core) against the COMPILED moxie,
// every request to another origin refused. The page must come up from the binary alone, list every
// operation of /openapi.json, and "Try it out" must sign in and then call /auth/me with the token.
// The screenshot goes to test-artifacts/docs/api-docs.png; docs/api-docs.png (in the README) is a copy of it,
// refreshed by hand so test runs do not rewrite a committed file.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { DOCS_CONTENT_SECURITY_POLICY } from "../../src/http/docs.ts";
import { ROOT } from "../helpers.ts";
import { compiledBinary } from "../support/binary.ts";
import { launchChromium } from "../support/chromium.ts";
import { serveBinaryWithAdmin } from "../support/served-binary.ts";

const ADMIN = { email: "docs.admin@example.com", name: "Docs Admin", password: "Docs-Admin-Pass-1" };
const SCREENSHOT_DIR = join(ROOT, "test-artifacts", "docs");
const SCREENSHOT = join(SCREENSHOT_DIR, "api-docs.png");
/** axe-core, answered by Playwright at a made-up address of the page's own origin (its CSP allows only that). */
const AXE_PATH = "/docs/__test-only__/axe.min.js";
const AXE_SOURCE = readFileSync(join(ROOT, "node_modules", "axe-core", "axe.min.js"), "utf8");
/** WCAG 2.0, 2.1 and 2.2 at levels A and AA. */
const WCAG_A_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"];

let browser: Browser | undefined;

beforeAll(async () => {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await compiledBinary();
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  console.log(`/docs screenshot: ${SCREENSHOT}`);
});

interface Offline {
  page: Page;
  /** Requests to any other origin: refused, and listed here (there must be none). */
  elsewhere: string[];
  /** CSP refusals and uncaught errors. */
  problems: string[];
}

/** A page whose only network is `origin`: everything else is aborted before it leaves the browser. */
async function offlinePage(origin: string): Promise<Offline> {
  const context = await browser!.newContext({ viewport: { width: 1280, height: 900 } });
  const elsewhere: string[] = [];
  const problems: string[] = [];
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (new URL(url).origin === origin) return route.continue();
    elsewhere.push(url);
    return route.abort("internetdisconnected");
  });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (/Content Security Policy|Refused to/i.test(message.text())) problems.push(`CSP: ${message.text()}`);
  });
  return { page, elsewhere, problems };
}

/** Runs `body`; if it fails, leaves a picture of the page next to the screenshot first. */
async function picturedOnFailure(page: Page, name: string, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    await page.screenshot({ path: join(SCREENSHOT_DIR, `failed-${name}.png`), fullPage: true }).catch(() => {});
    throw error;
  }
}

/** Expands an operation, presses "Try it out", puts `body` in (if any) and executes it; returns the response block. */
async function tryIt(page: Page, operationId: string, tag: string, body?: unknown) {
  const block = page.locator(`#operations-${tag}-${operationId}`);
  await block.locator(".opblock-summary").first().click();
  await block.getByRole("button", { name: "Try it out" }).click();
  if (body !== undefined) await block.locator("textarea.body-param__text").fill(JSON.stringify(body));
  await block.getByRole("button", { name: "Execute" }).click();
  const live = block.locator(".live-responses-table");
  await live.waitFor();
  return live;
}

describe("/docs on the compiled binary, offline, in Chromium", () => {
  test("lists every operation, and Try it out signs in and reads /auth/me", async () => {
    if (!browser) throw new Error("the browser did not start");
    const url = await serveBinaryWithAdmin(ADMIN, { SECRET_KEY: "docs-browser-test-secret-0123456789abcdef" });
    const document = (await (await fetch(`${url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { operationId: string; summary: string; tags: string[] }>>;
    };
    const operations = Object.values(document.paths).flatMap((byMethod) => Object.values(byMethod));
    expect(operations.length).toBeGreaterThanOrEqual(13);

    const { page, elsewhere, problems } = await offlinePage(url);
    await picturedOnFailure(page, "docs-try-it", async () => {
      const response = await page.goto(`${url}/docs`);
      expect(response?.status()).toBe(200);
      expect(response?.headers()["content-security-policy"]).toBe(DOCS_CONTENT_SECURITY_POLICY);

      // Every operation of the document is on the page, under its tag, with its summary.
      await page.locator(".opblock").first().waitFor();
      expect(await page.locator(".opblock").count()).toBe(operations.length);
      for (const operation of operations) {
        const block = page.locator(`#operations-${operation.tags[0]}-${operation.operationId}`);
        expect(await block.locator(".opblock-summary-description").innerText()).toBe(operation.summary);
      }

      // Sign in through "Try it out": the page keeps the token for the next calls (init.js).
      const signedIn = await tryIt(page, "signIn", "auth", { email: ADMIN.email, password: ADMIN.password });
      expect(await signedIn.locator("tr.response .response-col_status").first().innerText()).toBe("200");
      expect(await signedIn.locator("tr.response .response-col_description").first().innerText()).toContain("access_token");

      const me = await tryIt(page, "getCurrentUser", "auth");
      expect(await me.locator("tr.response .response-col_status").first().innerText()).toBe("200");
      const meBody = await me.locator("tr.response .response-col_description").first().innerText();
      expect(meBody).toContain(ADMIN.email);
      expect(meBody).toContain('"role": "admin"');
      // The request it showed carried the token the sign-in returned, as a bearer header.
      const curl = await page.locator("#operations-auth-getCurrentUser .curl").innerText();
      const token = /Authorization: Bearer (eyJ[\w.-]+)/.exec(curl)?.[1];
      expect(token).toBeDefined();

      // The Authorize dialog works too: sign the page out, then paste the token back in by hand.
      const authorize = async (action: "Logout" | "Authorize", value?: string) => {
        await page.locator(".auth-wrapper .authorize").click();
        const dialog = page.locator(".dialog-ux .modal-ux");
        await dialog.waitFor();
        if (value !== undefined) await dialog.locator("input").first().fill(value);
        // Swagger UI labels these buttons for screen readers ("Remove authorization", "Apply credentials").
        await dialog.locator("button.modal-btn", { hasText: new RegExp(`^${action}$`) }).click();
        await dialog.locator("button.btn-done").click();
        await dialog.waitFor({ state: "detached" });
      };
      await authorize("Logout");
      await page.locator("#operations-auth-getCurrentUser").getByRole("button", { name: "Execute" }).click();
      await page.locator("#operations-auth-getCurrentUser tr.response .response-col_status", { hasText: "401" }).first().waitFor();
      await authorize("Authorize", token);
      await page.locator("#operations-auth-getCurrentUser").getByRole("button", { name: "Execute" }).click();
      await page.locator("#operations-auth-getCurrentUser tr.response .response-col_status", { hasText: "200" }).first().waitFor();

      // The picture: the sign-in folded away, /auth/me answered under the document's introduction.
      await page.locator("#operations-auth-signIn .opblock-summary").first().click();
      await page.setViewportSize({ width: 1280, height: 1500 });
      await page.locator(".information-container").scrollIntoViewIfNeeded();
      await page.screenshot({ path: SCREENSHOT });
      expect(elsewhere).toEqual([]);
      expect(problems).toEqual([]);
    });
    await page.context().close();
  }, 180_000);

  test("/docs/ is the same page, and its files come from moxie with the docs' policy", async () => {
    if (!browser) throw new Error("the browser did not start");
    const url = await serveBinaryWithAdmin(ADMIN, { SECRET_KEY: "docs-browser-test-secret-0123456789abcdef" });
    const { page, elsewhere, problems } = await offlinePage(url);
    const loaded: string[] = [];
    page.on("response", (answer) => {
      loaded.push(`${answer.status()} ${new URL(answer.url()).pathname} ${answer.headers()["content-security-policy"] ?? ""}`);
    });
    await picturedOnFailure(page, "docs-slash", async () => {
      const response = await page.goto(`${url}/docs/`);
      expect(response?.status()).toBe(200);
      await page.locator("#operations-auth-signIn").waitFor();
      expect(loaded).toEqual(
        expect.arrayContaining([
          `200 /docs/swagger-ui-bundle.js ${DOCS_CONTENT_SECURITY_POLICY}`,
          `200 /docs/swagger-ui.css ${DOCS_CONTENT_SECURITY_POLICY}`,
          `200 /docs/init.js ${DOCS_CONTENT_SECURITY_POLICY}`,
          expect.stringMatching(/^200 \/openapi\.json /),
        ]),
      );
      expect(elsewhere).toEqual([]);
      expect(problems).toEqual([]);
    });
    await page.context().close();
  }, 180_000);
});

/** axe-core (WCAG A/AA) on the page as it is now: the serious and critical violations, with where. */
async function seriousViolations(page: Page): Promise<string[]> {
  if (!(await page.evaluate<boolean>("typeof window.axe === 'object'"))) await page.addScriptTag({ url: AXE_PATH });
  return page.evaluate<string[]>(
    `axe.run(document, { runOnly: { type: "tag", values: ${JSON.stringify(WCAG_A_AA)} }, resultTypes: ["violations"] }).then((result) =>
      result.violations.filter((v) => v.impact === "serious" || v.impact === "critical").flatMap((v) =>
        v.nodes.slice(0, 3).map((node) => v.impact + " " + v.id + ": " + node.target.join(" ") + " — " +
          (node.failureSummary || "").replace(/\\s+/g, " ").slice(0, 160) + " (" + v.nodes.length + " in all)")))`,
  );
}

/** The page's width beyond the window's, and any element drawn past its right edge. */
async function sidewaysProblems(page: Page): Promise<string[]> {
  return page.evaluate<string[]>(`(() => {
    const width = document.documentElement.clientWidth;
    const problems = [];
    if (document.documentElement.scrollWidth > width) problems.push("the page is " + document.documentElement.scrollWidth + " px wide in " + width);
    for (const el of document.querySelectorAll("#swagger-ui *")) {
      const box = el.getBoundingClientRect();
      if (box.width > 0 && box.right > width + 0.5 && !el.closest(".svg-assets")) problems.push(el.tagName.toLowerCase() + "." + String(el.className).split(" ").join(".") + " ends at " + Math.round(box.right));
    }
    return problems.slice(0, 5);
  })()`);
}

/** Clicks every element `selector` matches, in the page (Swagger UI's buttons are plain click handlers). */
async function clickAll(page: Page, selector: string): Promise<number> {
  return page.evaluate<number>(`(() => {
    const found = [...document.querySelectorAll(${JSON.stringify(selector)})];
    for (const element of found) element.click();
    return found.length;
  })()`);
}

describe("/docs as clean as the console", () => {
  test("axe (WCAG A/AA) finds nothing serious or critical at 1280 and 390 px, however far it is unfolded; nothing scrolls sideways at 390 or 320 px", async () => {
    if (!browser) throw new Error("the browser did not start");
    const url = await serveBinaryWithAdmin(ADMIN, { SECRET_KEY: "docs-browser-test-secret-0123456789abcdef" });
    const { page, elsewhere, problems } = await offlinePage(url);
    await page.context().route(`**${AXE_PATH}`, (route) => route.fulfill({ status: 200, contentType: "text/javascript; charset=utf-8", body: AXE_SOURCE }));
    const checked: string[] = [];
    /** The page as it is now, at each width: axe at 1280 and 390, the width at 390 and 320. */
    const check = async (state: string) => {
      for (const [width, axe] of [[1280, true], [390, true], [320, false]] as const) {
        await page.setViewportSize({ width, height: 900 });
        if (axe) expect({ state, width, violations: await seriousViolations(page) }).toEqual({ state, width, violations: [] });
        if (width < 1280) expect({ state, width, sideways: await sidewaysProblems(page) }).toEqual({ state, width, sideways: [] });
        await page.screenshot({ path: join(SCREENSHOT_DIR, `docs-${state.replace(/[^a-z0-9]+/gi, "-")}-${width}.png`) });
      }
      await page.setViewportSize({ width: 1280, height: 900 });
      checked.push(state);
    };
    await picturedOnFailure(page, "docs-axe", async () => {
      await page.goto(`${url}/docs`);
      await page.locator(".opblock").first().waitFor();
      await check("as it opens");

      // Unfolded from inside the page, every control in one go: one click per round trip costs the suite a minute.
      const operations = await page.locator(".opblock").count();
      await clickAll(page, ".opblock-summary-control");
      await eventually(async () => (await page.locator(".opblock-body").count()) === operations);
      await check("every operation open");

      const tryOut = page.locator("button.try-out__btn", { hasText: "Try it out" });
      expect(await tryOut.count()).toBe(operations);
      await clickAll(page, "button.try-out__btn:not(.cancel)");
      await eventually(async () => (await tryOut.count()) === 0);
      await check("every Try it out pressed");

      const login = page.locator("#operations-auth-signIn");
      await login.locator("textarea.body-param__text").fill(JSON.stringify({ email: ADMIN.email, password: ADMIN.password }));
      await login.getByRole("button", { name: "Execute" }).click();
      await login.locator(".live-responses-table").waitFor();
      for (const id of ["auth-getCurrentUser", "admin-listUsers", "admin-listAuditEvents"]) {
        const block = page.locator(`#operations-${id}`);
        await block.getByRole("button", { name: "Execute" }).click();
        await block.locator(".live-responses-table").waitFor();
      }
      await check("signed in, answers shown");

      await page.locator(".auth-wrapper .authorize").click();
      await page.locator(".dialog-ux .modal-ux").waitFor();
      await check("the Authorize dialog");
      await page.locator(".dialog-ux button.btn-done").click();

      // The schemas, every one unfolded all the way, and the Schema tab of each answer of POST /auth/login.
      await page.locator("section.models .models-control").click();
      const expandAll = page.locator("section.models .json-schema-2020-12-expand-deep-button");
      await expandAll.first().waitFor();
      await clickAll(page, "section.models .json-schema-2020-12-expand-deep-button");
      const schemaTabs = login.locator(".model-example .tab button", { hasText: /^Schema$/ });
      for (let i = 0; i < (await schemaTabs.count()); i++) await schemaTabs.nth(i).click();
      await check("the schemas open");
      expect(checked.length).toBe(6);
      expect(elsewhere).toEqual([]);
      expect(problems).toEqual([]);
    });
    await page.context().close();
  }, 240_000);

  test("Try it out on POST /auth/logout: the page stops showing itself authorized, and sends no token after it", async () => {
    if (!browser) throw new Error("the browser did not start");
    const url = await serveBinaryWithAdmin(ADMIN, { SECRET_KEY: "docs-browser-test-secret-0123456789abcdef" });
    const { page, elsewhere, problems } = await offlinePage(url);
    await picturedOnFailure(page, "docs-logout", async () => {
      await page.goto(`${url}/docs`);
      await page.locator(".opblock").first().waitFor();
      const authorize = page.locator(".auth-wrapper .authorize");
      expect(await authorize.getAttribute("class")).toContain("unlocked");
      await tryIt(page, "signIn", "auth", { email: ADMIN.email, password: ADMIN.password });
      await eventually(async () => (await authorize.getAttribute("class"))?.includes(" locked") === true);
      const me = await tryIt(page, "getCurrentUser", "auth");
      expect(await me.locator("tr.response .response-col_status").first().innerText()).toBe("200");
      const token = /Authorization: Bearer (eyJ[\w.-]+)/.exec(await page.locator("#operations-auth-getCurrentUser .curl").innerText())?.[1];
      expect(token).toBeDefined();

      const out = await tryIt(page, "signOut", "auth");
      expect(await out.locator("tr.response .response-col_status").first().innerText()).toBe("204");
      // The revoked token is forgotten: the lock opens, and the next call goes without it (and is refused).
      await eventually(async () => (await authorize.getAttribute("class"))?.includes("unlocked") === true);
      expect((await fetch(`${url}/auth/me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
      await page.locator("#operations-auth-getCurrentUser").getByRole("button", { name: "Execute" }).click();
      await page.locator("#operations-auth-getCurrentUser tr.response .response-col_status", { hasText: "401" }).first().waitFor();
      expect(await page.locator("#operations-auth-getCurrentUser .curl").innerText()).not.toContain("Authorization");
      expect(elsewhere).toEqual([]);
      expect(problems).toEqual([]);
    });
    await page.context().close();
  }, 180_000);
});

/** Polls `probe` until it holds (the docs' CSP forbids the eval that waitForFunction needs). */
async function eventually(probe: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await Bun.sleep(50);
  }
}
