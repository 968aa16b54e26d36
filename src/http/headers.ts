// The headers every response carries, errors included: no sniffing, no framing, no caching of account data. Plain
// values, sent by the /health probe (health-probe.ts) without Elysia and by the securityHeaders plugin everywhere else.

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
