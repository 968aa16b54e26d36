// A Bun macro: imported `with { type: "macro" }`, consoleScript() runs when the importing file is bundled
// (`bun build --compile`) or transpiled (`bun run`, `bun test`), and its result is inlined there as a
// string literal. So the compiled binary carries the browser script and nothing is built at run time.
import { join } from "node:path";

/** The console's browser code (src/console/app.ts and its imports), bundled and minified, as JS text. */
export function consoleScript(): string {
  // Bun.build cannot run inside a macro (the bundler would wait on itself), so the macro runs the CLI.
  const entry = join(import.meta.dir, "app.ts");
  const result = Bun.spawnSync(
    [process.execPath, "build", entry, "--target=browser", "--format=esm", "--minify", "--sourcemap=none"],
    {
      cwd: import.meta.dir,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", NO_COLOR: "1" },
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  if (!result.success) {
    throw new Error(`bundling the console script failed (${result.exitCode}):\n${result.stderr.toString()}`);
  }
  const script = result.stdout.toString();
  if (script.trim() === "") throw new Error("bundling the console script produced nothing");
  return script;
}
