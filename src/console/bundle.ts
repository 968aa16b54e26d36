// Bun macros: imported `with { type: "macro" }`, consoleScript() and consoleStylesheet() run when the importing
// file is bundled (`bun build --compile`) or transpiled (`bun run`, `bun test`), and their results are inlined
// there as string literals. So the compiled binary carries the browser script and stylesheet, and nothing is
// built at run time.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** Stops the build. Bun shows a macro's thrown error only as "cannot coerce Exception", so the reason goes to stderr first. */
function fail(reason: string): never {
  console.error(`moxie console: ${reason}`);
  throw new Error(reason);
}

/** The console's browser code (src/console/app/main.ts and its imports), bundled and minified, as JS text. */
export function consoleScript(): string {
  // Bun.build cannot run inside a macro (the bundler would wait on itself), so the macro runs the CLI.
  const entry = join(import.meta.dir, "app", "main.ts");
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
  if (!result.success) fail(`bundling the console script failed (${result.exitCode}):\n${result.stderr.toString()}`);
  const script = result.stdout.toString();
  if (script.trim() === "") fail("bundling the console script produced nothing");
  return script;
}

/**
 * The stylesheet's parts in src/console/styles/, in cascade order: a later part wins over an earlier one at equal
 * specificity, so phones.css comes last.
 */
const STYLESHEET_PARTS = ["base.css", "page.css", "forms.css", "tables.css", "accounts.css", "passwords.css", "sessions.css", "toast.css", "dialogs.css", "phones.css"];

/**
 * The console's stylesheet: its parts joined in order, as written (one file, no @import to fetch). Bun's CSS
 * bundler is not used because it rewrites the rules (merges, reorders, adds variables); joining keeps them as they are.
 */
export function consoleStylesheet(): string {
  const folder = join(import.meta.dir, "styles");
  // A part added to the folder but not to the list would be left out of the page without a word.
  const unlisted = readdirSync(folder).filter((name) => name.endsWith(".css") && !STYLESHEET_PARTS.includes(name));
  if (unlisted.length > 0) fail(`src/console/styles has parts bundle.ts does not list: ${unlisted.join(", ")}`);
  return STYLESHEET_PARTS.map((name) => readFileSync(join(folder, name), "utf8")).join("\n");
}
