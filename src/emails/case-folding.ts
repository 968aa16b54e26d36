// Unicode full case folding, and the caseless key emails are stored by. toLowerCase() is not case folding:
// ΟΔΟΣ lower-cases to οδος (a final sigma), while folding gives οδοσ, as it does for οδοσ itself.
import { CASE_FOLDING } from "./case-folding-data.ts";

let table: Map<number, string> | undefined;

/** The folding table, parsed at first use: nothing at start-up pays for it. */
function foldingTable(): Map<number, string> {
  if (table) return table;
  table = new Map();
  for (const entry of CASE_FOLDING.split(",")) {
    const [from, to] = entry.split(":") as [string, string];
    table.set(parseInt(from, 16), String.fromCodePoint(...to.split(" ").map((hex) => parseInt(hex, 16))));
  }
  return table;
}

const ASCII_ONLY = /^[\x00-\x7f]*$/;

/**
 * Full case folding (CaseFolding.txt, statuses C and F; not the Turkic T): ß and ẞ → ss, Σ and ς → σ,
 * ﬁ → fi, İ → i̇, Cherokee small letters → their capitals. Full rather than simple (S) folding so that every
 * capitalization of a text folds as the text does: STRASSE is how straße is written in capitals.
 */
export function foldCase(text: string): string {
  // In ASCII, folding is lower-casing (A-Z only): the common case skips the table.
  if (ASCII_ONLY.test(text)) return text.toLowerCase();
  const fold = foldingTable();
  let folded = "";
  for (const char of text) folded += fold.get(char.codePointAt(0)!) ?? char;
  return folded;
}

/**
 * Unicode's compatibility caseless match (The Unicode Standard, definition D146: NFKD(fold(NFKD(fold(NFD(x)))))),
 * composed again (NFC) to be stored: two texts get one key exactly when they differ only in case and in
 * compatibility forms (fullwidth letters, ligatures, composed or decomposed accents).
 */
export function caselessKey(text: string): string {
  return foldCase(foldCase(text.normalize("NFD")).normalize("NFKD")).normalize("NFKC");
}
