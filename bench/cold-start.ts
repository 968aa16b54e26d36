// `bun bench/cold-start.ts --binary ./moxie --db FILE [--runs 15]`: cold start alone (bench/scenarios/cold-start.ts),
// on any moxie database file, with the targets and verdicts `bun run bench` gives it. About 20 s.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { COLD_LABELS, coldChecks, measureColdStart, type ColdKind } from "./scenarios/cold-start.ts";

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: { binary: { type: "string" }, db: { type: "string" }, runs: { type: "string", default: "15" } },
});
if (!values.binary || !values.db) {
  console.error("usage: bun bench/cold-start.ts --binary ./moxie --db SEEDED.db [--runs 15]");
  process.exit(2);
}
const cacheDir = join(import.meta.dir, ".cache");
mkdirSync(cacheDir, { recursive: true });
const work = mkdtempSync(join(cacheDir, "cold-"));
try {
  const result = await measureColdStart({
    binary: resolve(values.binary),
    seededDb: resolve(values.db),
    workDir: work,
    cacheDir,
    runs: Number(values.runs),
    env: (db) => ({ ...process.env, DATABASE_URL: db, SECRET_KEY: "cold-start-secret-0123456789abcdef-0123456789abcdef", PORT: undefined }),
  });
  for (const [kind, label] of Object.entries(COLD_LABELS)) {
    const samples = result.samples[kind as ColdKind].map((v) => v.toFixed(1)).join(" ");
    console.log(`${label}: median ${result.medians[kind as ColdKind].toFixed(1)} ms  [${samples}]`);
  }
  console.log("");
  for (const check of coldChecks(result.medians)) {
    console.log(
      `${check.what}: ${check.ms.toFixed(1)} ms, +${check.overFloorMs.toFixed(1)} ms over the ${check.floorName} ` +
        `(${check.floorMs.toFixed(1)} ms); target ≤ +${check.targetMs} ms: ${check.pass ? "PASS" : "FAIL"}`,
    );
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
