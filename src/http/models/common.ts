// The body of every error answer: {"detail": "<one sentence>"} (src/http/errors.ts gives it; routes declare it).
import { t } from "elysia";

export const ErrorModel = t.Object({ detail: t.String() });
