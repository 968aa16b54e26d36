// `bun run mutate`: puts small, named bugs into the security-critical code one at a time, runs the tests that
// should notice each, and prints which bugs survived. Not part of CI; the score is recorded in test/README.md.
//
//   bun run mutate                 every mutation (a baseline run of the mapped test files first)
//   bun run mutate --only a,b      just these mutation ids
//   bun run mutate --list          the mutations and their test files, without running anything
//   bun run mutate --check         only confirm each mutation's text still occurs exactly once in its file
//   bun run mutate --no-baseline   skip the unmutated run (when you know the tests are green)
//
// The mutations are data, one list per area in scripts/mutations/<area>.ts (their shape and the test-file names in
// scripts/mutations/types.ts, the running order in scripts/mutations/index.ts); this file only runs them.
// Each mutation replaces one exact piece of text, which must occur exactly once in its file; when the code has
// moved on and it does not, the mutation is reported "stale" (fix its text in its area's list) instead of
// silently passing.
// The original file is written back after every run, on Ctrl-C and on SIGTERM, and a journal
// (.mutate-journal.json) lets the next run put back a file left mutated by a run that was killed outright.
//
// Most mutations map to test files that run the sources (in-process, or `bun src/cli.ts`). Where a promise is
// defended only on the compiled binary (test/security/*, test/original-era.test.ts), the mutation names that
// file with a `-t` pattern for the few tests concerned: the binary is rebuilt from the mutated sources (under a
// second; test/support/binary.ts caches by source hash) and that build is removed again after the run.
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cacheDirFor, sourceHash } from "../test/support/source-hash.ts";
import { AREAS, MUTATIONS, type Mutation } from "./mutations/index.ts";

const ROOT = join(import.meta.dir, "..");
const JOURNAL = join(ROOT, ".mutate-journal.json");
/** Per mutation: a bound on a hung run (then counted killed: a hang is noticed), not a speed assertion. */
const RUN_TIMEOUT_MS = 300_000;
const PER_TEST_TIMEOUT_MS = 30_000;

interface Journal {
  file: string;
  original: string;
}

function restoreFromJournal(): void {
  if (!existsSync(JOURNAL)) return;
  const { file, original } = JSON.parse(readFileSync(JOURNAL, "utf8")) as Journal;
  writeFileSync(join(ROOT, file), original);
  rmSync(JOURNAL);
  console.error(`mutate: put back ${file}, left mutated by an interrupted run`);
}

let current: { file: string; original: string; child?: Bun.Subprocess } | undefined;

function restoreCurrent(): void {
  if (!current) return;
  writeFileSync(join(ROOT, current.file), current.original);
  rmSync(JOURNAL, { force: true });
  current = undefined;
}

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    current?.child?.kill("SIGKILL");
    restoreCurrent();
    console.error(`\nmutate: ${signal}; sources restored`);
    process.exit(130);
  });
}
process.on("exit", restoreCurrent);

function occurrences(text: string, find: string): number {
  let count = 0;
  for (let at = text.indexOf(find); at !== -1; at = text.indexOf(find, at + 1)) count++;
  return count;
}

function editsOf(mutation: Mutation): Array<{ find: string; replace: string }> {
  return [{ find: mutation.find, replace: mutation.replace }, ...(mutation.also ?? [])];
}

function applies(mutation: Mutation): boolean {
  // A file that moved or went is a stale entry like a changed text, reported as such, not a crash.
  if (!existsSync(join(ROOT, mutation.file))) return false;
  const text = readFileSync(join(ROOT, mutation.file), "utf8");
  return editsOf(mutation).every(({ find }) => occurrences(text, find) === 1);
}

/** The area file that holds a mutation, for the line that asks to update it. */
function listOf(mutation: Mutation): string {
  const area = AREAS.find(({ mutations }) => mutations.includes(mutation));
  return `scripts/mutations/${area?.name ?? "*"}.ts`;
}

function describeTests(mutation: Mutation): string {
  return mutation.tests
    .map((entry) => (typeof entry === "string" ? entry : `${entry[0]} -t '${entry[1]}'`))
    .join(" ")
    .concat(mutation.filter ? ` (plain files -t '${mutation.filter}')` : "");
}

type Outcome = { passed: boolean; timedOut: boolean; output: string };

async function runTests(files: string[], filter?: string): Promise<Outcome> {
  const present = files.filter((file) => existsSync(join(ROOT, file)));
  // No mapped file exists (an older checkout): nothing can notice the bug. `bun test` with no paths would
  // run the whole suite instead.
  if (present.length === 0) return { passed: true, timedOut: false, output: "" };
  const args = ["test", "--timeout", String(PER_TEST_TIMEOUT_MS), ...(filter ? ["-t", filter] : []), ...present.map((file) => `./${file}`)];
  const child = Bun.spawn([process.execPath, ...args], { cwd: ROOT, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  if (current) current.child = child;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, RUN_TIMEOUT_MS);
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(timer);
  const output = stdout + stderr;
  // A -t filter that matches nothing (an older checkout without the test) exits 1, but nothing noticed the bug.
  const nothingRan = /matched 0 tests/.test(output);
  return { passed: (code === 0 || nothingRan) && !timedOut, timedOut, output };
}

/** The mutation's runs in order (plain files together, then each [file, pattern]); stops at the first failure. */
async function runMapped(mutation: Mutation): Promise<Outcome> {
  const plain = mutation.tests.filter((entry): entry is string => typeof entry === "string");
  const pinned = mutation.tests.filter((entry): entry is [string, string] => typeof entry !== "string");
  const runs: Array<[string[], string | undefined]> = [
    ...(plain.length > 0 ? [[plain, mutation.filter] as [string[], string | undefined]] : []),
    ...pinned.map(([file, pattern]) => [[file], pattern] as [string[], string | undefined]),
  ];
  let last: Outcome = { passed: true, timedOut: false, output: "" };
  for (const [files, filter] of runs) {
    last = await runTests(files, filter);
    if (!last.passed) return last;
  }
  return last;
}

function parseArgs(argv: string[]) {
  const only = argv.find((arg) => arg.startsWith("--only"));
  const onlyValue = only?.includes("=") ? only.split("=")[1] : only ? argv[argv.indexOf(only) + 1] : undefined;
  return {
    only: onlyValue ? new Set(onlyValue.split(",")) : undefined,
    list: argv.includes("--list"),
    check: argv.includes("--check"),
    baseline: !argv.includes("--no-baseline"),
  };
}

async function main(): Promise<void> {
  restoreFromJournal();
  const options = parseArgs(process.argv.slice(2));
  const chosen = MUTATIONS.filter((mutation) => !options.only || options.only.has(mutation.id));
  if (options.only) {
    const unknown = [...options.only].filter((id) => !MUTATIONS.some((mutation) => mutation.id === id));
    if (unknown.length > 0) throw new Error(`unknown mutation ids: ${unknown.join(", ")}`);
  }

  if (options.list) {
    for (const m of chosen) console.log(`${m.id.padEnd(34)} ${m.file.padEnd(28)} ${describeTests(m)}`);
    return;
  }

  const stale = chosen.filter((m) => !applies(m));
  for (const m of stale) console.log(`stale  ${m.id}: its text no longer occurs exactly once in ${m.file}; update ${listOf(m)}`);
  if (options.check) {
    console.log(`${chosen.length - stale.length} of ${chosen.length} mutations apply`);
    process.exit(stale.length > 0 ? 1 : 0);
  }
  const runnable = chosen.filter((m) => !stale.includes(m));

  const started = performance.now();
  if (options.baseline) {
    const files = [...new Set(runnable.flatMap((m) => m.tests.filter((entry): entry is string => typeof entry === "string")))].sort();
    // The binary files only with their patterns, joined: their other tests are never run by a mutation.
    const pinned = runnable.flatMap((m) => m.tests.filter((entry): entry is [string, string] => typeof entry !== "string"));
    const pinnedFiles = [...new Set(pinned.map(([file]) => file))].sort();
    const pattern = [...new Set(pinned.map(([, p]) => `(${p})`))].join("|");
    process.stdout.write(`baseline: ${files.length} test files, and ${pinnedFiles.length} on the binary with their patterns, without mutations ... `);
    let baseline = await runTests(files);
    if (baseline.passed && pinnedFiles.length > 0) baseline = await runTests(pinnedFiles, pattern);
    if (!baseline.passed) {
      console.log("FAILED");
      console.log(baseline.output.split("\n").filter((line) => /^\(fail\)|error:/.test(line)).slice(0, 20).join("\n"));
      console.log("The tests must pass unmutated before mutations mean anything.");
      process.exit(1);
    }
    console.log(`ok (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  }

  const results: Array<{ mutation: Mutation; killed: boolean; seconds: number; timedOut: boolean }> = [];
  for (const [index, mutation] of runnable.entries()) {
    const path = join(ROOT, mutation.file);
    const original = readFileSync(path, "utf8");
    current = { file: mutation.file, original };
    writeFileSync(JOURNAL, JSON.stringify({ file: mutation.file, original } satisfies Journal));
    writeFileSync(path, editsOf(mutation).reduce((text, { find, replace }) => text.replace(find, replace), original));
    // A binary built from the mutated sources is cached under their hash: removed after the run.
    const mutatedBuild = cacheDirFor(sourceHash());
    const at = performance.now();
    process.stdout.write(`[${String(index + 1).padStart(2)}/${runnable.length}] ${mutation.id.padEnd(34)} `);
    let outcome: Outcome;
    try {
      outcome = await runMapped(mutation);
    } finally {
      restoreCurrent();
      rmSync(mutatedBuild, { recursive: true, force: true });
    }
    const seconds = (performance.now() - at) / 1000;
    const killed = !outcome.passed;
    results.push({ mutation, killed, seconds, timedOut: outcome.timedOut });
    // Which test noticed, so a kill by an unrelated failure (a typo in the mutation) is seen at once.
    const by = outcome.output.split("\n").find((line) => line.startsWith("(fail)"))?.slice(7, 130) ?? "the run failed before any test";
    console.log(`${killed ? (outcome.timedOut ? "killed (hung)" : "killed") : "SURVIVED"}  ${seconds.toFixed(1)} s${killed ? `  by: ${by}` : ""}`);
  }

  const killed = results.filter((r) => r.killed).length;
  const survivors = results.filter((r) => !r.killed);
  const minutes = (performance.now() - started) / 60_000;
  console.log("");
  console.log(`score: ${killed} of ${results.length} killed (${((100 * killed) / Math.max(1, results.length)).toFixed(0)}%) in ${minutes.toFixed(1)} min`);
  for (const { mutation } of survivors) {
    console.log(`  survived: ${mutation.id} (${mutation.file}): breaks "${mutation.breaks}"`);
    console.log(`    ${mutation.acceptable ? `acceptable: ${mutation.acceptable}` : "NOT ACCEPTED: add a test that fails with this bug"}`);
  }
  if (stale.length > 0) console.log(`stale (not run): ${stale.map((m) => m.id).join(", ")}`);
  const unexplained = survivors.filter((r) => !r.mutation.acceptable).length;
  process.exit(unexplained > 0 || stale.length > 0 ? 1 : 0);
}

await main();
