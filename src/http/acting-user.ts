// Who a signed-in request acts as when it changes something: the account and session the guard admitted, and the
// client's address. The services check the account and session again where they write (src/accounts/write.ts).
import type { Server } from "bun";
import type { ActingUser } from "../accounts/write.ts";
import type { AddressOf } from "./client-address.ts";

type Admitted = { id: number; tokenVersion: number };

/** The ActingUser for `user`, as the guard read it, signed in with `sessionId` (null: a token from before sessions). */
export function actingUser(user: Admitted, sessionId: string | null, ip: string): ActingUser {
  return { id: user.id, tokenVersion: user.tokenVersion, sessionId, ip };
}

/**
 * A resolve hook for routes that change things: handlers get `actorOf(user, sessionId)`. The address is read only
 * when a handler asks, so routes that only read pay nothing for it.
 */
export function actorResolver(addressOf: AddressOf) {
  return ({ request, server }: { request: Request; server: Server<unknown> | null }) => ({
    actorOf: (user: Admitted, sessionId: string | null): ActingUser => actingUser(user, sessionId, addressOf(request, server)),
  });
}
