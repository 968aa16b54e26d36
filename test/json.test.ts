// The strict JSON reader (src/lib/strict-json.ts) on its own: what JSON.parse accepts, minus what only an attacker
// sends. SECURITY.md promises 400 for each refusal below; test/body.test.ts checks the status on the wire.
import { describe, expect, test } from "bun:test";
import { JsonRejected, MAX_JSON_DEPTH, parseStrictJson } from "../src/lib/strict-json.ts";

function rejection(text: string): string {
  try {
    parseStrictJson(text);
  } catch (error) {
    expect(error).toBeInstanceOf(JsonRejected);
    return (error as Error).message;
  }
  throw new Error(`accepted: ${text.slice(0, 80)}`);
}

const nested = (depth: number, open = "[", close = "]") => open.repeat(depth) + close.repeat(depth);
const nestedObjects = (depth: number) => '{"a":'.repeat(depth) + "1" + "}".repeat(depth);

describe("parseStrictJson accepts what JSON.parse accepts", () => {
  const samples = [
    '{"name":"Ana","email":"ana@x.co","password":"pw","role":"agent"}',
    ' { "a" : [ 1 , -2.5e3 , true , false , null , "x\\u00e9\\n\\"" ] , "b" : { } , "c" : [ ] } ',
    "0",
    "-0",
    "1.5E+308",
    "-1.7976931348623157e308",
    "5e-324",
    "1e-400", // underflows to 0: finite, accepted as JSON.parse does
    '"\\ud83d\\ude00"',
    "[]",
  ];
  for (const text of samples) {
    test(JSON.stringify(text.slice(0, 40)), () => {
      expect(parseStrictJson(text)).toEqual(JSON.parse(text));
    });
  }

  test(`a value at depth ${MAX_JSON_DEPTH} is accepted (the top level is depth 0); one level more is refused below`, () => {
    expect(MAX_JSON_DEPTH).toBe(32); // the number SECURITY.md states
    expect(parseStrictJson(nested(MAX_JSON_DEPTH + 1))).toEqual(JSON.parse(nested(MAX_JSON_DEPTH + 1)));
    expect(parseStrictJson(nestedObjects(MAX_JSON_DEPTH))).toEqual(JSON.parse(nestedObjects(MAX_JSON_DEPTH)));
  });

  test("objects come back as plain objects with their own keys only", () => {
    const value = parseStrictJson('{"role":"agent","toString":"x"}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.keys(value)).toEqual(["role", "toString"]);
  });
});

describe("parseStrictJson refuses, with a reason", () => {
  const cases: Array<[string, string, RegExp]> = [
    ["out-of-range number 1e999", '{"role":1e999}', /number out of range/],
    ["out-of-range number -1e999", '{"name":-1e999}', /number out of range/],
    ["a 400-digit integer (past the double range)", `[${"9".repeat(400)}]`, /number out of range/],
    ["a 60 000-digit integer", `{"n":${"9".repeat(60_000)}}`, /./],
    ["a duplicate key", '{"role":"agent","role":"admin"}', /duplicate key/],
    ["a duplicate key spelled with an escape", '{"role":"agent","r\\u006fle":"admin"}', /duplicate key/],
    ["__proto__", '{"__proto__":{"role":"admin"}}', /forbidden key/],
    ["constructor", '{"constructor":{"prototype":{"role":"admin"}}}', /forbidden key/],
    ["prototype", '{"prototype":1}', /forbidden key/],
    ["__proto__ spelled with an escape", '{"\\u005f_proto__":1}', /forbidden key/],
    ["a forbidden key deep inside", '{"a":[{"b":{"__proto__":1}}]}', /forbidden key/],
    [`arrays nested ${MAX_JSON_DEPTH + 2} deep (an empty array at depth ${MAX_JSON_DEPTH + 1})`, nested(MAX_JSON_DEPTH + 2), /nested too deeply/],
    [`objects nested ${MAX_JSON_DEPTH + 1} deep (a number at depth ${MAX_JSON_DEPTH + 1})`, nestedObjects(MAX_JSON_DEPTH + 1), /nested too deeply/],
    ["arrays nested 10 000 deep", nested(10_000), /nested too deeply/],
    ["trailing characters", '{"a":1} {"b":2}', /trailing characters/],
    ["single quotes", "{'a':1}", /expected a key/],
    ["a raw control character in a string", '{"a":"x\u0001y"}', /control character/],
    ["a bad escape", '{"a":"\\x41"}', /bad escape/],
    ["an unterminated string", '{"a":"abc', /unterminated string/],
    ["a missing colon", '{"a" 1}', /expected ':'/],
    ["a missing comma", '{"a":1 "b":2}', /expected ',' or '}'/],
    ["an unclosed array", "[1,2", /expected ',' or '\]'/],
    ["NaN", "NaN", /unexpected token/],
    ["Infinity", "Infinity", /unexpected token/],
    ["a leading plus", "+1", /unexpected token/],
    ["a leading zero", "[01]", /expected ',' or '\]'/],
    ["a trailing comma", "[1,]", /unexpected token/],
    ["an empty text", "", /unexpected token/],
  ];
  for (const [name, text, reason] of cases) {
    test(name, () => {
      expect(rejection(text)).toMatch(reason);
    });
  }

  test("every refusal is a JsonRejected, never a RangeError or a stack overflow", () => {
    for (const [, text] of cases) expect(() => parseStrictJson(text)).toThrow(JsonRejected);
  });
});
