// Token forgery and validation against the compiled binary: every forged, malformed or misplaced token is
// a 401 with the bearer challenge, never a 500 and never an account.
import { beforeAll, describe, expect, test } from "bun:test";
import {
  ADMIN,
  b64url,
  createSuite,
  expect401,
  HS256,
  nowSeconds,
  OTHER_SECRET,
  SECRET,
  signJwt,
  validClaims,
  type Instance,
} from "./harness.ts";

const suite = createSuite();
let server: Instance;
let adminId = 0;
let issued = "";

const INVALID = "Invalid or expired token";

beforeAll(async () => {
  server = await suite.start("tokens");
  issued = suite.logSecret(await server.token(ADMIN.email, ADMIN.password));
  const me = await server.request("GET", "/auth/me", { token: issued });
  expect(me.status).toBe(200);
  adminId = me.json.id;
  expect(adminId).toBe(1);
}, 60_000);

const me = (authorization: string) => server.request("GET", "/auth/me", { headers: { authorization } });

describe("controls: the suite's signer makes tokens the server accepts", () => {
  test("a token forged with the server's key and HS256 is accepted (so every 401 below is the check, not the signer)", async () => {
    const response = await me(`Bearer ${signJwt(HS256, validClaims(String(adminId)))}`);
    expect(response.status).toBe(200);
    expect(response.json.email).toBe(ADMIN.email);
  });

  test("a lifetime of exactly 8 hours is accepted", async () => {
    const iat = nowSeconds();
    const response = await me(`Bearer ${signJwt(HS256, { sub: "1", ver: 0, iat, exp: iat + 8 * 3600 })}`);
    expect(response.status).toBe(200);
  });

  for (const scheme of ["bearer", "BEARER", "BeArEr"]) {
    test(`the scheme is case-insensitive: "${scheme}"`, async () => {
      const response = await me(`${scheme} ${issued}`);
      expect(response.status).toBe(200);
      expect(response.json.id).toBe(adminId);
    });
  }
});

/** Header and payload of a forged token, or the whole token string. */
type Forgery = () => string;

const unsigned = (alg: string) => () =>
  `${b64url(JSON.stringify({ alg, typ: "JWT" }))}.${b64url(JSON.stringify(validClaims()))}.`;
const signedWithAlgLabel = (alg: string) => () => signJwt({ alg, typ: "JWT" }, validClaims());

function withClaims(change: (claims: Record<string, unknown>) => void): Forgery {
  return () => {
    const claims = validClaims();
    change(claims);
    return signJwt(HS256, claims);
  };
}

const FORGERIES: Array<[string, Forgery]> = [
  ["alg none, unsigned", unsigned("none")],
  ["alg None, unsigned", unsigned("None")],
  ["alg NONE, unsigned", unsigned("NONE")],
  ["alg none, HMAC-signed", signedWithAlgLabel("none")],
  ["alg None, HMAC-signed", signedWithAlgLabel("None")],
  ["alg NONE, HMAC-signed", signedWithAlgLabel("NONE")],
  ["alg none, unsigned, no trailing dot", () => unsigned("none")().slice(0, -1)],
  ["HS384 signed with the right key", () => signJwt({ alg: "HS384", typ: "JWT" }, validClaims(), { hash: "sha384" })],
  ["HS512 signed with the right key", () => signJwt({ alg: "HS512", typ: "JWT" }, validClaims(), { hash: "sha512" })],
  ["RS256 label over an HMAC-SHA256 signature", signedWithAlgLabel("RS256")],
  ["lower-case hs256 label", signedWithAlgLabel("hs256")],
  ["no alg in the header", () => signJwt({ typ: "JWT" }, validClaims())],
  ["unknown crit header", () => signJwt({ ...HS256, crit: ["exp"] }, validClaims())],
  ["empty crit header", () => signJwt({ ...HS256, crit: [] }, validClaims())],
  ["typ other than JWT", () => signJwt({ alg: "HS256", typ: "at+jwt+evil" }, validClaims())],
  ["header is not JSON", () => signJwt(b64url("not json"), validClaims())],
  ["header is a JSON array", () => signJwt(b64url(JSON.stringify(["HS256"])), validClaims())],
  ["payload is not JSON", () => signJwt(HS256, b64url("{sub:1"))],
  ["payload is a JSON string", () => signJwt(HS256, b64url(JSON.stringify("1")))],
  ["missing exp", withClaims((c) => delete c.exp)],
  ["missing iat", withClaims((c) => delete c.iat)],
  ["non-numeric exp", withClaims((c) => (c.exp = String(c.exp)))],
  ["non-numeric iat", withClaims((c) => (c.iat = String(c.iat)))],
  ["fractional exp", withClaims((c) => (c.exp = (c.exp as number) + 0.5))],
  ["iat 60 s in the future", withClaims((c) => ((c.iat = nowSeconds() + 60), (c.exp = nowSeconds() + 3600)))],
  ["exp - iat over 8 hours", withClaims((c) => (c.exp = (c.iat as number) + 8 * 3600 + 1))],
  ["exp before iat", withClaims((c) => ((c.iat = nowSeconds()), (c.exp = nowSeconds() - 1)))],
  ["expired", withClaims((c) => ((c.iat = nowSeconds() - 7200), (c.exp = nowSeconds() - 60)))],
  ["exp equal to iat", withClaims((c) => (c.exp = c.iat))],
  ['sub "0"', withClaims((c) => (c.sub = "0"))],
  ['sub "-1"', withClaims((c) => (c.sub = "-1"))],
  ['sub "1.5"', withClaims((c) => (c.sub = "1.5"))],
  ['sub "abc"', withClaims((c) => (c.sub = "abc"))],
  ["sub 1 as a number", withClaims((c) => (c.sub = 1))],
  ['sub "99999999999999999999"', withClaims((c) => (c.sub = "99999999999999999999"))],
  ['sub " 1"', withClaims((c) => (c.sub = " 1"))],
  ['sub "01"', withClaims((c) => (c.sub = "01"))],
  ["sub missing", withClaims((c) => delete c.sub)],
  ["ver -1", withClaims((c) => (c.ver = -1))],
  ["ver 0.5", withClaims((c) => (c.ver = 0.5))],
  ['ver "0" (a string)', withClaims((c) => (c.ver = "0"))],
  ["ver newer than the account's", withClaims((c) => (c.ver = 1))],
  [
    "tampered payload (sub changed, signature kept)",
    () => {
      const [h, , s] = signJwt(HS256, validClaims("2")).split(".");
      return `${h}.${b64url(JSON.stringify(validClaims("1")))}.${s}`;
    },
  ],
  ["signed with another key", () => signJwt(HS256, validClaims(), { key: OTHER_SECRET })],
  ["signed with the key's first 31 characters", () => signJwt(HS256, validClaims(), { key: SECRET.slice(0, 31) })],
  ["signature truncated by one character", () => signJwt(HS256, validClaims()).slice(0, -1)],
  ["empty signature", () => signJwt(HS256, validClaims()).replace(/[^.]+$/, "")],
  ["two segments", () => signJwt(HS256, validClaims()).split(".").slice(0, 2).join(".")],
  ["four segments", () => `${signJwt(HS256, validClaims())}.${b64url("extra")}`],
  ["one segment", () => b64url(JSON.stringify(validClaims()))],
  ["standard base64 characters (+ and /)", () => signJwt(HS256, validClaims()).replace(/\.([^.]+)$/, ".+/+/$1")],
  ["base64 padding on the signature", () => `${signJwt(HS256, validClaims())}=`],
  ["base64 padding on the payload", () => {
    const [h, p, s] = signJwt(HS256, validClaims()).split(".");
    return `${h}.${p}==.${s}`;
  }],
  ["over 4 KB (validly signed)", withClaims((c) => (c.pad = "x".repeat(4200)))],
  ["empty token after the scheme", () => ""],
  ["a token of dots", () => ".."],
];

describe("forged and malformed tokens → 401 Invalid or expired token", () => {
  for (const [name, forge] of FORGERIES) {
    test(name, async () => {
      const token = forge();
      const response = await me(`Bearer ${token}`);
      if (token === "") {
        // "Bearer " with nothing after it is not a bearer token at all.
        expect(response.status).toBe(401);
        expect(response.headers.get("www-authenticate")).toBe("Bearer");
        expect(["Invalid or expired token", "Not authenticated"]).toContain(response.json.detail);
        return;
      }
      expect401(response, INVALID);
    });
  }
});

describe("the Authorization header must be exactly `Bearer <token>`", () => {
  const forms: Array<[string, () => string]> = [
    ["BearerX<token>", () => `BearerX${issued}`],
    ["Bearer<token> (no space)", () => `Bearer${issued}`],
    ["Bearer  <token> (two spaces)", () => `Bearer  ${issued}`],
    ["Bearer <t> <t> (two tokens)", () => `Bearer ${issued} ${issued}`],
    ["Bearer <t>,<t>", () => `Bearer ${issued},${issued}`],
    ["Bearer <t>, Basic …", () => `Bearer ${issued}, Basic YWRtaW46eA==`],
    ["Bearer\\t<token>", () => `Bearer\t${issued}`],
    ["Basic with the admin's credentials", () => `Basic ${Buffer.from(`${ADMIN.email}:${ADMIN.password}`).toString("base64")}`],
    ["Token <token>", () => `Token ${issued}`],
    ["the bare token", () => issued],
  ];
  for (const [name, header] of forms) {
    test(name, async () => {
      expect401(await me(header()), INVALID);
    });
  }

  test("two Authorization headers (raw) are refused, not merged into an account", async () => {
    const response = await server.raw([
      `GET /auth/me HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${issued}\r\nAuthorization: Bearer ${issued}\r\nConnection: close\r\n\r\n`,
    ]);
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toBe("Bearer");
  });
});

describe("tokens anywhere but the Authorization header are ignored", () => {
  test("no header → 401 Not authenticated", async () => {
    expect401(await server.request("GET", "/auth/me"), "Not authenticated");
  });

  test("?access_token= in the query string", async () => {
    expect401(await server.request("GET", `/auth/me?access_token=${encodeURIComponent(issued)}`), "Not authenticated");
  });

  test("a cookie (several common names)", async () => {
    const cookie = `access_token=${issued}; token=${issued}; jwt=${issued}; Authorization=Bearer%20${issued}`;
    expect401(await server.request("GET", "/auth/me", { headers: { cookie } }), "Not authenticated");
  });

  test("the JSON body", async () => {
    const response = await server.request("POST", "/auth/logout", { json: { access_token: issued, token: issued } });
    expect401(response, "Not authenticated");
    // …and the real token still works: the anonymous logout did nothing.
    expect((await server.request("GET", "/auth/me", { token: issued })).status).toBe(200);
  });

  test("X-Access-Token / X-Auth-Token headers", async () => {
    const response = await server.request("GET", "/auth/me", { headers: { "x-access-token": issued, "x-auth-token": issued } });
    expect401(response, "Not authenticated");
  });
});

suite.sweep();
