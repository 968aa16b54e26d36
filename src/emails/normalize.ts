// One spelling per email address: NFKC, case-folded, and nothing invisible, so look-alikes cannot make twins.
import { domainToUnicode } from "node:url";
import { caselessKey } from "./case-folding.ts";

/**
 * What reads as nothing: controls, format characters (zero-width space, soft hyphen, word joiner, bidi marks),
 * Unicode's default-ignorable code points (combining grapheme joiner, variation selectors, the Hangul fillers
 * U+115F, U+1160, U+3164, U+FFA0), and the braille blank U+2800, a symbol that renders as an empty cell.
 */
const INVISIBLE = "\\p{Cc}\\p{Cf}\\p{DI}\\u2800";
const INVISIBLE_OR_SPACE = new RegExp(`[${INVISIBLE}\\p{Z}\\s]`, "u");
const INVISIBLE_INSIDE = new RegExp(`[${INVISIBLE}]`, "u");
const INVISIBLE_ANYWHERE = new RegExp(`[${INVISIBLE}]`, "gu");
/** Anything with one "@" and a dot after it: what an address looked like before the shape below (stored ones still sign in). */
const LOOSELY_WELL_FORMED = /^[^@]+@[^@]+\.[^@]+$/;
/**
 * An address as people write them, after NFKC: a local part of RFC 5322 dot-atom characters (letters of any
 * script, digits, !#$%&'*+/=?^_`{|}~-; dots only between them) and a domain of dot-separated labels of
 * letters, digits and hyphens (any script, for IDN), the last of at least two characters and not all digits.
 * A password typed into the email field (`P@ssw0rd.2024`) or markup (`<script>@x.y`) is not one.
 */
const ALNUM = "\\p{L}\\p{M}\\p{Nd}";
const ATOM = `[${ALNUM}!#$%&'*+/=?^_\`{|}~-]+`;
const LABEL = `[${ALNUM}](?:[${ALNUM}-]*[${ALNUM}])?`;
const LAST_LABEL = `(?![\\p{Nd}-]*$)[${ALNUM}][${ALNUM}-]*[${ALNUM}]`;
const WELL_FORMED = new RegExp(`^${ATOM}(?:\\.${ATOM})*@(?:${LABEL}\\.)+${LAST_LABEL}$`, "u");
export const EMAIL_MAX_LENGTH = 254;
/**
 * What an email field accepts on the wire before normalizeEmail decides: one "@" with a dot after it, no space or
 * control character inside, surrounding blanks allowed (they are trimmed before storing, so " A@x.co" is a
 * duplicate, not a typo). The full rules are this module's functions.
 */
export const TYPED_EMAIL_PATTERN = "^\\s*[^\\s@\\u0000-\\u001f\\u007f]+@[^\\s@\\u0000-\\u001f\\u007f]+\\.[^\\s@\\u0000-\\u001f\\u007f]+\\s*$";

/** An email that cannot be stored or looked up as typed; the edge answers 422 with this sentence. */
export class InvalidEmailError extends Error {
  override name = "InvalidEmailError";
  constructor(
    message: string,
    /** "hidden": a space, control or invisible character inside; "malformed": not an address once normalized. */
    readonly kind: "hidden" | "malformed",
  ) {
    super(message);
  }
}

/**
 * The one spelling of `email`, the form accounts are stored and looked up by: surrounding blanks trimmed, NFKC
 * (fullwidth letters and composed/decomposed accents become one spelling), case-folded (caselessKey). Throws
 * InvalidEmailError naming `field` when a space, control or invisible character is inside, or when the
 * normalized form has no "@" and dot at all. It does not ask for an address's full shape: an email stored
 * before that rule must still find its account (a new address is checked by normalizeNewEmail).
 */
export function normalizeEmail(email: string, field = "email"): string {
  const trimmed = email.trim();
  if (INVISIBLE_OR_SPACE.test(trimmed)) {
    throw new InvalidEmailError(`${field} must not contain spaces, control or invisible characters`, "hidden");
  }
  const normalized = unicodeDomain(caselessKey(trimmed));
  if (INVISIBLE_OR_SPACE.test(normalized) || !LOOSELY_WELL_FORMED.test(normalized) || normalized.length > EMAIL_MAX_LENGTH) {
    throw new InvalidEmailError(`${field} must be a valid email address`, "malformed");
  }
  return normalized;
}

/**
 * The form a typed email is looked up in, without any rule about its shape: trimmed, NFKC, case-folded, the
 * domain in Unicode. For a valid address it is normalizeEmail's answer; it also finds an account whose stored
 * email is no address at all (the Python original checked nothing: `Office-Admin`, `front desk`).
 * Throws InvalidEmailError ("hidden") naming `field` for a control or invisible character inside, checked on
 * what was typed: decoding a punycode domain drops soft hyphens and zero-width characters, and an email that
 * carries them must be refused whether or not an account would be found without them.
 */
export function emailLookupKey(typed: string, field = "email"): string {
  const trimmed = typed.trim();
  if (INVISIBLE_INSIDE.test(trimmed)) {
    throw new InvalidEmailError(`${field} must not contain control or invisible characters`, "hidden");
  }
  return unicodeDomain(caselessKey(trimmed));
}

/** Whether a normalized email has the shape of an address (WELL_FORMED), so it may be given to an account or kept as typed. */
export function isWellFormedEmail(normalized: string): boolean {
  return normalized.length <= EMAIL_MAX_LENGTH && WELL_FORMED.test(normalized);
}

/** Throws InvalidEmailError naming `field` unless a normalized email has an address's shape: for an address given to an account. */
export function assertNewEmailShape(normalized: string, field = "email"): void {
  if (!isWellFormedEmail(normalized)) throw new InvalidEmailError(`${field} must be a valid email address`, "malformed");
}

/** The normalized form of an address given to a new account: normalizeEmail, and the address shape. */
export function normalizeNewEmail(email: string, field = "email"): string {
  const normalized = normalizeEmail(email, field);
  assertNewEmailShape(normalized, field);
  return normalized;
}

/**
 * What a stored email (from before these rules) becomes: the normalized form (NFKC, case-folded) with controls
 * and invisible characters (INVISIBLE, before and after) dropped. Two rows with one key are the same address
 * spelled twice.
 */
export function storedEmailKey(email: string): string {
  return unicodeDomain(caselessKey(email.trim().replace(INVISIBLE_ANYWHERE, "")).replace(INVISIBLE_ANYWHERE, ""));
}

/**
 * An internationalized domain in its Unicode spelling: `anna@xn--exmple-cua.de` is `anna@exämple.de`. Browsers
 * send the ASCII (punycode) form from an `<input type=email>` while people and the command line type the
 * Unicode one, and one address must be one account. A label that is not valid punycode is left as it is.
 */
function unicodeDomain(email: string): string {
  const at = email.lastIndexOf("@");
  if (at === -1 || !email.includes("xn--", at)) return email;
  const domain = domainToUnicode(email.slice(at + 1));
  return domain === "" ? email : email.slice(0, at + 1) + caselessKey(domain);
}

/**
 * Stored emails that normalize to the same address as another account's: they are never merged silently;
 * `doctor` lists them for an operator to resolve by hand. Each group is the rows sharing one normalized form.
 */
export function emailCollisions(rows: Array<{ id: number; email: string }>): Array<{ normalized: string; ids: number[] }> {
  const groups = new Map<string, number[]>();
  for (const row of rows) {
    const key = storedEmailKey(row.email);
    groups.set(key, [...(groups.get(key) ?? []), row.id]);
  }
  return [...groups].filter(([, ids]) => ids.length > 1).map(([normalized, ids]) => ({ normalized, ids }));
}
