// Reads a password without it touching argv or shell history: hidden prompt on a terminal, a line otherwise.
import { StringDecoder } from "node:string_decoder";
import { UsageError } from "./errors.ts";

/**
 * On a terminal: asks twice with echo off and requires the two to match.
 * Otherwise: reads the first line of stdin, so `printf 'pw\n' | moxie create-admin ...` works.
 */
export async function readNewPassword(): Promise<string> {
  if (!process.stdin.isTTY) {
    const line = await readLine();
    if (line === undefined) throw new UsageError("no password given: pass --password or one line on stdin");
    return line;
  }
  const first = await promptHidden("Password: ");
  const second = first === undefined ? undefined : await promptHidden("Repeat password: ");
  // Ctrl-D at either prompt: the terminal said "no more input", so there is nothing to ask again.
  if (first === undefined || second === undefined) throw new UsageError("no password given (end of input at the prompt); nothing was written");
  if (first !== second) throw new UsageError("the two passwords do not match");
  return first;
}

/** The answer, or undefined when the input ended (Ctrl-D) before a line. */
async function promptHidden(question: string): Promise<string | undefined> {
  process.stderr.write(question);
  setEcho(false);
  try {
    return await readLine();
  } finally {
    setEcho(true);
    process.stderr.write("\n");
  }
}

function setEcho(on: boolean): void {
  Bun.spawnSync(["stty", on ? "echo" : "-echo"], { stdin: "inherit", stdout: "ignore", stderr: "ignore" });
}

/** Bytes read past the last line handed out: a fast typist's second answer, or a pipe's next line. */
let buffered = "";
const decoder = new StringDecoder("utf8");
/** stdin has ended (Ctrl-D, or the pipe closed): no "end" event comes again, so later reads answer at once. */
let ended = false;

/**
 * Reads one line from stdin and lets go of stdin again (pause, listeners removed), so the process ends as soon
 * as the command is done, even though the terminal or the pipe's writer is still open. An async iterator over
 * stdin would keep it flowing, and the process alive, until the other end closes (Ctrl-D).
 */
function readLine(): Promise<string | undefined> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    const finish = (error: Error | undefined, line?: string) => {
      stdin.off("data", onData);
      stdin.off("end", onEnd);
      stdin.off("error", onError);
      stdin.pause();
      if (error) reject(error);
      else resolve(line?.replace(/\r$/, ""));
    };
    const takeLine = (): boolean => {
      const end = buffered.indexOf("\n");
      if (end === -1) return false;
      const line = buffered.slice(0, end);
      buffered = buffered.slice(end + 1);
      finish(undefined, line);
      return true;
    };
    const onData = (chunk: Buffer | string) => {
      buffered += typeof chunk === "string" ? chunk : decoder.write(chunk);
      takeLine();
    };
    const onEnd = () => {
      ended = true;
      const rest = buffered + decoder.end();
      buffered = "";
      finish(undefined, rest === "" ? undefined : rest);
    };
    const onError = (error: Error) => finish(error);
    if (takeLine()) return;
    if (ended) {
      const rest = buffered;
      buffered = "";
      resolve(rest === "" ? undefined : rest.replace(/\r$/, ""));
      return;
    }
    stdin.on("data", onData);
    stdin.on("end", onEnd);
    stdin.on("error", onError);
    stdin.resume();
  });
}
