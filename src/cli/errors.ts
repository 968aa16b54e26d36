// Failures a command reports as one line on stderr with an exit code, never a stack trace.

/** Exit 2: the command line or a setting is wrong; nothing was started or written. */
export class UsageError extends Error {
  override name = "UsageError";
  readonly exitCode = 2;
}

/** Exit 1 (or the given code): the command was understood but could not be carried out. */
export class CommandError extends Error {
  override name = "CommandError";
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}
