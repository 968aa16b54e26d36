// Every error leaves the API once, here, as {"detail": "<one sentence>"}: no input echoed, no stack.
import { Elysia } from "elysia";
import { HashingBusyError, PasswordWorkQueuedError } from "../passwords/hashing.ts";
import { BEARER_CHALLENGE } from "./guard.ts";
import { DatabaseBusyError, DatabaseFullError } from "../db/errors.ts";
import { InvalidEmailError } from "../emails/normalize.ts";
import type { Logger } from "../lib/log.ts";
import { bodyProblemOf } from "./body.ts";
import { describeValidationFailure } from "./validation.ts";
import { SessionNotFoundError } from "../sessions/errors.ts";
import {
  ActorForbiddenError,
  ActorRevokedError,
  AdminLockoutError,
  EmailTakenError,
  PasswordRaceError,
  PasswordRuleError,
  UserNotFoundError,
  WrongPasswordError,
} from "../accounts/errors.ts";

/** How long a client should wait before retrying after a busy database, in seconds. */
const BUSY_RETRY_AFTER_SECONDS = "2";

/** Service errors the edge knows how to say; anything else is a 500 with a generic sentence. */
function mapKnownError(error: unknown): { status: number; detail: string; headers?: Record<string, string> } | undefined {
  if (error instanceof ActorRevokedError) return { status: 401, detail: error.message, headers: BEARER_CHALLENGE };
  if (error instanceof ActorForbiddenError) return { status: 403, detail: error.message };
  if (error instanceof PasswordRaceError) return { status: 409, detail: error.message };
  if (error instanceof InvalidEmailError) return { status: 422, detail: error.message };
  if (error instanceof PasswordWorkQueuedError) return { status: 429, detail: error.message, headers: { "retry-after": "1" } };
  // A write that met another connection's lock for longer than the busy timeout (some read paths write too).
  const code = (error as { code?: unknown } | null)?.code;
  if (error instanceof DatabaseBusyError || (typeof code === "string" && code.startsWith("SQLITE_BUSY"))) {
    return { status: 503, detail: new DatabaseBusyError().message, headers: { "retry-after": BUSY_RETRY_AFTER_SECONDS } };
  }
  if (error instanceof DatabaseFullError || (typeof code === "string" && code.startsWith("SQLITE_FULL"))) {
    return { status: 503, detail: new DatabaseFullError().message, headers: { "retry-after": "60" } };
  }
  if (error instanceof EmailTakenError) return { status: 409, detail: "Email already registered" };
  if (error instanceof UserNotFoundError) return { status: 404, detail: "User not found" };
  if (error instanceof SessionNotFoundError) return { status: 404, detail: error.message };
  if (error instanceof AdminLockoutError) return { status: 409, detail: error.message };
  if (error instanceof WrongPasswordError) return { status: 403, detail: error.message };
  if (error instanceof PasswordRuleError) return { status: 422, detail: error.message };
  if (error instanceof HashingBusyError) {
    return { status: 503, detail: "Server is busy, try again shortly", headers: { "retry-after": "1" } };
  }
  return undefined;
}

export function errorHandling(log: Logger) {
  return new Elysia({ name: "error-handling" }).onError({ as: "global" }, ({ code, error, set, request, path }) => {
    switch (code) {
      case "VALIDATION": {
        // Our own answer failed its declared shape: a bug on our side, after the handler (and any write) ran.
        // A 422 would tell the client to fix a request that was fine.
        if (error.type === "response") {
          log.error("response failed its schema", { method: request.method, path, problem: describeValidationFailure(error) });
          set.status = 500;
          return { detail: "Internal server error" };
        }
        const refusedBody = bodyProblemOf(request);
        if (refusedBody) {
          set.status = refusedBody.status;
          return { detail: refusedBody.detail };
        }
        set.status = 422;
        return { detail: describeValidationFailure(error) };
      }
      case "PARSE":
        set.status = 400;
        return { detail: "Request body is not valid JSON" };
      case "NOT_FOUND":
        set.status = 404;
        return { detail: "Not Found" };
      case "INVALID_COOKIE_SIGNATURE":
      case "INVALID_FILE_TYPE":
        set.status = 400;
        return { detail: "Bad request" };
    }
    // Responses thrown with status(...) are already shaped; Elysia sends them as they are.
    if (typeof code === "number") return;
    const known = mapKnownError(error);
    if (known) {
      // An operator must hear about a full disk even when no client reports it.
      if (known.detail === new DatabaseFullError().message) log.error("database or disk is full", { method: request.method, path });
      set.status = known.status;
      Object.assign(set.headers, known.headers);
      return { detail: known.detail };
    }
    log.error("unhandled error", {
      method: request.method,
      path,
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    });
    set.status = 500;
    return { detail: "Internal server error" };
  });
}
