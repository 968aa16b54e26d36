// The one reader of stored dates (src/db/dates.ts): every form SQLite holds for moxie's schema, and garbage.
import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { instantOf, readStoredDate, toIsoUtc, toIsoUtcOrNull, UNREADABLE_DATE } from "../src/db/dates.ts";
import { users } from "../src/db/schema.ts";
import { testDb } from "./helpers.ts";

describe("toIsoUtc reads every stored form as the same instant", () => {
  const forms: Array<[string, string, string]> = [
    ["the original (SQLAlchemy): space, microseconds, naive UTC", "2026-11-30 05:53:04.778602", "2026-11-30T05:53:04.778Z"],
    ["moxie: T, milliseconds, Z", "2026-11-30T05:53:04.778Z", "2026-11-30T05:53:04.778Z"],
    ["T, microseconds, naive (the original's API answer)", "2026-11-30T05:53:05.564308", "2026-11-30T05:53:05.564Z"],
    ["space, no fraction, naive", "2026-11-30 05:53:04", "2026-11-30T05:53:04.000Z"],
    ["T, no fraction, Z", "2026-11-30T05:53:04Z", "2026-11-30T05:53:04.000Z"],
    ["space, fraction, Z", "2026-11-30 05:53:04.5Z", "2026-11-30T05:53:04.500Z"],
    ["lower-case z", "2026-11-30T05:53:04z", "2026-11-30T05:53:04.000Z"],
    ["a positive offset", "2026-11-30T07:53:04.778+02:00", "2026-11-30T05:53:04.778Z"],
    ["a negative offset across midnight", "2026-11-29T23:23:04-06:30", "2026-11-30T05:53:04.000Z"],
    ["+00:00", "2026-11-30 05:53:04.778602+00:00", "2026-11-30T05:53:04.778Z"],
    ["a space before the offset (SQLite allows it)", "2026-11-30T05:53:04 +00:00", "2026-11-30T05:53:04.000Z"],
    ["minutes only", "2026-11-30T05:53", "2026-11-30T05:53:00.000Z"],
    ["a date alone (midnight UTC)", "2026-11-30", "2026-11-30T00:00:00.000Z"],
    ["nanoseconds are truncated, never rounded into the next second", "2026-11-30T05:53:59.999999999Z", "2026-11-30T05:53:59.999Z"],
    ["a leap day", "2028-02-29 12:00:00", "2028-02-29T12:00:00.000Z"],
    ["an offset moving into the previous year", "2027-01-01T00:30:00+01:00", "2026-12-31T23:30:00.000Z"],
    ["a two-digit year is not 19xx", "0099-01-01 00:00:00", "0099-01-01T00:00:00.000Z"],
  ];
  for (const [name, stored, wire] of forms) {
    test(`${name}: ${stored}`, () => {
      expect(toIsoUtc(stored)).toBe(wire);
      expect(readStoredDate(stored)?.toISOString()).toBe(wire);
    });
  }

  test("the answer is always the one wire form: ISO 8601, UTC, milliseconds, Z", () => {
    for (const [, stored] of forms) expect(toIsoUtc(stored)).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });

  test("agrees with SQLite's own reading of each form (so ORDER BY julianday() and the wire agree)", () => {
    const sqlite = new Database(":memory:");
    for (const [, stored] of forms) {
      const { ms } = sqlite.query("SELECT CAST(round((julianday(?) - 2440587.5) * 86400000) AS INTEGER) AS ms").get(stored) as { ms: number };
      // SQLite keeps whole milliseconds and rounds; the reader truncates: at most 1 ms apart.
      expect(Math.abs(ms - readStoredDate(stored)!.getTime())).toBeLessThanOrEqual(1);
    }
  });
});

describe("values that are not dates", () => {
  const garbage: Array<[string, unknown]> = [
    ["empty", ""],
    ["words", "garbage"],
    ["day first", "30/11/2026"],
    ["month 13", "2026-13-01 00:00:00"],
    ["February 30", "2026-02-30"],
    ["February 29 in a common year", "2026-02-29"],
    ["hour 24", "2026-11-30 24:00:00"],
    ["second 60", "2026-11-30T05:53:60Z"],
    ["offset without a colon", "2026-11-30T05:53:04+0200"],
    ["offset minutes 75", "2026-11-30T05:53:04+01:75"],
    ["two zones", "2026-11-30T05:53:04Z+00:00"],
    ["leading blank", " 2026-11-30T05:53:04Z"],
    ["lower-case t (SQLite does not read it either)", "2026-11-30t05:53:04Z"],
    ["a bare number (SQLite would read a Julian day)", "2461374.5"],
    ["an integer", 1764481984],
    ["null", null],
    ["undefined", undefined],
    ["a Date object", new Date(0)],
    ["text after the zone", "2026-11-30T05:53:04Z; DROP TABLE users"],
    ["a five-digit year", "20260-11-30"],
  ];
  for (const [name, value] of garbage) {
    test(`${name}: read as null, answered as ${UNREADABLE_DATE}, never thrown`, () => {
      expect(readStoredDate(value)).toBeNull();
      expect(() => toIsoUtc(value)).not.toThrow();
      expect(toIsoUtc(value)).toBe(UNREADABLE_DATE);
    });
  }

  test("toIsoUtcOrNull keeps an absent date absent, and reads a present one", () => {
    expect(toIsoUtcOrNull(null)).toBeNull();
    expect(toIsoUtcOrNull(undefined)).toBeNull();
    expect(toIsoUtcOrNull("2026-11-30 05:53:04.778602")).toBe("2026-11-30T05:53:04.778Z");
    expect(toIsoUtcOrNull("garbage")).toBe(UNREADABLE_DATE);
  });
});

describe("ordering by instantOf(created_at) across mixed stored forms", () => {
  test("oldest first by the instant, not the text; unreadable values first, as their wire date says", () => {
    const { db } = testDb();
    const stored = [
      "2026-11-30T09:00:00.000Z", // text-wise after the next one (T > space), but earlier
      "2026-11-30 10:00:00.000000",
      "2026-11-30T11:30:00+02:00", // 09:30Z
      "2026-11-30 09:15:00",
      "garbage",
      "2026-11-29T23:59:59.999Z",
    ];
    const insert = db.$client.query("INSERT INTO users (name, email, password_hash, created_at) VALUES (?, ?, 'x', ?)");
    stored.forEach((value, i) => insert.run(`U${i}`, `u${i}@example.com`, value));
    const ordered = db.select({ createdAt: users.createdAt }).from(users).orderBy(instantOf(users.createdAt), users.id).all();
    const wire = ordered.map((row) => toIsoUtc(row.createdAt));
    expect(wire).toEqual([
      UNREADABLE_DATE,
      "2026-11-29T23:59:59.999Z",
      "2026-11-30T09:00:00.000Z",
      "2026-11-30T09:15:00.000Z",
      "2026-11-30T09:30:00.000Z",
      "2026-11-30T10:00:00.000Z",
    ]);
    expect([...wire].sort()).toEqual(wire);
  });

  test("the admin list's order is served by the index, not a sort of every row", () => {
    const { db } = testDb();
    const query = db.select().from(users).orderBy(instantOf(users.createdAt), users.id).limit(1000).toSQL();
    const plan = (db.$client.query(`EXPLAIN QUERY PLAN ${query.sql}`).all(...(query.params as number[])) as Array<{ detail: string }>)
      .map((row) => row.detail)
      .join(" | ");
    expect(plan).toContain("users_created_instant_id_idx");
    expect(plan).not.toContain("TEMP B-TREE");
  });
});
