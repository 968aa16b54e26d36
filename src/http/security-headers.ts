// Headers on every response, errors included: no sniffing, no framing, no caching of account data.
import { Elysia } from "elysia";

/** For JSON: nothing may load, nothing may frame it. HTML pages (docs, console) set their own policy. */
export const API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'";

export const SECURITY_HEADERS: Record<string, string> = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "content-security-policy": API_CONTENT_SECURITY_POLICY,
  // Account data must not sit in a browser or proxy cache; static console assets override this.
  "cache-control": "no-store",
};

export function securityHeaders() {
  // Elysia compiles these into every response it builds, so they cost nothing per request.
  return new Elysia({ name: "security-headers" }).headers(SECURITY_HEADERS);
}
