// Whether `serve` can listen where the settings say, and why not in words an operator can act on (also for doctor).
import { CommandError } from "./errors.ts";

/**
 * Binds `host:port` for a moment and lets go: called before the database or the key file is created, so a start
 * that cannot listen says why and leaves nothing on disk. (The real listen below still reports a late failure.)
 */
export function checkCanListen(host: string, port: number): void {
  try {
    const probe = Bun.serve({ hostname: host, port, reusePort: false, development: false, fetch: () => new Response(null) });
    probe.stop(true);
  } catch (error) {
    throw listenError(host, port, error);
  }
}

/** What went wrong, in words an operator can act on. */
export function listenError(host: string, port: number, error: unknown): CommandError {
  const code = (error as { code?: string }).code;
  const where = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  let reason: string;
  if (code === "EADDRINUSE") {
    reason = `port ${port} is already in use (another moxie or another program listens there); stop it or choose another PORT`;
  } else if (code === "EADDRNOTAVAIL") {
    reason =
      `${host} is not an address of this machine; set HOST to 127.0.0.1 (this machine only), 0.0.0.0 (every ` +
      "interface) or one of the addresses `ip -brief address` lists";
  } else if (code === "EACCES" || code === "EPERM") {
    reason =
      port > 0 && port < 1024
        ? `permission denied: port ${port} is below 1024, which needs root or the CAP_NET_BIND_SERVICE capability; ` +
          "listen on a higher port (the default is 8000) behind a reverse proxy"
        : "permission denied: the system does not let this user listen there (a sandbox or security policy)";
  } else {
    reason = (error as Error).message ?? String(error);
  }
  return new CommandError(`cannot listen on ${where}: ${reason}`);
}
