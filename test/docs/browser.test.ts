// /docs in a real browser with no internet: Debian's Chromium (playwright-core) against the COMPILED moxie,
// every request to another origin refused. The page must come up from the binary alone, list every
// operation of /openapi.json, and "Try it out" must sign in and then call /auth/me with the token.
// The screenshot goes to test-artifacts/docs/api-docs.png; docs/api-docs.png (in the README) is a copy of it,
// refreshed by hand so test runs do not rewrite a committed file.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
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
      const signedIn = await tryIt(page, "postAuthLogin", "auth", { email: ADMIN.email, password: ADMIN.password });
      expect(await signedIn.locator("tr.response .response-col_status").first().innerText()).toBe("200");
      expect(await signedIn.locator("tr.response .response-col_description").first().innerText()).toContain("access_token");

      const me = await tryIt(page, "getAuthMe", "auth");
      expect(await me.locator("tr.response .response-col_status").first().innerText()).toBe("200");
      const meBody = await me.locator("tr.response .response-col_description").first().innerText();
      expect(meBody).toContain(ADMIN.email);
      expect(meBody).toContain('"role": "admin"');
      // The request it showed carried the token the sign-in returned, as a bearer header.
      const curl = await page.locator("#operations-auth-getAuthMe .curl").innerText();
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
      await page.locator("#operations-auth-getAuthMe").getByRole("button", { name: "Execute" }).click();
      await page.locator("#operations-auth-getAuthMe tr.response .response-col_status", { hasText: "401" }).first().waitFor();
      await authorize("Authorize", token);
      await page.locator("#operations-auth-getAuthMe").getByRole("button", { name: "Execute" }).click();
      await page.locator("#operations-auth-getAuthMe tr.response .response-col_status", { hasText: "200" }).first().waitFor();

      // The picture: the sign-in folded away, /auth/me answered under the document's introduction.
      await page.locator("#operations-auth-postAuthLogin .opblock-summary").first().click();
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
      await page.locator("#operations-auth-postAuthLogin").waitFor();
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
