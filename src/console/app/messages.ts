// What the console says in sentences: the server's details in plain words, and the fixed notices more than one
// module shows. No state, no DOM.

export const SESSION_ENDED = "Your session ended; sign in again.";
/** The 401 for a token whose session was ended ("Session ended; sign in again"): from another of your devices, or by an admin. */
export const SESSION_ENDED_ELSEWHERE =
  "You were signed out: this session was ended elsewhere (from another of your devices, or by an admin). Sign in again to carry on.";
/** A sign-out of sessions that never reached the server: nothing changed there. */
export const NOTHING_SIGNED_OUT = "The server could not be reached, so no session was signed out. Check the connection and try again.";
export const ACCOUNT_DEACTIVATED = "Your account has been deactivated, so you were signed out. Ask your admin to reactivate it.";
export const OWN_PASSWORD_CHANGED = "Your password is changed. You stay signed in here; your other sessions have ended.";

/** A wait in words, rounded up: "45 seconds", "15 minutes", "1 hour and 5 minutes". */
function waitInWords(seconds: number): string {
  const count = (n: number, unit: string) => `${n} ${unit}${n === 1 ? "" : "s"}`;
  if (seconds < 60) return count(Math.max(1, Math.ceil(seconds)), "second");
  const minutes = Math.ceil(seconds / 60);
  if (minutes < 60) return count(minutes, "minute");
  const hours = Math.floor(minutes / 60);
  return minutes % 60 === 0 ? count(hours, "hour") : `${count(hours, "hour")} and ${count(minutes % 60, "minute")}`;
}

/** A sign-in refused after too many failed attempts (429): how long to wait, and who can lift it sooner. */
export function signInLocked(retryAfterSeconds: number | null): string {
  const when = retryAfterSeconds === null ? "later" : `in ${waitInWords(retryAfterSeconds)}`;
  return `Too many failed sign-ins, so signing in is locked for now. Try again ${when}, or ask your admin to unlock your account.`;
}

/** The server's sentence, as a person reads it: "new_password is too common" → "New password is too common." */
export function plainWords(detail: string): string {
  if (/^account is inactive$/i.test(detail.trim())) {
    return "This account is deactivated. Ask your admin to reactivate it; signing in again will not help.";
  }
  let text = detail
    .replace(/\bnew_password\b/g, "new password")
    .replace(/\bcurrent_password\b/g, "current password")
    .replace(/\bis_active\b/g, "status")
    .trim();
  if (text === "") text = "Something went wrong";
  text = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(text) ? text : `${text}.`;
}
