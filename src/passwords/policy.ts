// What a new password must be: 8-128 characters after NFC normalization, and not a well-known one.
import commonPasswordsText from "./common-passwords.txt" with { type: "text" };
import { characterCount, normalizePassword, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from "./hashing.ts";

let commonPasswords: Set<string> | undefined;

/** The list as a set, made at its first use: building it took about 2 ms, which a start that sets no password skips. */
function commonPasswordSet(): Set<string> {
  return (commonPasswords ??= new Set(commonPasswordsText.split("\n").filter((line) => line !== "" && !line.startsWith("#"))));
}

/** Why `password` may not be set, as a sentence naming `field`, or null when it may. */
export function newPasswordProblem(password: string, field = "password"): string | null {
  const normalized = normalizePassword(password);
  const length = characterCount(normalized);
  if (length < PASSWORD_MIN_LENGTH || length > PASSWORD_MAX_LENGTH) {
    return `${field} must be ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters`;
  }
  if (commonPasswordSet().has(normalized.toLowerCase())) return `${field} is too common; choose a less guessable one`;
  return null;
}
