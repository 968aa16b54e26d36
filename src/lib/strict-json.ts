// A strict JSON reader for request bodies: what JSON.parse accepts, minus what only an attacker sends.

export class JsonRejected extends Error {
  override name = "JsonRejected";
}

/** Keys that would reach Object.prototype through a careless merge downstream. */
const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);
export const MAX_JSON_DEPTH = 32;

/**
 * Parses `text` as JSON, rejecting duplicate keys, prototype keys, nesting deeper than MAX_JSON_DEPTH and
 * numbers outside the double range. Objects come back as plain objects.
 */
export function parseStrictJson(text: string): unknown {
  let at = 0;

  const fail = (why: string): never => {
    throw new JsonRejected(why);
  };
  const skipSpace = () => {
    while (at < text.length) {
      const c = text.charCodeAt(at);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) at++;
      else break;
    }
  };
  const readString = (): string => {
    const start = at;
    at++; // opening quote
    while (at < text.length) {
      const c = text.charCodeAt(at);
      if (c === 0x22) break;
      if (c === 0x5c) at++; // skip the escaped character; JSON.parse below checks the escape itself
      else if (c < 0x20) fail("control character in string");
      at++;
    }
    if (at >= text.length) fail("unterminated string");
    at++; // closing quote
    try {
      return JSON.parse(text.slice(start, at)) as string;
    } catch {
      return fail("bad escape in string");
    }
  };
  const readValue = (depth: number): unknown => {
    if (depth > MAX_JSON_DEPTH) fail("nested too deeply");
    skipSpace();
    const c = text[at];
    if (c === "{") {
      at++;
      const object: Record<string, unknown> = {};
      const seen = new Set<string>();
      skipSpace();
      if (text[at] === "}") {
        at++;
        return object;
      }
      for (;;) {
        skipSpace();
        if (text[at] !== '"') fail("expected a key");
        const key = readString();
        if (FORBIDDEN_KEYS.has(key)) fail("forbidden key");
        if (seen.has(key)) fail("duplicate key");
        seen.add(key);
        skipSpace();
        if (text[at] !== ":") fail("expected ':'");
        at++;
        object[key] = readValue(depth + 1);
        skipSpace();
        if (text[at] === ",") {
          at++;
          continue;
        }
        if (text[at] === "}") {
          at++;
          return object;
        }
        fail("expected ',' or '}'");
      }
    }
    if (c === "[") {
      at++;
      const array: unknown[] = [];
      skipSpace();
      if (text[at] === "]") {
        at++;
        return array;
      }
      for (;;) {
        array.push(readValue(depth + 1));
        skipSpace();
        if (text[at] === ",") {
          at++;
          continue;
        }
        if (text[at] === "]") {
          at++;
          return array;
        }
        fail("expected ',' or ']'");
      }
    }
    if (c === '"') return readString();
    const literal = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(at, at + 400));
    if (!literal) return fail("unexpected token");
    at += literal[0].length;
    if (literal[0] === "true") return true;
    if (literal[0] === "false") return false;
    if (literal[0] === "null") return null;
    const number = Number(literal[0]);
    if (!Number.isFinite(number)) fail("number out of range");
    return number;
  };

  const value = readValue(0);
  skipSpace();
  if (at !== text.length) fail("trailing characters");
  return value;
}
