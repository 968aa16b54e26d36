// X-Request-Id: the caller's when it is sane, else a new one; no Elysia here, so the /health probe answers with it
// before the app is built.

/** An incoming X-Request-Id is kept only if it cannot smuggle anything into a log line. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The X-Request-Id of a request: the caller's if sane, else a new one. */
export type RequestIds = (request: Request) => string;

/** One source of request ids per app, shared by the request log and the /health probe (health-probe.ts). */
export function requestIds(): RequestIds {
  // A random prefix per process and a counter: unique enough to find a request, far cheaper than a UUID each.
  const prefix = Buffer.from(crypto.getRandomValues(new Uint8Array(6))).toString("hex") + "-";
  let counter = 0;
  return (request) => {
    const incoming = request.headers.get("x-request-id");
    return incoming !== null && SANE_REQUEST_ID.test(incoming) ? incoming : prefix + (++counter).toString(36);
  };
}
