// The one reader of dates stored in the database. moxie writes `2026-11-30T05:53:04.778Z`; the Python original
// (SQLAlchemy) wrote `2026-11-30 05:53:04.778602`, naive UTC; a hand edit may leave anything. Every date that
// leaves the database (API, CLI, console) goes through toIsoUtc, so the wire has one form whatever the file holds.
import { sql, type SQL, type SQLWrapper } from "drizzle-orm";

/**
 * What toIsoUtc answers for a value it cannot read: the Unix epoch, a valid date so that a read never fails
 * (and recognisable as "unknown" to a person). It sorts first, as SQLite sorts the NULL julianday() gives such
 * a value. `moxie doctor` warns about every account holding one.
 */
export const UNREADABLE_DATE = "1970-01-01T00:00:00.000Z";

// The forms SQLite's own date functions read, minus what makes no sense as a stored instant (bare numbers):
// date, optional time (`T` or a space; minutes, seconds, any fraction), optional `Z` or `±HH:MM`.
const STORED_DATE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?\s*(?:([Zz])|([+-])(\d{2}):(\d{2}))?\s*$/;

/** The instant a stored value names (naive means UTC), or null when it is not a date in a form SQLite holds. */
export function readStoredDate(stored: unknown): Date | null {
  if (typeof stored !== "string") return null;
  const match = STORED_DATE.exec(stored);
  if (!match) return null;
  const [, year, month, day, hour = "0", minute = "0", second = "0", fraction = "", , sign, offsetHours, offsetMinutes] = match;
  const y = Number(year);
  const mo = Number(month);
  const d = Number(day);
  const h = Number(hour);
  const mi = Number(minute);
  const s = Number(second);
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || s > 59) return null;
  // Milliseconds, truncated: the wire carries three digits, and truncating never moves an instant into the next second.
  const ms = Number(fraction.slice(0, 3).padEnd(3, "0"));
  let offset = 0;
  if (sign !== undefined) {
    const oh = Number(offsetHours);
    const om = Number(offsetMinutes);
    if (oh > 23 || om > 59) return null;
    offset = (sign === "-" ? -1 : 1) * (oh * 60 + om);
  }
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d); // not Date.UTC: it maps years 0-99 to 1900-1999
  date.setUTCHours(h, mi, s, ms);
  return new Date(date.getTime() - offset * 60_000);
}

/** What moxie writes (strftime('%Y-%m-%dT%H:%M:%fZ')), which is what toISOString gives for a valid date. */
const OWN_FORM = /^(\d{4})-(\d{2})-(\d{2})T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z$/;

/**
 * A stored date as the wire carries it: ISO 8601, UTC, milliseconds, `Z` (2026-11-30T05:53:04.778Z).
 * Never throws: a value that cannot be read comes back as UNREADABLE_DATE.
 */
export function toIsoUtc(stored: unknown): string {
  // moxie's own form is already the wire's: checked, not rebuilt (every account answer carries two dates).
  if (typeof stored === "string") {
    const own = OWN_FORM.exec(stored);
    if (own) {
      const month = Number(own[2]);
      const day = Number(own[3]);
      if (month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(Number(own[1]), month)) return stored;
    }
  }
  return readStoredDate(stored)?.toISOString() ?? UNREADABLE_DATE;
}

/** toIsoUtc for columns that may be NULL (last_login_at, password_changed_at): null stays null. */
export function toIsoUtcOrNull(stored: unknown): string | null {
  return stored === null || stored === undefined ? null : toIsoUtc(stored);
}

/**
 * The sort key for a stored date column in SQL: julianday() reads every form above alike, where comparing the
 * text would put `2026-11-30 10:00` before `2026-11-30T09:00` (a space sorts before `T`).
 */
export function instantOf(column: SQLWrapper): SQL {
  return sql`julianday(${column})`;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}
