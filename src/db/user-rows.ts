// An account read with plain bun:sqlite statements (the guard's read, on every request): the columns to select and
// the row mapped with drizzle's own column decoders. drizzle's prepared query did the same work in twice the time.
import { getTableColumns } from "drizzle-orm";
import { users, type User } from "./schema.ts";

const COLUMNS = Object.entries(getTableColumns(users));

/** The users columns as a SELECT list, each qualified by `alias` when given (`u."id", u."name", ...`). */
export function userColumnsSql(alias?: string): string {
  const prefix = alias ? `${alias}.` : "";
  return COLUMNS.map(([, column]) => `${prefix}"${column.name}"`).join(", ");
}

/** The account in `row` (positional values, as `statement.values()` gives them), its columns from `offset` on. */
export function userFromValues(row: unknown[], offset = 0): User {
  const user: Record<string, unknown> = {};
  for (let i = 0; i < COLUMNS.length; i++) {
    const value = row[offset + i];
    const [key, column] = COLUMNS[i]!;
    user[key] = value === null ? null : column.mapFromDriverValue(value);
  }
  return user as User;
}
