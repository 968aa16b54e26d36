// A command on a real pseudo-terminal (util-linux `script`), as an operator types at it: each answer once its
// prompt shows and the terminal no longer echoes, and the terminal's input never closed, so the command has
// to end by itself once it has what it asked for.
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { cleanEnv, waitUntil, type Env } from "./processes.ts";

const PROMPTS = ["Password: ", "Repeat password: "];
/** An answer that is Ctrl-D at the start of a line: the terminal's end of input, while it stays open. */
export const END_OF_INPUT = "\x04";
/** Each wait only detects a hang; every run here takes a fraction of it. Not a speed limit. */
const STEP_MS = 10_000;
const HANG_MS = 15_000;

/** The processes below `pid` (children, grandchildren, ...), read from /proc. */
function descendantsOf(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const found: number[] = [];
  for (let queue = [pid]; queue.length > 0; ) {
    const next = children.get(queue.shift()!) ?? [];
    found.push(...next);
    queue.push(...next);
  }
  return found;
}

/** The pseudo-terminal `script` made for the command: the /dev/pts/N its descendants read from. */
function terminalBelow(pid: number): string | undefined {
  for (const child of descendantsOf(pid)) {
    try {
      const stdin = readlinkSync(`/proc/${child}/fd/0`);
      if (stdin.startsWith("/dev/pts/")) return stdin;
    } catch {
      // gone meanwhile, or not ours
    }
  }
  return undefined;
}

/** True once the terminal no longer echoes what is typed: the state a hidden prompt must be in. */
function echoIsOff(terminal: string): boolean {
  const settings = Bun.spawnSync(["stty", "-a", "-F", terminal], { stdout: "pipe", stderr: "ignore" }).stdout.toString();
  return /(^|\s)-echo(\s|;|$)/.test(settings);
}

const quote = (arg: string) => `'${arg.replaceAll("'", `'\\''`)}'`;

/**
 * Runs `command` in `cwd` on a pseudo-terminal and answers the two password prompts with `answers`. Returns the
 * exit status and everything the terminal showed, each prompt replaced by `<prompt 1>`, `<prompt 2>`.
 */
export async function answerOnTerminal(
  command: string[],
  answers: string[],
  options: { cwd: string; env?: Env },
): Promise<{ code: number; screen: string }> {
  const proc = Bun.spawn(["script", "-qec", command.map(quote).join(" "), "/dev/null"], {
    cwd: options.cwd,
    env: cleanEnv(options.env),
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
  });
  let screen = "";
  const decoder = new TextDecoder();
  void (async () => {
    for await (const chunk of proc.stdout) screen += decoder.decode(chunk, { stream: true });
  })();
  try {
    const terminal = await waitUntil("the command's pseudo-terminal", () => terminalBelow(proc.pid), STEP_MS);
    for (const [index, prompt] of PROMPTS.entries()) {
      // The prompt is written just before echo is turned off: answer only once both are true.
      await waitUntil(`the prompt '${prompt}' with echo off`, () => (screen.includes(prompt) && echoIsOff(terminal) ? true : undefined), STEP_MS);
      const answer = answers[index]!;
      proc.stdin.write(answer === END_OF_INPUT ? END_OF_INPUT : `${answer}\r`); // Ctrl-D alone, or the line and Enter
      await proc.stdin.flush();
      screen = screen.replace(prompt, `<prompt ${index + 1}>`);
      if (answer === END_OF_INPUT) break; // no further prompt may come
    }
    // `script` ends with the command and passes its exit status on (-e).
    const code = await Promise.race([proc.exited, Bun.sleep(HANG_MS).then(() => "hung" as const)]);
    if (code === "hung") throw new Error(`${command.join(" ")} did not end with its input still open`);
    return { code, screen };
  } catch (error) {
    proc.kill("SIGKILL");
    throw new Error(`${(error as Error).message}; the screen showed: ${JSON.stringify(screen)}`);
  } finally {
    proc.stdin.end();
  }
}
