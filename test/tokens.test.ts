import { describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { ACCESS_TOKEN_TTL_SECONDS, bearerTokenFrom, createTokenService } from "../src/tokens/tokens.ts";
import { TEST_SECRET } from "./helpers.ts";

const b64 = (value: unknown) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");

/** Signs any header/payload with the test key, so each rule is tested on a token with a valid signature. */
function forge(header: Record<string, unknown>, payload: Record<string, unknown>, secret = TEST_SECRET, alg = "sha256"): string {
  const head = `${b64(header)}.${b64(payload)}`;
  return `${head}.${createHmac(alg, secret).update(head).digest("base64url")}`;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);
const goodPayload = () => ({ sub: "7", iat: nowSeconds(), exp: nowSeconds() + 3600 });
const GENERATION = "0123456789abcdef0123456789abcdef";
const SESSION = "AbCdEfGhIjKlMnOpQrSt-_";

describe("access tokens", () => {
  const tokens = createTokenService(TEST_SECRET);

  test("issue: HS256, sub is the decimal id, the database's generation, the session, exp is exactly iat + 8 hours", async () => {
    const token = await tokens.issue({ userId: 42, tokenVersion: 3, generation: GENERATION, sessionId: SESSION });
    const [header, payload] = token.split(".").slice(0, 2).map((part) => JSON.parse(Buffer.from(part, "base64url").toString()));
    expect(header.alg).toBe("HS256");
    expect(payload.sub).toBe("42");
    expect(payload.exp - payload.iat).toBe(ACCESS_TOKEN_TTL_SECONDS);
    expect(ACCESS_TOKEN_TTL_SECONDS).toBe(28800);
    expect(Math.abs(payload.iat - nowSeconds())).toBeLessThanOrEqual(1);
    expect(payload.gen).toBe(GENERATION);
    expect(payload.sid).toBe(SESSION);
    expect(Object.keys(payload).sort()).toEqual(["exp", "gen", "iat", "sid", "sub", "ver"]);
    expect(tokens.verify(token)).toEqual({
      userId: 42,
      tokenVersion: 3,
      generation: GENERATION,
      sessionId: SESSION,
      issuedAt: payload.iat,
      expiresAt: payload.exp,
    });
  });

  test("issue refuses to sign without a well-formed generation", async () => {
    for (const generation of ["", "0123", GENERATION.toUpperCase(), `${GENERATION}0`]) {
      expect(tokens.issue({ userId: 1, tokenVersion: 0, generation, sessionId: SESSION })).rejects.toThrow("generation");
    }
  });

  test("issue refuses to sign without a well-formed session id", async () => {
    for (const sessionId of ["", "short", `${SESSION}x`, "AbCdEfGhIjKlMnOpQrSt+/"]) {
      expect(tokens.issue({ userId: 1, tokenVersion: 0, generation: GENERATION, sessionId })).rejects.toThrow("session");
    }
  });

  test("a token without gen (moxie's from before generations) verifies with generation null: the guard decides", () => {
    expect(tokens.verify(forge({ alg: "HS256" }, { ...goodPayload(), ver: 1 }))).toMatchObject({ userId: 7, tokenVersion: 1, generation: null });
  });

  test("a token without sid (from before sessions, or the original's) verifies with sessionId null: the guard decides", () => {
    expect(tokens.verify(forge({ alg: "HS256" }, { ...goodPayload(), ver: 1, gen: GENERATION }))).toMatchObject({ userId: 7, sessionId: null });
    expect(tokens.verify(forge({ alg: "HS256" }, { ...goodPayload(), gen: GENERATION, sid: SESSION }))?.sessionId).toBe(SESSION);
  });

  test("a token we forge with the right key and sane claims verifies (the forge helper is sound)", () => {
    expect(tokens.verify(forge({ alg: "HS256", typ: "JWT" }, goodPayload()))?.userId).toBe(7);
  });

  test("another key's token is refused", async () => {
    const other = createTokenService("another-secret-key-that-is-long-enough-xyz");
    expect(tokens.verify(await other.issue({ userId: 1, tokenVersion: 0, generation: GENERATION, sessionId: SESSION }))).toBeNull();
  });

  const refused: Array<[string, () => string]> = [
    ["alg none", () => `${b64({ alg: "none", typ: "JWT" })}.${b64(goodPayload())}.`],
    ["alg NONE with a signature", () => forge({ alg: "NONE" }, goodPayload())],
    ["HS512 with the right key", () => forge({ alg: "HS512" }, goodPayload(), TEST_SECRET, "sha512")],
    ["HS384 with the right key", () => forge({ alg: "HS384" }, goodPayload(), TEST_SECRET, "sha384")],
    ["RS256 label over an HMAC", () => forge({ alg: "RS256" }, goodPayload())],
    ["unknown crit header", () => forge({ alg: "HS256", crit: ["exp"] }, goodPayload())],
    ["no exp", () => forge({ alg: "HS256" }, { sub: "7", iat: nowSeconds() })],
    // Only the Python original's exact {sub, exp} may go without iat (test/original-era-app.test.ts).
    ["no iat", () => forge({ alg: "HS256" }, { sub: "7", ver: 0, exp: nowSeconds() + 60 })],
    ["no sub", () => forge({ alg: "HS256" }, { iat: nowSeconds(), exp: nowSeconds() + 60 })],
    ["string exp", () => forge({ alg: "HS256" }, { ...goodPayload(), exp: String(nowSeconds() + 60) })],
    ["expired", () => forge({ alg: "HS256" }, { sub: "7", iat: nowSeconds() - 7200, exp: nowSeconds() - 1 })],
    ["iat in the future", () => forge({ alg: "HS256" }, { sub: "7", iat: nowSeconds() + 120, exp: nowSeconds() + 3600 })],
    ["lifetime over 8 hours", () => forge({ alg: "HS256" }, { sub: "7", iat: nowSeconds(), exp: nowSeconds() + 28801 })],
    ["sub not a positive integer", () => forge({ alg: "HS256" }, { ...goodPayload(), sub: "0" })],
    ["sub negative", () => forge({ alg: "HS256" }, { ...goodPayload(), sub: "-3" })],
    ["sub with junk", () => forge({ alg: "HS256" }, { ...goodPayload(), sub: "7 OR 1=1" })],
    ["sub as a number", () => forge({ alg: "HS256" }, { ...goodPayload(), sub: 7 })],
    ["sub too large", () => forge({ alg: "HS256" }, { ...goodPayload(), sub: "99999999999999999999" })],
    ["tampered payload", () => {
      const [h, , s] = forge({ alg: "HS256" }, goodPayload()).split(".");
      return `${h}.${b64({ ...goodPayload(), sub: "1" })}.${s}`;
    }],
    ["two segments", () => forge({ alg: "HS256" }, goodPayload()).split(".").slice(0, 2).join(".")],
    ["four segments", () => `${forge({ alg: "HS256" }, goodPayload())}.x`],
    ["padding characters", () => `${forge({ alg: "HS256" }, goodPayload())}=`],
    ["header not JSON", () => `${b64("nope")}.${b64(goodPayload())}.abc`],
    ["over 4 KB", () => forge({ alg: "HS256" }, { ...goodPayload(), pad: "x".repeat(5000) })],
    ["nbf in the future", () => forge({ alg: "HS256" }, { ...goodPayload(), nbf: nowSeconds() + 3600 })],
    ["nbf not a number", () => forge({ alg: "HS256" }, { ...goodPayload(), nbf: "soon" })],
    ["gen not 32 hex digits", () => forge({ alg: "HS256" }, { ...goodPayload(), gen: "0123456789abcdef" })],
    ["gen in capitals", () => forge({ alg: "HS256" }, { ...goodPayload(), gen: GENERATION.toUpperCase() })],
    ["gen as a number", () => forge({ alg: "HS256" }, { ...goodPayload(), gen: 1 })],
    ["gen null", () => forge({ alg: "HS256" }, { ...goodPayload(), gen: null })],
    ["sid not 22 base64url characters", () => forge({ alg: "HS256" }, { ...goodPayload(), gen: GENERATION, sid: "a1" })],
    ["sid with other characters", () => forge({ alg: "HS256" }, { ...goodPayload(), gen: GENERATION, sid: "AbCdEfGhIjKlMnOpQrSt+/" })],
    ["sid as a number", () => forge({ alg: "HS256" }, { ...goodPayload(), gen: GENERATION, sid: 12 })],
    ["sid null", () => forge({ alg: "HS256" }, { ...goodPayload(), gen: GENERATION, sid: null })],
    // A claim this version does not check (a later version's, a role) is never taken as valid without it.
    ["a claim moxie does not know (jti)", () => forge({ alg: "HS256" }, { ...goodPayload(), gen: GENERATION, jti: "a1" })],
    ["a claim moxie does not know (role)", () => forge({ alg: "HS256" }, { ...goodPayload(), role: "admin" })],
    // {"alg":"none","alg":"HS256"}: a reader where the last key wins would take it for HS256.
    ["alg twice in the header", () => {
      const head = `${b64('{"alg":"none","alg":"HS256","typ":"JWT"}')}.${b64(goodPayload())}`;
      return `${head}.${createHmac("sha256", TEST_SECRET).update(head).digest("base64url")}`;
    }],
    ["a duplicate key in the payload", () => {
      const head = `${b64({ alg: "HS256" })}.${b64(`{"sub":"7","sub":"1","iat":${nowSeconds()},"exp":${nowSeconds() + 60}}`)}`;
      return `${head}.${createHmac("sha256", TEST_SECRET).update(head).digest("base64url")}`;
    }],
    ["empty", () => ""],
  ];
  for (const [name, make] of refused) {
    test(`refuses: ${name}`, () => {
      expect(tokens.verify(make())).toBeNull();
    });
  }

  test("nbf up to now (within the clock skew) is accepted", () => {
    expect(tokens.verify(forge({ alg: "HS256" }, { ...goodPayload(), nbf: nowSeconds() }))?.userId).toBe(7);
  });

  test("refuses: the other spellings of a valid signature (the spare bits of its last character)", () => {
    const good = forge({ alg: "HS256", typ: "JWT" }, goodPayload());
    expect(tokens.verify(good)).not.toBeNull();
    const [head, body, signature] = good.split(".") as [string, string, string];
    // 32 bytes are 43 base64url characters: the last one carries 2 bits that decoding ignores.
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const last = alphabet.indexOf(signature.at(-1)!);
    const others = [0, 1, 2, 3].map((spare) => alphabet[(last & ~3) | spare]!).filter((char) => char !== signature.at(-1));
    expect(others).toHaveLength(3);
    for (const char of others) {
      const other = `${head}.${body}.${signature.slice(0, -1)}${char}`;
      expect(Buffer.from(other.split(".")[2]!, "base64url")).toEqual(Buffer.from(signature, "base64url"));
      expect(tokens.verify(other)).toBeNull();
    }
  });
});

describe("reading the Authorization header", () => {
  test("Bearer in any case, one space, one token", () => {
    expect(bearerTokenFrom("Bearer abc.def.ghi")).toBe("abc.def.ghi");
    expect(bearerTokenFrom("bearer abc.def.ghi")).toBe("abc.def.ghi");
    expect(bearerTokenFrom("BEARER abc.def.ghi")).toBe("abc.def.ghi");
  });
  test("absent is undefined; anything malformed is null", () => {
    expect(bearerTokenFrom(undefined)).toBeUndefined();
    for (const value of ["BearerXabc", "Bearer  abc", "Bearer abc def", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer a,b", " Bearer abc"]) {
      expect(bearerTokenFrom(value)).toBeNull();
    }
  });
});
