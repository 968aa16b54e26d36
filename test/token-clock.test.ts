// Token rules at their exact boundaries, with an injected clock: expiry (also for a token already in the
// verified-token cache), the 8-hour lifetime, clock skew for iat, the token version and the header.
import { describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { ACCESS_TOKEN_TTL_SECONDS, CLOCK_SKEW_SECONDS, createTokenService, MAX_TOKEN_LENGTH } from "../src/tokens/tokens.ts";
import { TEST_SECRET } from "./helpers.ts";

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

function forge(payload: Record<string, unknown>, header: Record<string, unknown> = { alg: "HS256", typ: "JWT" }): string {
  const head = `${b64(header)}.${b64(payload)}`;
  return `${head}.${createHmac("sha256", TEST_SECRET).update(head).digest("base64url")}`;
}

const T0 = 1_900_000_000; // seconds

function clocked() {
  let nowMs = T0 * 1000;
  const tokens = createTokenService(TEST_SECRET, () => nowMs);
  return { tokens, setSeconds: (seconds: number) => (nowMs = seconds * 1000) };
}

describe("token expiry and lifetime (injected clock)", () => {
  test("valid until exp, refused from exp on: also when the token was verified (and cached) before", () => {
    const { tokens, setSeconds } = clocked();
    const token = forge({ sub: "7", ver: 2, iat: T0, exp: T0 + 60 });
    expect(tokens.verify(token)).toEqual({ userId: 7, tokenVersion: 2, generation: null, sessionId: null, issuedAt: T0, expiresAt: T0 + 60 });
    setSeconds(T0 + 59);
    expect(tokens.verify(token)?.userId).toBe(7);
    setSeconds(T0 + 60);
    expect(tokens.verify(token)).toBeNull();
    // A token first seen after its expiry is refused too.
    expect(clocked().tokens.verify(forge({ sub: "7", iat: T0 - 120, exp: T0 }))).toBeNull();
  });

  test(`a lifetime of exactly ${ACCESS_TOKEN_TTL_SECONDS} s is accepted, one second more is refused`, () => {
    const { tokens } = clocked();
    expect(tokens.verify(forge({ sub: "7", iat: T0, exp: T0 + ACCESS_TOKEN_TTL_SECONDS }))).not.toBeNull();
    expect(tokens.verify(forge({ sub: "7", iat: T0, exp: T0 + ACCESS_TOKEN_TTL_SECONDS + 1 }))).toBeNull();
    expect(tokens.verify(forge({ sub: "7", iat: T0, exp: T0 }))).toBeNull();
  });

  test(`iat up to ${CLOCK_SKEW_SECONDS} s in the future is tolerated (clocks apart), more is refused`, () => {
    const { tokens } = clocked();
    expect(tokens.verify(forge({ sub: "7", iat: T0 + CLOCK_SKEW_SECONDS, exp: T0 + 600 }))).not.toBeNull();
    expect(tokens.verify(forge({ sub: "7", iat: T0 + CLOCK_SKEW_SECONDS + 1, exp: T0 + 600 }))).toBeNull();
  });
});

describe("claims and header, each on an otherwise valid token", () => {
  const { tokens } = clocked();
  const good = { sub: "7", iat: T0, exp: T0 + 600 };

  test("the token version must be a non-negative integer; absent means 0", () => {
    expect(tokens.verify(forge({ ...good, ver: 0 }))?.tokenVersion).toBe(0);
    expect(tokens.verify(forge(good))?.tokenVersion).toBe(0);
    for (const ver of [-1, 1.5, "1", null]) expect(tokens.verify(forge({ ...good, ver }))).toBeNull();
  });

  test("typ other than JWT is refused; a header without typ is accepted", () => {
    expect(tokens.verify(forge(good, { alg: "HS256" }))).not.toBeNull();
    expect(tokens.verify(forge(good, { alg: "HS256", typ: "at+jwt" }))).toBeNull();
    expect(tokens.verify(forge(good, { alg: "HS256", crit: [] }))).toBeNull();
  });

  test(`a token of up to ${MAX_TOKEN_LENGTH} characters is read; longer is refused unread`, () => {
    // Padded in the header (a key id): the payload takes no claim moxie does not know.
    const base = forge(good, { alg: "HS256", kid: "" });
    const pad = (length: number) => {
      let token = base;
      for (let n = 0; token.length < length; n++) token = forge(good, { alg: "HS256", kid: "x".repeat(n) });
      return token;
    };
    const near = pad(MAX_TOKEN_LENGTH - 3); // base64 grows in steps of 4; land within one step under the limit
    expect(near.length).toBeLessThanOrEqual(MAX_TOKEN_LENGTH);
    expect(tokens.verify(near)).not.toBeNull();
    const over = pad(MAX_TOKEN_LENGTH + 1);
    expect(over.length).toBeGreaterThan(MAX_TOKEN_LENGTH);
    expect(tokens.verify(over)).toBeNull();
  });
});
