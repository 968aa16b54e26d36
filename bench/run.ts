// `bun run bench` (or `bun bench/run.ts [--quick]`): the runner. moxie against a raw Bun.serve baseline
// (bench/baseline.ts) on the same seeded SQLite file, driven by wrk over loopback only: reads the command line,
// holds the time limit, stops everything it started however it ends, and runs the steps in order: build, seed,
// cold start (bench/scenarios/cold-start.ts), both servers and their contract, throughput rounds
// (scenarios/throughput.ts), the login flood (scenarios/flood.ts), memory (scenarios/memory.ts), the report
// (bench/report.ts). Targets are in lib/targets.ts; lib/ holds what the scenarios share (processes, wrk, servers).
//
// Full run: 1000 users, cold start (15 interleaved spawns of each kind), 3 interleaved rounds of 10 s per
// endpoint and server, a 10 s login flood: about 4 minutes on 2 cores plus ~3 minutes of seeding the first
// time, hard-stopped at 9. --quick: 200 users, 5 cold-start spawns, 1 round of 3 s runs, a 3 s flood.
// Writes bench/results/latest.json and bench/results/latest.md (latest-quick.* with --quick).
//
// Seeding 1000 argon2id hashes costs 1-4 minutes here, so the seeded database is kept in bench/.cache,
// keyed by the migrations and the argon2id cost; --fresh-seed ignores it. If seeding leaves too little of
// the 6 minutes for every round, fewer rounds run and the report says so.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Database } from "bun:sqlite";
import { insertSession, signToken } from "./baseline.ts";
import { buildBaseline, buildMoxie } from "./lib/build.ts";
import { CACHE_DIR, FULL, ME_TOKENS, QUICK, RESULTS_DIR, SECRET, type Plan } from "./lib/plan.ts";
import { elapsed, killEverything, log, machineTicks, ownTicks, stop, track, trackDir } from "./lib/processes.ts";
import { seededDatabase } from "./lib/seed.ts";
import { buildReport, updateReadme } from "./report.ts";
import { checkContract, me, serverEnv, startServer, type Server, type ServerName } from "./lib/servers.ts";
import { ensureWrk, writeScripts } from "./lib/wrk.ts";
import { measureColdStart } from "./scenarios/cold-start.ts";
import { flood } from "./scenarios/flood.ts";
import { idleRss, rssMb } from "./scenarios/memory.ts";
import { endpoints, roundsThatFit, runRounds, summarise, warmUp } from "./scenarios/throughput.ts";

const quick = Bun.argv.includes("--quick");
const plan: Plan = {
  quick,
  freshSeed: Bun.argv.includes("--fresh-seed"),
  floodClients: Number(Bun.argv.find((arg) => arg.startsWith("--flood-clients="))?.split("=")[1] ?? 32),
  config: quick ? QUICK : FULL,
};
const { config } = plan;

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    log(`${signal}: stopping every process the benchmark started`);
    killEverything();
    process.exit(130);
  });
}
const watchdog = setTimeout(() => {
  log(`time limit of ${config.deadlineSeconds}s reached: stopping`);
  killEverything();
  process.exit(124);
}, config.deadlineSeconds * 1000);

async function main(): Promise<void> {
  // Inside bench/.cache rather than /tmp, where a sweep of /tmp/moxie-* by a test run once removed the wrk
  // scripts mid-benchmark (the servers kept their open files and answered plain GETs with 401s).
  mkdirSync(CACHE_DIR, { recursive: true });
  for (const stale of new Bun.Glob("run-*").scanSync({ cwd: CACHE_DIR, onlyFiles: false })) {
    // Left by a run that was SIGKILLed; no run lives longer than the time limit.
    const path = join(CACHE_DIR, stale);
    if (Date.now() - statSync(path).mtimeMs > 2 * config.deadlineSeconds * 1000) rmSync(path, { recursive: true, force: true });
  }
  const work = mkdtempSync(join(CACHE_DIR, "run-"));
  trackDir(work);
  log(`${quick ? "QUICK " : ""}benchmark in ${work}: ${config.users} users, ${config.rounds} round(s) of ${config.seconds}s runs`);

  await ensureWrk();
  const binary = await buildMoxie(work);
  const baselineBinary = await buildBaseline(work);
  const dbPath = join(work, "moxie.db");
  const { ids, source: seedSource } = await seededDatabase(binary, work, dbPath, config.users, plan.freshSeed);
  const seededCopy = join(work, "seeded.db");
  copyFileSync(dbPath, seededCopy);

  log(`cold start: ${config.coldRuns} interleaved spawns each of an empty binary, a raw Bun.serve, moxie --version, moxie users and moxie serve`);
  const cold = await measureColdStart({
    binary,
    seededDb: seededCopy,
    workDir: work,
    cacheDir: CACHE_DIR,
    runs: config.coldRuns,
    env: serverEnv,
    onSpawn: track,
    log,
  });

  const agents = Array.from({ length: config.users - 1 }, (_, i) => `agent${i + 1}@bench.test`);
  // Each /auth/me token names a session, as every sign-in's token does now: both servers read it with its account.
  const sessionsDb = new Database(dbPath);
  const meTokens = ids.slice(0, ME_TOKENS).map((id) => signToken(SECRET, id, 0, insertSession(sessionsDb, id)));
  sessionsDb.close();
  const scripts = writeScripts(work, agents, meTokens);

  log("starting moxie and the baseline");
  const moxie = await startServer("moxie", binary, work, dbPath);
  const moxieIdle = await idleRss(moxie.proc.pid);
  // The baseline answers /auth/me with exactly the fields moxie answers (moxie's wire shape can grow).
  const meKeys = Object.keys((await me(moxie, meTokens[0]!)).body ?? {});
  if (meKeys.length === 0) throw new Error("moxie's /auth/me answered no fields for a seeded token");
  const baseline = await startServer("baseline", baselineBinary, work, dbPath, meKeys);
  const baselineIdle = await idleRss(baseline.proc.pid);
  log(`idle RSS: moxie ${moxieIdle.rss.toFixed(1)} MB, baseline ${baselineIdle.rss.toFixed(1)} MB`);
  const servers: Record<ServerName, Server> = { baseline, moxie };

  try {
    await checkContract(baseline, moxie, meTokens);

    const specs = endpoints(scripts);
    await warmUp([baseline, moxie], config.warmupSeconds, scripts);
    const { rounds, note: roundsNote } = roundsThatFit(config, specs.length, seedSource);

    const pids = [moxie.proc.pid, baseline.proc.pid];
    const machineBefore = machineTicks();
    const ownBefore = ownTicks(pids);
    const byRound = await runRounds(servers, specs, rounds, config.seconds);
    const afterLoad = { moxie: rssMb(moxie.proc.pid), baseline: rssMb(baseline.proc.pid) }; // both idle again
    log(`RSS after load: moxie ${afterLoad.moxie.rss.toFixed(1)} MB, baseline ${afterLoad.baseline.rss.toFixed(1)} MB`);
    const results = summarise(specs, byRound);

    const floodResults = await flood(servers, { clients: plan.floodClients, seconds: config.floodSeconds, floodScript: scripts.flood, meScript: scripts.me });

    // Anything else running on the machine (another test suite, a build) skews every number above.
    const machineAfter = machineTicks();
    const foreign = machineAfter.busy - machineBefore.busy - (ownTicks(pids) - ownBefore);
    const otherLoadPercent = Math.max(0, (foreign / (machineAfter.total - machineBefore.total)) * 100);
    log(`other processes used ${otherLoadPercent.toFixed(0)}% of the machine's CPU while the benchmark ran`);

    const report = buildReport({
      plan,
      results,
      cold,
      moxieIdle,
      baselineIdle,
      afterLoad,
      flood: floodResults,
      rounds,
      roundsNote,
      seedSource,
      otherLoadPercent,
    });
    console.log("\n" + report.markdown);
    mkdirSync(RESULTS_DIR, { recursive: true });
    const stem = (quick ? "latest-quick" : "latest") + (plan.floodClients === 32 ? "" : `-flood${plan.floodClients}`);
    writeFileSync(join(RESULTS_DIR, `${stem}.json`), JSON.stringify(report.json, null, 2) + "\n");
    writeFileSync(join(RESULTS_DIR, `${stem}.md`), report.markdown + "\n");
    log(`wrote bench/results/${stem}.json and bench/results/${stem}.md`);
    if (!quick && plan.floodClients === 32) {
      updateReadme(report.readme);
      log("rewrote the figures between the bench markers in README.md");
    }
  } finally {
    await Promise.all([stop(moxie.proc), stop(baseline.proc)]);
  }
}

try {
  await main();
  log(`done in ${elapsed()}`);
} catch (error) {
  console.error(`\nbenchmark failed: ${(error as Error).stack ?? error}`);
  process.exitCode = 1;
} finally {
  clearTimeout(watchdog);
  killEverything();
}
