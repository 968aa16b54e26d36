// The database tables, as drizzle declares them; drizzle-kit generates drizzle/ from this file.
import { sql } from "drizzle-orm";
import { check, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const ROLES = ["admin", "agent"] as const;
export type Role = (typeof ROLES)[number];

/** UTC instant as ISO 8601 text with milliseconds, e.g. 2026-11-25T15:14:25.123Z. Sorts as it reads. */
const utcNow = sql`(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`;

export const users = sqliteTable("users", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  name: text("name").notNull(),
  email: text("email").notNull().unique(),
  passwordHash: text("password_hash").notNull(),
  role: text("role", { enum: ROLES }).notNull().default("agent"),
  isActive: integer("is_active", { mode: "boolean" }).notNull().default(true),
  createdAt: text("created_at").notNull().default(utcNow),
}, (table) => [check("users_role_known", sql`${table.role} IN ('admin', 'agent')`)]);

export type User = typeof users.$inferSelect;
export type NewUser = typeof users.$inferInsert;
