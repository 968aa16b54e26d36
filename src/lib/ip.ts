// IP addresses in one spelling, and the client an address counts as: an IPv6 address by its network, since one host
// usually holds a whole /64.

// node:net's own expressions (lib/internal/net.js, as Bun ships them), so isIP answers exactly as node:net's does
// (test/ip.test.ts compares them); importing node:net for it cost about 2 ms of every start.
const V4_SEG = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])";
const V4_STR = `(?:${V4_SEG}\\.){3}${V4_SEG}`;
const V6_SEG = "(?:[0-9a-fA-F]{1,4})";
const IPV4 = new RegExp(`^${V4_STR}$`);
const IPV6 = new RegExp(
  "^(?:" +
    `(?:${V6_SEG}:){7}(?:${V6_SEG}|:)|` +
    `(?:${V6_SEG}:){6}(?:${V4_STR}|:${V6_SEG}|:)|` +
    `(?:${V6_SEG}:){5}(?::${V4_STR}|(?::${V6_SEG}){1,2}|:)|` +
    `(?:${V6_SEG}:){4}(?:(?::${V6_SEG}){0,1}:${V4_STR}|(?::${V6_SEG}){1,3}|:)|` +
    `(?:${V6_SEG}:){3}(?:(?::${V6_SEG}){0,2}:${V4_STR}|(?::${V6_SEG}){1,4}|:)|` +
    `(?:${V6_SEG}:){2}(?:(?::${V6_SEG}){0,3}:${V4_STR}|(?::${V6_SEG}){1,5}|:)|` +
    `(?:${V6_SEG}:){1}(?:(?::${V6_SEG}){0,4}:${V4_STR}|(?::${V6_SEG}){1,6}|:)|` +
    `(?::(?:(?::${V6_SEG}){0,5}:${V4_STR}|(?::${V6_SEG}){1,7}|:))` +
    ")(?:%[0-9a-zA-Z-.:]{1,})?$",
);

/** 4 for an IPv4 address, 6 for an IPv6 address (a zone id allowed), 0 for anything else: node:net's isIP. */
export function isIP(text: string): 0 | 4 | 6 {
  if (IPV4.test(text)) return 4;
  if (IPV6.test(text)) return 6;
  return 0;
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

/**
 * The client an address counts as for the login throttle and the audit's counted refusals: an IPv4 address
 * (an IPv4-mapped IPv6 one included) is itself; an IPv6 address is its network of `ipv6PrefixLength` bits,
 * written `2001:db8:77:1::/64`, since one host usually holds a whole /64 and can rotate through it at will.
 * Anything that is no IP address (`unknown`) is returned as it is.
 */
export function clientNetwork(address: string, ipv6PrefixLength: number): string {
  const canonical = canonicalAddress(address);
  if (isIP(canonical) !== 6 || ipv6PrefixLength >= 128) return canonical;
  const groups = ipv6Groups(canonical.replace(/%.*$/s, "")); // a zone id names an interface, not a network
  if (!groups) return canonical;
  const masked = groups.map((group, index) => {
    const kept = Math.min(16, Math.max(0, ipv6PrefixLength - 16 * index));
    return group & ((0xffff << (16 - kept)) & 0xffff);
  });
  const network = new URL(`http://[${masked.map((group) => group.toString(16)).join(":")}]/`).hostname.slice(1, -1);
  return `${network}/${ipv6PrefixLength}`;
}

/** The eight 16-bit groups of an IPv6 address in hexadecimal groups (canonicalAddress's form), or undefined. */
function ipv6Groups(address: string): number[] | undefined {
  const halves = address.split("::");
  if (halves.length > 2) return undefined;
  const part = (text: string | undefined) => (text ? text.split(":").map((group) => parseInt(group, 16)) : []);
  const head = part(halves[0]);
  const tail = part(halves[1]);
  const groups = halves.length === 2 ? [...head, ...Array(8 - head.length - tail.length).fill(0), ...tail] : head;
  return groups.length === 8 && groups.every((group) => Number.isInteger(group) && group >= 0 && group <= 0xffff) ? groups : undefined;
}
