// One spelling per email address: NFKC, lower-case, and nothing invisible, so look-alikes cannot make twins.

/** Controls, format characters (zero-width space, soft hyphen, word joiner, bidi marks) and every kind of space. */
const INVISIBLE_OR_SPACE = /[\p{Cc}\p{Cf}\p{Z}\s]/u;
const WELL_FORMED = /^[^@]+@[^@]+\.[^@]+$/;
export const EMAIL_MAX_LENGTH = 254;

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
 * The stored form of `email`: surrounding blanks trimmed, NFKC (fullwidth letters and composed/decomposed
 * accents become one spelling), lower-cased. Throws InvalidEmailError naming `field` when a space, control or
 * invisible character is inside, or when the normalized form is no longer an address.
 */
export function normalizeEmail(email: string, field = "email"): string {
  const trimmed = email.trim();
  if (INVISIBLE_OR_SPACE.test(trimmed)) {
    throw new InvalidEmailError(`${field} must not contain spaces, control or invisible characters`, "hidden");
  }
  const normalized = trimmed.normalize("NFKC").toLowerCase();
  if (INVISIBLE_OR_SPACE.test(normalized) || !WELL_FORMED.test(normalized) || normalized.length > EMAIL_MAX_LENGTH) {
    throw new InvalidEmailError(`${field} must be a valid email address`, "malformed");
  }
  return normalized;
}

/**
 * What a stored email (from before these rules) becomes: the normalized form with controls and invisible
 * characters dropped. Two rows with one key are the same address spelled twice.
 */
export function storedEmailKey(email: string): string {
  return email.trim().replace(/[\p{Cc}\p{Cf}]/gu, "").normalize("NFKC").toLowerCase();
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
