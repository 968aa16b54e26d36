// Structured logs: one JSON object per line on stdout (or a short human line with LOG_FORMAT=pretty).
import { writeSync } from "node:fs";

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFormat = "json" | "pretty";
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

export function createLogger(
  options: { level?: LogLevel; format?: LogFormat; write?: (line: string) => void } = {},
): Logger {
  const threshold = LOG_LEVELS.indexOf(options.level ?? "info");
  const format = options.format ?? "json";
  const write = options.write ?? writeStdoutBatched;
  const emit = (level: LogLevel, message: string, fields?: LogFields): void => {
    if (LOG_LEVELS.indexOf(level) < threshold) return;
    const time = isoNow();
    if (format === "pretty") {
      // A field left undefined (user_id of an anonymous request) is left out, as JSON.stringify leaves it out.
      const extra = fields
        ? Object.entries(fields).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
        : [];
      write([time.slice(11, 23), level.toUpperCase().padEnd(5), message, ...extra].join(" "));
    } else {
      // JSON.stringify({ time, level, msg, ...fields }) without copying the fields into a new object first:
      // this runs once per request. Fields never use the names time, level or msg.
      const head = `{"time":"${time}","level":"${level}","msg":${JSON.stringify(message)}`;
      const rest = fields ? JSON.stringify(fields) : "{}";
      write(rest.length > 2 ? `${head},${rest.slice(1)}` : `${head}}`);
    }
  };
  return {
    debug: (message, fields) => emit("debug", message, fields),
    info: (message, fields) => emit("info", message, fields),
    warn: (message, fields) => emit("warn", message, fields),
    error: (message, fields) => emit("error", message, fields),
  };
}

let lastMs = 0;
let lastIso = "";

/** Date#toISOString, computed once per millisecond: busy servers log many lines in the same one. */
function isoNow(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastIso = new Date(now).toISOString();
  }
  return lastIso;
}

let pending: string[] = [];
let scheduled = false;

/**
 * Lines written in one turn of the event loop go out in one write: a busy server logs every request
 * without a system call each. Whatever is pending is written synchronously at exit.
 */
function writeStdoutBatched(line: string): void {
  pending.push(line);
  if (scheduled) return;
  scheduled = true;
  setImmediate(flushStdout);
}

function flushStdout(): void {
  scheduled = false;
  if (pending.length === 0) return;
  const lines = pending.length;
  const batch = pending.join("\n") + "\n";
  pending = [];
  if (stdoutFailed !== undefined) return dropped(lines);
  watchStdout();
  try {
    // Bun's stream queues what a slow reader (journald under load) cannot take yet; a failure comes back here.
    process.stdout.write(batch, (error) => {
      if (error) dropped(lines, error);
    });
  } catch (error) {
    dropped(lines, error);
  }
}

// A log line that cannot be written (stdout a pipe whose reader has gone, `moxie serve | head -1`; a full disk
// under a redirect) is dropped and counted: logging must never stop the server or its shutdown. Unhandled, the
// stream's error event would end the process with a stack trace.
let stdoutFailed: string | undefined;
let droppedLines = 0;
let watching = false;

function watchStdout(): void {
  if (watching) return;
  watching = true;
  process.stdout.on("error", (error) => stdoutBroke(error));
}

function stdoutBroke(error: unknown): void {
  if (stdoutFailed !== undefined) return;
  stdoutFailed = (error as NodeJS.ErrnoException).code ?? (error as Error).message ?? String(error);
  tellStderr(`moxie: cannot write the log to stdout (${stdoutFailed}); log lines are dropped and counted from now on`);
}

function dropped(lines: number, error?: unknown): void {
  droppedLines += lines;
  if (error !== undefined) stdoutBroke(error);
}

/** Said on stderr with a plain system call; if stderr is gone too, there is nobody to tell. */
function tellStderr(text: string): void {
  try {
    writeSync(2, text + "\n");
  } catch {
    // stderr is closed as well
  }
}

process.on("exit", () => {
  if (pending.length > 0) {
    const lines = pending.length;
    const batch = pending.join("\n") + "\n";
    pending = [];
    if (stdoutFailed !== undefined) {
      droppedLines += lines;
    } else {
      try {
        writeSync(1, batch);
      } catch (error) {
        dropped(lines, error);
      }
    }
  }
  if (droppedLines > 0) tellStderr(`moxie: ${droppedLines} log line${droppedLines === 1 ? " was" : "s were"} dropped: stdout could not be written (${stdoutFailed})`);
});

/** For tests and commands that should print nothing. */
export const silentLogger: Logger = createLogger({ write: () => {} });
