// Reads a password without it touching argv or shell history: hidden prompt on a terminal, a line otherwise.
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
  const second = await promptHidden("Repeat password: ");
  if (first !== second) throw new UsageError("the two passwords do not match");
  return first;
}

async function promptHidden(question: string): Promise<string> {
  process.stderr.write(question);
  setEcho(false);
  try {
    return (await readLine()) ?? "";
  } finally {
    setEcho(true);
    process.stderr.write("\n");
  }
}

function setEcho(on: boolean): void {
  Bun.spawnSync(["stty", on ? "echo" : "-echo"], { stdin: "inherit", stdout: "ignore", stderr: "ignore" });
}

let lines: AsyncIterator<string> | undefined;

async function readLine(): Promise<string | undefined> {
  lines ??= console[Symbol.asyncIterator]();
  const next = await lines.next();
  return next.done ? undefined : next.value.replace(/\r$/, "");
}
