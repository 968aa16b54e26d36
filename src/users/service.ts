// Accounts as plain functions over the database: no HTTP here, so the API and the CLI share every rule.
import { eq } from "drizzle-orm";
import type { Db } from "../db/index.ts";
import { users, type Role, type User } from "../db/schema.ts";
import { hashPassword } from "../auth/password.ts";

/** The fields any caller may see: never the hash. */
export interface PublicUser {
  id: number;
  name: string;
  email: string;
  role: Role;
  is_active: boolean;
  created_at: string;
}

export class EmailTakenError extends Error {
  override name = "EmailTakenError";
  constructor(readonly email: string) {
    super(`an account with email ${email} already exists`);
  }
}

/** Emails are stored and looked up trimmed and lower-cased, so `Admin@Test.com ` is admin@test.com. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export function toPublicUser(user: User): PublicUser {
  return {
    id: user.id,
    name: user.name,
    email: user.email,
    role: user.role,
    is_active: user.isActive,
    created_at: user.createdAt,
  };
}

export interface NewAccount {
  name: string;
  email: string;
  password: string;
  role?: Role;
}

/** Creates an active account; throws EmailTakenError when the normalized email exists. */
export async function createUser(db: Db, input: NewAccount): Promise<User> {
  const passwordHash = await hashPassword(input.password);
  try {
    return db
      .insert(users)
      .values({
        name: input.name.trim(),
        email: normalizeEmail(input.email),
        passwordHash,
        role: input.role ?? "agent",
      })
      .returning()
      .get();
  } catch (error) {
    // The unique index decides, so two concurrent creates of one email cannot both win.
    if (isUniqueViolation(error)) throw new EmailTakenError(normalizeEmail(input.email));
    throw error;
  }
}

export function findUserByEmail(db: Db, email: string): User | undefined {
  return db.select().from(users).where(eq(users.email, normalizeEmail(email))).get();
}

export function findUserById(db: Db, id: number): User | undefined {
  return db.select().from(users).where(eq(users.id, id)).get();
}

export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY";
}
