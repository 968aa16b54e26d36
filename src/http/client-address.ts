// The client's address: the socket's, or the proxy's X-Forwarded-For when the socket is the trusted proxy.
import type { Server } from "bun";
import { canonicalAddress, isIP } from "../lib/ip.ts";

/** The client address of a request, with the deployment's proxy setting applied. */
export type AddressOf = (request: Request, server: Server<unknown> | null) => string;

/**
 * `X-Forwarded-For` is believed only from TRUSTED_PROXY, and then only its last entry (the one the proxy
 * itself appended); anyone else could write any address there and dodge the login throttle. A last entry that
 * is no IP address (a name, `unknown`, an address with a port) names no client: the socket's address stands,
 * and nothing of it reaches the audit trail.
 */
export function clientAddress(request: Request, server: Server<unknown> | null, trustedProxy: string | undefined): string {
  const socket = server?.requestIP(request)?.address;
  if (socket === undefined) return "unknown";
  const client = canonicalAddress(socket);
  if (trustedProxy === undefined || client !== trustedProxy) return client;
  const forwarded = request.headers.get("x-forwarded-for");
  const last = unbracketed(forwarded?.split(",").at(-1)?.trim() ?? "");
  return isIP(last) ? canonicalAddress(last) : client;
}

/** `[2001:db8::1]` as `2001:db8::1`; anything else as it is. */
function unbracketed(text: string): string {
  return text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
}
