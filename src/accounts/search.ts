// Search by name and email that ignores case and accents in every script: the folded key each account row keeps,
// kept true on every write and repaired at start, and the filter the admin list (API, console, `moxie users`) uses.
import { inArray, or, sql, type SQL } from "drizzle-orm";
import type { Db, Executor } from "../db/index.ts";
import { users } from "../db/schema.ts";
import { caselessKey } from "../emails/case-folding.ts";

/**
 * Letters that carry a stroke or bar drawn through them, which Unicode does not decompose into a base letter and
 * a mark (so stripping marks leaves them alone), mapped to the letter people type for them on a keyboard without
 * them; and the Turkish dotless ı, which case folding keeps apart from i (İ already folds to i + a dot, which goes
 * with the marks). Capitals fold to these first. Left as they are, because they are letters of their own rather
 * than a letter with something on it: æ, œ, ð, þ, ŋ, ə (`ae`, `th` are spellings of a language, not folding).
 */
const STROKED: Record<string, string> = {
  "đ": "d", // Vietnamese, Serbo-Croatian (Đ)
  "ø": "o", // Danish, Norwegian (Ø)
  "ł": "l", // Polish (Ł)
  "ħ": "h", // Maltese (Ħ)
  "ŧ": "t", // Sami (Ŧ)
  "ƀ": "b",
  "ɨ": "i",
  "ƶ": "z",
  "ǥ": "g", // Sami (Ǥ)
  "ı": "i", // Turkish dotless i
};
const STROKED_LETTER = new RegExp(`[${Object.keys(STROKED).join("")}]`, "gu");
const MARKS = /\p{M}+/gu;
const CONTROLS = /\p{Cc}+/gu;

/**
 * `text` as search compares it: Unicode's compatibility caseless form (the emails' full case folding, NFKD:
 * `ZOË` and `zoë`, `ß` and `ss`, final `ς` and `σ`, fullwidth letters), then without combining marks (`ễ` is `e`,
 * `Å` is `a`, Greek tonos, Hebrew points), the stroked letters above as their base letter, composed again (NFKC, so
 * Hangul syllables come back whole; CJK ideographs are untouched). Looser than an email's one spelling on purpose:
 * it finds, it never decides who is who. Two texts that differ only in marks (`が` and `か`, `й` and `и`) fold
 * alike, so a search without the mark finds both.
 */
export function searchFold(text: string): string {
  return caselessKey(text)
    .normalize("NFKD")
    .replace(MARKS, "")
    .replace(STROKED_LETTER, (letter) => STROKED[letter]!)
    .normalize("NFKC");
}

/** What a query for `text` looks for in the keys: folded, without control characters (so never across the "\n"). */
export function searchTextKey(text: string): string {
  return searchFold(text).replace(CONTROLS, "");
}

/** The two search columns of an account with this name and email, for every insert and every update of either. */
export function searchColumns(name: string, email: string): { searchKey: string; searchKeyOf: string } {
  return { searchKey: `${searchFold(name)}\n${searchFold(email)}`, searchKeyOf: `${name}\n${email}` };
}

/** True in SQL for a row whose key was computed from its current name and email (not one another program wrote). */
const KEY_IS_CURRENT = sql`${users.searchKeyOf} IS ${users.name} || char(10) || ${users.email}`;

/**
 * The rows whose key is missing or stale: written by the Python original (it knows no key), or changed by an
 * operator's SQL. Found by SQL alone (one pass over the table, no folding), so it is cheap when there are none.
 */
function rowsWithoutCurrentKey(db: Executor): Array<{ id: number; name: string; email: string }> {
  return db.select({ id: users.id, name: users.name, email: users.email }).from(users).where(sql`NOT (${KEY_IS_CURRENT})`).all();
}

/**
 * The condition "name or email contains `text`, ignoring case and accents" for the admin list. A row's own key
 * answers when it is current; a row without a current key (the original's, since the last start) has its key
 * computed here instead, so it is found all the same, even by a command that only reads. Substring search cannot
 * use a b-tree index: this is one pass over the table (bench/scaling.ts measures it).
 */
export function searchCondition(db: Executor, text: string): SQL {
  const key = searchTextKey(text);
  const matching = rowsWithoutCurrentKey(db)
    .filter((row) => searchColumns(row.name, row.email).searchKey.includes(key))
    .map((row) => row.id);
  const byKey = sql`(${KEY_IS_CURRENT} AND instr(${users.searchKey}, ${key}) > 0)`;
  return matching.length === 0 ? byKey : or(byKey, inArray(users.id, matching))!;
}

/**
 * Gives every row without a current key its key, in one transaction: at start and by every command that writes, like
 * the emails' one spelling. Returns how many rows it wrote. A clean table costs one pass in SQLite, nothing in JS.
 */
export function refreshSearchKeys(db: Db): number {
  if (rowsWithoutCurrentKey(db).length === 0) return 0;
  // A statement prepared once: after the migration that adds the key every row is written here, and building a
  // drizzle query per row cost ten times the writing (2.2 s for 100 000 rows).
  const write = db.$client.prepare("UPDATE users SET search_key = ?, search_key_of = ? WHERE id = ?");
  try {
    return db.transaction(
      (tx) => {
        // Read again under the write lock: another process may have written since.
        const stale = rowsWithoutCurrentKey(tx);
        for (const row of stale) {
          const { searchKey, searchKeyOf } = searchColumns(row.name, row.email);
          write.run(searchKey, searchKeyOf, row.id);
        }
        return stale.length;
      },
      { behavior: "immediate" },
    );
  } finally {
    write.finalize();
  }
}
