// The report of a bench/run.ts run: every scenario's figures beside their targets and verdicts, as Markdown for
// the terminal and bench/results/*.md, as JSON for bench/results/*.json, and the block a full run writes into README.md.
import { readFileSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { COLD_LABELS, coldChecks, OFFICE_ACCOUNTS, type ColdCheck, type ColdStartResult } from "./scenarios/cold-start.ts";
import type { FloodResult } from "./scenarios/flood.ts";
import type { EndpointResult } from "./scenarios/throughput.ts";
import { FLOOD_ADDRESSES, ORIGIN, type Plan } from "./lib/plan.ts";
import { log, median, ROOT } from "./lib/processes.ts";
import type { ServerName } from "./lib/servers.ts";
import { TARGETS } from "./lib/targets.ts";

const README = join(ROOT, "README.md");
const README_START = /<!-- bench:start[^>]*-->\n/;
const README_END = "<!-- bench:end -->";

/** Replaces what lies between the bench markers in README.md; leaves the file alone without them. */
export function updateReadme(block: string): void {
  const text = readFileSync(README, "utf8");
  const start = README_START.exec(text);
  const end = text.indexOf(README_END);
  if (!start || end < start.index) {
    log("README.md has no bench markers: not updated");
    return;
  }
  writeFileSync(README, text.slice(0, start.index + start[0].length) + block + "\n" + text.slice(end));
}

export function buildReport(data: {
  plan: Plan;
  results: Record<"health" | "login" | "me", EndpointResult>;
  cold: ColdStartResult;
  moxieIdle: { rss: number };
  baselineIdle: { rss: number };
  afterLoad: Record<ServerName, { rss: number; peak: number }>;
  flood: Record<ServerName, FloodResult>;
  rounds: number;
  roundsNote?: string;
  seedSource: string;
  otherLoadPercent: number;
}) {
  const { plan, results, cold, moxieIdle, baselineIdle, afterLoad, flood, rounds, roundsNote, seedSource, otherLoadPercent } = data;
  const { quick, config, floodClients } = plan;
  const f = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a");
  const verdict = (pass: boolean) => (pass ? "PASS" : "**FAIL**");
  const [coldServe, coldVersion, coldUsers] = coldChecks(cold.medians) as [ColdCheck, ColdCheck, ColdCheck];
  const coldOverFloor = coldServe.overFloorMs;
  const idleRatio = moxieIdle.rss / baselineIdle.rss;
  const floodRssRatio = flood.moxie.rss / flood.baseline.rss;
  const checks = {
    health: results.health.pass,
    login: results.login.pass,
    me: results.me.pass,
    floodP99: flood.moxie.me.p99 <= TARGETS.floodP99Ms,
    rssAfterFlood: floodRssRatio <= TARGETS.rssAfterFloodRatio,
    coldStart: coldServe.pass,
    coldVersion: coldVersion.pass,
    coldUsers: coldUsers.pass,
    idleRss: idleRatio <= TARGETS.idleRssRatio,
  };
  const rows: string[][] = [];
  for (const key of ["health", "login", "me"] as const) {
    const r = results[key];
    rows.push([
      `${r.label} req/s (-c${r.connections})`,
      f(r.baselineRps),
      f(r.moxieRps),
      f(r.ratio, 2),
      `${f(r.baselineP50, 2)} / ${f(r.baselineP99, 2)}`,
      `${f(r.moxieP50, 2)} / ${f(r.moxieP99, 2)}`,
      key === "login"
        ? ""
        : `${f(median(r.rounds.baseline.filter((x) => !x.invalid).map((x) => x.serverCpuMsPer1k ?? NaN)))} / ` +
          `${f(median(r.rounds.moxie.filter((x) => !x.invalid).map((x) => x.serverCpuMsPer1k ?? NaN)))}`,
      `ratio ≥ ${r.target.toFixed(2)}`,
      verdict(r.pass),
    ]);
  }
  rows.push([
    `cold start: spawn → first 200 on /health, ms (median of ${cold.runs}; baseline = compiled raw Bun.serve)`,
    f(cold.medians.rawServe),
    f(cold.medians.moxieServe),
    `+${f(coldOverFloor)} ms`,
    "",
    "",
    `≤ floor + ${TARGETS.coldStartOverFloorMs} ms`,
    verdict(checks.coldStart),
  ]);
  for (const [check, what] of [
    [coldVersion, "`moxie --version`"],
    [coldUsers, `\`moxie users\` (${OFFICE_ACCOUNTS} accounts)`],
  ] as const) {
    rows.push([
      `cold start: ${what}, spawn → exit, ms (median of ${cold.runs}; baseline = empty compiled binary)`,
      f(check.floorMs),
      f(check.ms),
      `+${f(check.overFloorMs)} ms`,
      "",
      "",
      `≤ floor + ${check.targetMs} ms`,
      verdict(check.pass),
    ]);
  }
  rows.push(["idle RSS MB", f(baselineIdle.rss), f(moxieIdle.rss), f(idleRatio, 2), "", "", `ratio ≤ ${TARGETS.idleRssRatio}`, verdict(checks.idleRss)]);
  rows.push(["RSS after load MB", f(afterLoad.baseline.rss), f(afterLoad.moxie.rss), "", "", "", "", ""]);
  rows.push([
    "RSS after flood MB (peak)",
    `${f(flood.baseline.rss)} (${f(flood.baseline.peakRss)})`,
    `${f(flood.moxie.rss)} (${f(flood.moxie.peakRss)})`,
    f(floodRssRatio, 2),
    "",
    "",
    `ratio ≤ ${TARGETS.rssAfterFloodRatio}`,
    verdict(checks.rssAfterFlood),
  ]);
  rows.push([
    "/auth/me p99 during login flood ms",
    f(flood.baseline.me.p99, 2),
    f(flood.moxie.me.p99, 2),
    "",
    `${f(flood.baseline.me.p50, 2)} / ${f(flood.baseline.me.p99, 2)}`,
    `${f(flood.moxie.me.p50, 2)} / ${f(flood.moxie.me.p99, 2)}`,
    `≤ ${TARGETS.floodP99Ms} (moxie)`,
    verdict(checks.floodP99),
  ]);
  rows.push(["/auth/me req/s during login flood (-c4)", f(flood.baseline.me.rps), f(flood.moxie.me.rps), f(flood.moxie.me.rps / flood.baseline.me.rps, 2), "", "", "", ""]);
  const statuses = (s?: Record<string, number>) =>
    s ? `${s["2xx"] ?? 0}/${s["401"] ?? 0}/${s["429"] ?? 0}/${s["503"] ?? 0}/${s.other ?? 0}` : "n/a";
  rows.push(["flood logins 2xx/401/429/503/other", statuses(flood.baseline.login.statuses), statuses(flood.moxie.login.statuses), "", "", "", "", ""]);
  rows.push(["server CPU during flood %", f(flood.baseline.cpuPercent, 0), f(flood.moxie.cpuPercent, 0), "", "", "", "", ""]);

  const header = ["metric", "baseline", "moxie", "moxie/baseline", "baseline p50 / p99 ms", "moxie p50 / p99 ms", "server CPU µs/req baseline / moxie", "target", "result"];
  for (const row of rows) if (row.length === 8) row.splice(6, 0, "");
  const table = [
    `| ${header.join(" | ")} |`,
    `| ${header.map((_, i) => (i === 0 ? "---" : "---:")).join(" | ")} |`,
    ...rows.map((row) => `| ${row.join(" | ")} |`),
  ].join("\n");

  const cpuModel = /^model name\s*:\s*(.*)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1]?.trim() ?? "unknown";
  const nproc = Number(Bun.spawnSync(["nproc"]).stdout.toString().trim()) || availableParallelism();
  const machine = { nproc, cpuModel, bun: Bun.version };
  const date = new Date().toISOString();
  const problems: string[] = [];
  for (const key of ["health", "login", "me"] as const) {
    for (const name of ["baseline", "moxie"] as const) {
      const bad = results[key].rounds[name].filter((r) => r.non2xx > 0 || r.socketErrors > 0);
      for (const r of bad) {
        problems.push(
          `${results[key].label} on ${name}: ${r.non2xx} non-2xx, ${r.socketErrors} socket errors of ${r.requests}` +
            (r.invalid ? " (run excluded from the medians)" : ""),
        );
      }
    }
  }
  const failed = Object.values(checks).filter((v) => !v).length;
  const markdown = [
    `## moxie vs raw Bun.serve baseline${quick ? " (QUICK run: not comparable to a full run)" : ""}`,
    "",
    `${date} · ${nproc} cores, ${cpuModel} · Bun ${Bun.version} · ${config.users} users (${seedSource}) · ` +
      `${rounds} round(s) of ${config.seconds}s per endpoint and server, order alternating (wrk -t1; medians) · flood ${config.floodSeconds}s`,
    "",
    table,
    "",
    ...(otherLoadPercent > 5
      ? [`⚠ Other processes used ${otherLoadPercent.toFixed(0)}% of the machine's CPU during the measurements: throughput and latency are skewed; server CPU per request is the steadier comparison.`, ""]
      : []),
    `Overall: ${failed === 0 ? "all targets PASS" : `${failed} of ${Object.keys(checks).length} targets FAIL`}.`,
    "",
    `Cold start, medians of ${cold.runs} interleaved spawns each (bench/cold-start.ts; polling every 1 ms over a raw socket):`,
    "",
    "| what | median ms | runs ms |",
    "| --- | ---: | --- |",
    ...(Object.keys(COLD_LABELS) as Array<keyof typeof COLD_LABELS>).map(
      (kind) => `| ${COLD_LABELS[kind]} | ${f(cold.medians[kind])} | ${cold.samples[kind].map((v) => f(v, 0)).join(" ")} |`,
    ),
    "",
    `Both servers send the same headers (checked before the rounds): security headers, X-Request-Id, and CORS for ${ORIGIN}, ` +
      "which every /health and /auth/me request of the rounds carries as Origin.",
    "",
    `Flood: ${floodClients} connections of wrong-password logins (posing as ${FLOOD_ADDRESSES} clients via X-Forwarded-For; moxie runs with ` +
      "TRUSTED_PROXY=127.0.0.1) while 4 connections measure /auth/me. moxie answers 503 + Retry-After when its hashing queue " +
      "is full; the baseline queues every hash. Memory is VmRSS in MiB.",
    ...(roundsNote ? ["", `Note: ${roundsNote}.`] : []),
    ...(problems.length > 0 ? ["", "Unexpected errors during the rounds:", ...problems.map((p) => `- ${p}`)] : []),
  ].join("\n");

  const group = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US").replaceAll(",", " ") : "n/a");
  const mark = (pass: boolean) => (pass ? "✓" : "✗");
  const cpu = (key: "health" | "me", name: ServerName) =>
    f(median(results[key].rounds[name].filter((x) => !x.invalid).map((x) => x.serverCpuMsPer1k ?? NaN)));
  const readme = [
    `Last full run: ${date.slice(0, 16).replace("T", " ")} UTC, ${nproc} cores (${cpuModel}), Bun ${Bun.version}, ` +
      `${rounds} rounds × ${config.seconds} s (\`bench/results/latest.md\`).` +
      (otherLoadPercent > 5
        ? ` **The machine was shared with other work (other processes took ${otherLoadPercent.toFixed(0)} % of its CPU during ` +
          "the rounds), so req/s, latency and login are skewed; server CPU per request is the steadier figure. " +
          "Rerun on a quiet machine.**"
        : ` Other processes took ${otherLoadPercent.toFixed(0)} % of the machine's CPU during the rounds.`),
    "",
    "| metric | baseline | moxie | ratio | target |",
    "|---|---:|---:|---:|---|",
    `| \`GET /health\` req/s (server CPU µs/req) | ${group(results.health.baselineRps)} (${cpu("health", "baseline")}) | ` +
      `${group(results.health.moxieRps)} (${cpu("health", "moxie")}) | ${f(results.health.ratio, 2)} | ≥ ${TARGETS.healthRatio.toFixed(2)} ${mark(checks.health)} |`,
    `| \`POST /auth/login\` req/s (argon2-bound) | ${f(results.login.baselineRps)} | ${f(results.login.moxieRps)} | ` +
      `${f(results.login.ratio, 2)} | ≥ ${TARGETS.loginRatio.toFixed(2)} ${mark(checks.login)} |`,
    `| \`GET /auth/me\` req/s (server CPU µs/req) | ${group(results.me.baselineRps)} (${cpu("me", "baseline")}) | ` +
      `${group(results.me.moxieRps)} (${cpu("me", "moxie")}) | ${f(results.me.ratio, 2)} | ≥ ${TARGETS.meRatio.toFixed(2)} ${mark(checks.me)} |`,
    `| \`/auth/me\` p99 during a ${floodClients}-client login flood | ${f(flood.baseline.me.p99)} ms | ${f(flood.moxie.me.p99)} ms | | ` +
      `≤ ${TARGETS.floodP99Ms} ms ${mark(checks.floodP99)} |`,
    `| cold start: spawn → first 200 on \`/health\` (median of ${cold.runs}) | ${f(cold.medians.rawServe)} ms (raw \`Bun.serve\`) | ` +
      `${f(cold.medians.moxieServe)} ms | +${f(coldOverFloor)} ms | ≤ +${TARGETS.coldStartOverFloorMs} ms ${mark(checks.coldStart)} |`,
    `| cold start: \`moxie --version\`, spawn → exit | ${f(coldVersion.floorMs)} ms (empty binary) | ${f(coldVersion.ms)} ms | ` +
      `+${f(coldVersion.overFloorMs)} ms | ≤ +${coldVersion.targetMs} ms ${mark(checks.coldVersion)} |`,
    `| cold start: \`moxie users\` (${OFFICE_ACCOUNTS} accounts), spawn → exit | ${f(coldUsers.floorMs)} ms (empty binary) | ${f(coldUsers.ms)} ms | ` +
      `+${f(coldUsers.overFloorMs)} ms | ≤ +${coldUsers.targetMs} ms ${mark(checks.coldUsers)} |`,
    `| idle RSS | ${f(baselineIdle.rss)} MB | ${f(moxieIdle.rss)} MB | ${f(idleRatio, 2)} | ≤ ${TARGETS.idleRssRatio} ${mark(checks.idleRss)} |`,
    `| RSS right after the login flood | ${f(flood.baseline.rss)} MB | ${f(flood.moxie.rss)} MB | ${f(floodRssRatio, 2)} | ` +
      `≤ ${TARGETS.rssAfterFloodRatio} ${mark(checks.rssAfterFlood)} |`,
  ].join("\n");

  const json = {
    date,
    quick,
    machine,
    config: { ...config, roundsRun: rounds, seed: seedSource },
    targets: TARGETS,
    endpoints: results,
    coldStartMs: { ...cold, moxieOverFloor: coldOverFloor, versionOverFloor: coldVersion.overFloorMs, usersOverFloor: coldUsers.overFloorMs },
    rssRatios: { idle: idleRatio, afterFlood: floodRssRatio },
    rssMb: {
      idle: { moxie: moxieIdle.rss, baseline: baselineIdle.rss },
      afterLoad: { moxie: afterLoad.moxie.rss, baseline: afterLoad.baseline.rss },
      afterFlood: { moxie: flood.moxie.rss, baseline: flood.baseline.rss },
      peakAfterFlood: { moxie: flood.moxie.peakRss, baseline: flood.baseline.peakRss },
    },
    flood,
    checks,
    allPass: failed === 0,
    problems,
    otherLoadPercent,
    notes: roundsNote ? [roundsNote] : [],
  };
  return { markdown, json, readme };
}
