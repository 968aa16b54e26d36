// What the session rules refuse, as plain errors: the edge maps each once to a status (src/http/errors.ts).

/** No live session with this id belongs to the account asked about: 404, whoever's it may be. */
export class SessionNotFoundError extends Error {
  override name = "SessionNotFoundError";
  constructor() {
    super("Session not found");
  }
}

/** The 401 for a token whose session was ended or has expired: the guard's answer, and a write's that lost the race. */
export const SESSION_ENDED = "Session ended; sign in again";
