// The client's address: the socket's, or the proxy's X-Forwarded-For when the socket is the trusted proxy.
import type { Server } from "bun";

/** The client address of a request, with the deployment's proxy setting applied. */
export type AddressOf = (request: Request, server: Server<unknown> | null) => string;

/**
 * `X-Forwarded-For` is believed only from TRUSTED_PROXY, and then only its last entry (the one the proxy
 * itself appended); anyone else could write any address there and dodge the login throttle.
 */
export function clientAddress(request: Request, server: Server<unknown> | null, trustedProxy: string | undefined): string {
  const socket = server?.requestIP(request)?.address ?? "unknown";
  if (trustedProxy === undefined || normalizeAddress(socket) !== trustedProxy) return socket;
  const forwarded = request.headers.get("x-forwarded-for");
  const last = forwarded?.split(",").at(-1)?.trim();
  return last ? last : socket;
}

/** "::ffff:127.0.0.1" (IPv4 on a dual-stack socket) is 127.0.0.1. */
export function normalizeAddress(address: string): string {
  return address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
}
