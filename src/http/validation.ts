// A failed schema check said in one sentence that names the field and never repeats the value: the API's 422s
// (src/http/errors.ts) and the CLI's checks of what an operator typed (src/cli/commands/accounts.ts) say it alike.
import type { ValidationError } from "elysia";

type Schema = { enum?: unknown[]; type?: string; format?: string; minLength?: number; maxLength?: number; anyOf?: Schema[]; const?: unknown; minimum?: number; maximum?: number };

/** "email must be a valid email address": names the field, never repeats the submitted value. */
export function describeValidationFailure(error: Readonly<ValidationError>): string {
  // A schema's own `error` sentence wins (schemas only set fixed sentences, never the value), except for a
  // field that is not there at all: that is said as "X is required" whatever the field's sentence is.
  if (typeof error.customError === "string") return missingField(error) ?? error.customError;
  const value = error.value;
  if (error.type === "body" && (typeof value !== "object" || value === null || Array.isArray(value))) {
    return "Request body must be a JSON object";
  }
  const where = error.type === "body" ? "Request body" : error.type === "query" ? "Query" : "Path";
  let first: { path: string; schema: Schema; value: unknown } | undefined;
  try {
    first = error.all[0] as typeof first;
  } catch {
    first = undefined;
  }
  if (!first) return `${where} is invalid`;
  const field = first.path.replace(/^\//, "").replaceAll("/", ".");
  if (field === "") return error.type === "body" ? "Request body must be a JSON object" : `${where} is invalid`;
  if (first.value === undefined) return `${field} is required`;
  const schema = first.schema;
  if (schema.enum) return `${field} must be one of ${schema.enum.join(", ")}`;
  if (schema.anyOf?.every((option) => option.const !== undefined)) {
    return `${field} must be one of ${schema.anyOf.map((option) => String(option.const)).join(", ")}`;
  }
  if (schema.type === "string") {
    if (typeof first.value !== "string") return `${field} must be a string`;
    if (schema.format === "email") return `${field} must be a valid email address`;
    if (schema.minLength !== undefined && schema.maxLength !== undefined) {
      return `${field} must be ${schema.minLength} to ${schema.maxLength} characters`;
    }
    if (schema.maxLength !== undefined) return `${field} must be at most ${schema.maxLength} characters`;
    if (schema.minLength !== undefined) return `${field} must be at least ${schema.minLength} characters`;
  }
  if (schema.type === "integer" || schema.type === "number") {
    const range =
      schema.minimum !== undefined && schema.maximum !== undefined ? ` from ${schema.minimum} to ${schema.maximum}` : "";
    return `${field} must be a whole number${range}`;
  }
  if (schema.type === "boolean") return `${field} must be true or false`;
  return `${field} is invalid`;
}

/** "X is required" when the first failure is a body field that was not sent, else undefined. */
function missingField(error: Readonly<ValidationError>): string | undefined {
  if (error.type !== "body") return undefined;
  let first: { path: string; value: unknown } | undefined;
  try {
    first = error.all[0] as typeof first;
  } catch {
    return undefined;
  }
  const field = first?.path.replace(/^\//, "").replaceAll("/", ".");
  return first && field && first.value === undefined ? `${field} is required` : undefined;
}
