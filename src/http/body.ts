// Request bodies: JSON only, at most the configured size, read strictly. Replaces Elysia's own parsers.
import { Elysia } from "elysia";
import { JsonRejected, parseStrictJson } from "../lib/strict-json.ts";

/**
 * A body refused for its size or form (413/400/415). Elysia wraps anything thrown while parsing into its
 * own parse error, so the problem is remembered here and answered at validation, after the guards ran.
 */
export interface BodyProblem {
  status: 400 | 413 | 415;
  detail: string;
}

const refused = new WeakMap<Request, BodyProblem>();

/** Why this request's body was refused, if it was. */
export function bodyProblemOf(request: Request): BodyProblem | undefined {
  return refused.get(request);
}

/** Stands in for a refused body: a string fails every object schema, so the route never runs. */
const REFUSED_BODY = "\u0000refused";
const utf8 = new TextDecoder("utf-8", { fatal: true });

export function jsonBodies({ maxBytes }: { maxBytes: number }) {
  const tooLarge = { detail: `Request body is larger than ${maxBytes} bytes` };

  return new Elysia({ name: "json-bodies" })
    .onParse({ as: "global" }, async ({ request, contentType }) => {
      if (!request.body) return;
      // A declared size over the limit is never read; chunked bodies are counted as they arrive.
      const declared = Number(request.headers.get("content-length") ?? 0);
      const bytes = declared > maxBytes ? null : await readAtMost(request.body, maxBytes);
      let problem: BodyProblem;
      if (bytes === null) {
        problem = { status: 413, ...tooLarge };
      } else if (bytes.length === 0) {
        return;
      } else if (contentType.split(";")[0]!.trim().toLowerCase() !== "application/json") {
        problem = { status: 415, detail: "Content-Type must be application/json" };
      } else {
        try {
          return parseStrictJson(utf8.decode(bytes));
        } catch (error) {
          const why = error instanceof JsonRejected ? error.message : "not UTF-8";
          problem = { status: 400, detail: `Request body is not acceptable JSON (${why})` };
        }
      }
      refused.set(request, problem);
      return REFUSED_BODY;
    });
}

/** The whole stream, or null as soon as it passes `limit` bytes (the rest is never read). */
async function readAtMost(stream: ReadableStream<Uint8Array>, limit: number): Promise<Uint8Array | null> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const whole = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    whole.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return whole;
}
