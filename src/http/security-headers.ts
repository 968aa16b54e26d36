// Headers on every response, errors included: no sniffing, no framing, no caching of account data (headers.ts).
import { Elysia } from "elysia";
import { SECURITY_HEADERS } from "./headers.ts";

export function securityHeaders() {
  // Elysia compiles these into every response it builds, so they cost nothing per request.
  return new Elysia({ name: "security-headers" }).headers(SECURITY_HEADERS);
}
