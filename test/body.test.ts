// Request bodies (src/http/body.ts) in-process, with the exact status SECURITY.md promises for each:
// JSON only (415), BODY_LIMIT_BYTES at most (413, chunked bodies counted as they arrive), strict parsing (400).
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { createTestApp, expectNoLeak, readAnswer, seedUser, signIn, type TestResponse } from "./helpers.ts";

// This file spawns processes or hashes passwords: its own bound on a hung test (see test/setup.ts for why).
setDefaultTimeout(30_000);

const LIMIT = 1024; // the smallest BODY_LIMIT_BYTES accepted, so the bodies below stay small
const ctx = createTestApp({ env: { BODY_LIMIT_BYTES: String(LIMIT) } });
let adminToken = "";

beforeAll(async () => {
  const admin = await seedUser(ctx.db, { role: "admin", email: "admin@body.test" });
  adminToken = await signIn(ctx.request, admin);
});

async function send(body: string | Uint8Array<ArrayBuffer> | ReadableStream<Uint8Array>, headers: Record<string, string> = {}, path = "/admin/users"): Promise<TestResponse> {
  const request = new Request(`http://localhost${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${adminToken}`, ...headers },
    body,
    duplex: "half", // a streamed body needs it
  });
  return readAnswer(await ctx.app.handle(request));
}

/** A body that arrives in pieces with no Content-Length, as a chunked upload does. */
function chunked(text: string, pieces = 8): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  const size = Math.ceil(bytes.length / pieces);
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, at + size));
      at += size;
    },
  });
}

/** A valid user body padded with spaces to exactly `bytes` bytes. */
function userBodyOf(bytes: number, email: string): string {
  const body = JSON.stringify({ name: "Padded", email, password: "padded-password-1" });
  return body + " ".repeat(bytes - body.length);
}

const emailsCreated = () => ctx.db.$client.query("SELECT email FROM users ORDER BY id").values().flat();

describe("strict JSON → exactly 400 with a sentence, nothing created", () => {
  const bodies: Array<[string, string | Uint8Array<ArrayBuffer>, string]> = [
    ["arrays nested 500 deep (1 000 bytes, under the limit)", "[".repeat(500) + "]".repeat(500), "nested too deeply"],
    ["objects nested 33 deep", '{"a":'.repeat(33) + "1" + "}".repeat(33), "nested too deeply"],
    ["1e999 in a field", '{"name":"Big","email":"big@x.co","password":"big-password-1","role":1e999}', "number out of range"],
    ["-1e999 in a string field", '{"name":-1e999,"email":"big2@x.co","password":"big-password-2"}', "number out of range"],
    ["duplicate keys (role twice)", '{"name":"Dup","email":"dup@x.co","password":"dup-password-1","role":"agent","role":"admin"}', "duplicate key"],
    ["a __proto__ key", '{"name":"P","email":"proto@x.co","password":"proto-password","__proto__":{"role":"admin"}}', "forbidden key"],
    ["a constructor key", '{"name":"C","email":"ctor@x.co","password":"ctor-password","constructor":{}}', "forbidden key"],
    ["a prototype key", '{"name":"C","email":"proto2@x.co","password":"proto-password-2","prototype":1}', "forbidden key"],
    ["invalid UTF-8", new Uint8Array([...Buffer.from('{"name":"'), 0xff, 0xfe, ...Buffer.from('","email":"u@x.co","password":"utf8-password"}')]), "not UTF-8"],
    ["trailing garbage", '{"name":"T","email":"trail@x.co","password":"trail-password"} {"x":1}', "trailing characters"],
  ];
  for (const [name, body, why] of bodies) {
    test(name, async () => {
      const before = emailsCreated();
      const response = await send(body);
      expect({ status: response.status, body: response.json }).toEqual({
        status: 400,
        body: { detail: `Request body is not acceptable JSON (${why})` },
      });
      expectNoLeak(response.text);
      expect(emailsCreated()).toEqual(before);
    });
  }

  test("the same refusals on POST /auth/login are 400 too, never a token", async () => {
    for (const [, body] of bodies) {
      const response = await send(body, { authorization: "" }, "/auth/login");
      expect(response.status).toBe(400);
      expect(response.text).not.toContain("access_token");
    }
  });
});

describe(`BODY_LIMIT_BYTES=${LIMIT}`, () => {
  test("a body of exactly the limit is read; one byte more is 413, declared or chunked", async () => {
    const exact = await send(userBodyOf(LIMIT, "exact@body.test"));
    expect(exact.status).toBe(201);
    const over = await send(userBodyOf(LIMIT + 1, "over@body.test"));
    expect({ status: over.status, body: over.json }).toEqual({ status: 413, body: { detail: `Request body is larger than ${LIMIT} bytes` } });
    const overChunked = await send(chunked(userBodyOf(LIMIT + 1, "chunked-over@body.test")));
    expect(overChunked.status).toBe(413);
    const exactChunked = await send(chunked(userBodyOf(LIMIT, "chunked-exact@body.test")));
    expect(exactChunked.status).toBe(201);
    expect(emailsCreated()).toContain("chunked-exact@body.test");
    expect(emailsCreated()).not.toContain("over@body.test");
    expect(emailsCreated()).not.toContain("chunked-over@body.test");
  });

  test("a chunked body far over the limit is refused without being read to the end", async () => {
    let pulled = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        if (pulled > 10_000) return controller.close(); // a bound for the test itself
        controller.enqueue(new Uint8Array(256).fill(0x20));
      },
    });
    const response = await send(endless);
    expect(response.status).toBe(413);
    // 1 KiB of 256-byte pieces is 5 pieces; the reader stops there (allow for read-ahead), far from 10 000.
    expect(pulled).toBeLessThan(100);
  });

  test("a declared Content-Length over the limit is 413 even for a short body", async () => {
    const response = await send('{"name":"x"}', { "content-length": String(LIMIT * 4) });
    expect(response.status).toBe(413);
  });
});

describe("JSON only", () => {
  test("text/plain and form bodies are 415; application/json with a charset is JSON", async () => {
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "application/jsonx"]) {
      const response = await send('{"name":"T","email":"type@x.co","password":"type-password-1"}', { "content-type": type });
      expect({ type, status: response.status, body: response.json }).toEqual({
        type,
        status: 415,
        body: { detail: "Content-Type must be application/json" },
      });
    }
    const withCharset = await send('{"name":"Cs","email":"charset@body.test","password":"charset-password"}', {
      "content-type": "Application/JSON; charset=utf-8",
    });
    expect(withCharset.status).toBe(201);
  });
});
