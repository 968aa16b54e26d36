// The client's address: the socket's, or the proxy's X-Forwarded-For when the socket is the trusted proxy.
import type { Server } from "bun";
import { isIP } from "node:net";

/** The client address of a request, with the deployment's proxy setting applied. */
export type AddressOf = (request: Request, server: Server<unknown> | null) => string;

/**
 * `X-Forwarded-For` is believed only from TRUSTED_PROXY, and then only its last entry (the one the proxy
 * itself appended); anyone else could write any address there and dodge the login throttle.
 */
export function clientAddress(request: Request, server: Server<unknown> | null, trustedProxy: string | undefined): string {
  const socket = server?.requestIP(request)?.address;
  if (socket === undefined) return "unknown";
  const client = canonicalAddress(socket);
  if (trustedProxy === undefined || client !== trustedProxy) return client;
  const forwarded = request.headers.get("x-forwarded-for");
  const last = forwarded?.split(",").at(-1)?.trim();
  return last ? canonicalAddress(last) : client;
}

/**
 * One spelling per address, so that a setting, the socket and a proxy's header compare equal and one client
 * is one throttle key: IPv6 compressed and lower-case (`0:0:0:0:0:0:0:1` is `::1`), and an IPv4 address on a
 * dual-stack socket (`::ffff:127.0.0.1`, `::ffff:7f00:1`) as plain IPv4. Anything else is returned as it is.
 */
export function canonicalAddress(address: string): string {
  if (isIP(address) !== 6) return address;
  let host: string;
  try {
    host = new URL(`http://[${address}]/`).hostname.slice(1, -1);
  } catch {
    return address.toLowerCase(); // a zone id (fe80::1%eth0) is no URL host
  }
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(host);
  if (!mapped) return host;
  const high = parseInt(mapped[1]!, 16);
  const low = parseInt(mapped[2]!, 16);
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}
