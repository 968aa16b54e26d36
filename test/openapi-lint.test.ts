// /openapi.json through a well-kept validator: Redocly CLI's `lint` with its recommended rules, offline.
// Zero errors; the only warnings are the ones listed below, each with the reason it stays.
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createTestApp, ROOT, tempDir } from "./helpers.ts";
import { cleanEnv, runCli } from "./support/processes.ts";

const REDOCLY = join(ROOT, "node_modules", "@redocly", "cli", "bin", "cli.js");
/** Redocly must not phone home or look for updates: the test runs on hosts without internet. */
const OFFLINE_ENV = { REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true", NO_COLOR: "1" };

/** Warnings of the recommended rules that are true of moxie and stay, by rule and place. */
const ACCEPTED_WARNINGS = [
  // An internal tool with no licence to state; naming one would be invented.
  "info-license #/info",
  // The probes and the signpost at / take no input and need no sign-in: there is no 4xx they could give.
  "operation-4xx-response #/paths/~1/get/responses",
  "operation-4xx-response #/paths/~1health/get/responses",
  "operation-4xx-response #/paths/~1ready/get/responses",
];

/** True when this host lets us run a command in an empty network namespace (no interface but a down loopback). */
function canCutNetwork(): boolean {
  try {
    return Bun.spawnSync(["unshare", "--user", "--map-root-user", "--net", "true"], { stdout: "ignore", stderr: "ignore" }).exitCode === 0;
  } catch {
    return false;
  }
}

interface LintReport {
  totals: { errors: number; warnings: number };
  problems: Array<{ ruleId: string; severity: string; message: string; location: Array<{ pointer: string }> }>;
}

describe("redocly lint --extends=recommended", () => {
  test(
    "the document the app serves has no errors and no warning beyond the accepted ones",
    async () => {
      const ctx = createTestApp();
      const response = await ctx.request("GET", "/openapi.json");
      expect(response.status).toBe(200);
      const dir = tempDir("moxie-lint-");
      const file = join(dir, "openapi.json");
      writeFileSync(file, response.text);

      // Where the host allows it, with no network at all: proof that linting never needs the internet.
      const command = [process.execPath, REDOCLY, "lint", "--extends=recommended", "--format=json", file];
      const { code, stdout, stderr } = await runCli([], {
        cwd: dir,
        env: OFFLINE_ENV,
        command: canCutNetwork() ? ["unshare", "--user", "--map-root-user", "--net", ...command] : command,
        timeoutMs: 60_000,
      });

      let report: LintReport;
      try {
        report = JSON.parse(stdout);
      } catch {
        throw new Error(`redocly gave no JSON report (exit ${code}):\n${stdout}\n${stderr}`);
      }
      const errors = report.problems.filter((p) => p.severity === "error").map((p) => `${p.ruleId} ${p.location[0]?.pointer}: ${p.message}`);
      expect(errors).toEqual([]);
      expect(report.totals.errors).toBe(0);
      expect(code).toBe(0);
      const warnings = report.problems.filter((p) => p.severity === "warn").map((p) => `${p.ruleId} ${p.location[0]?.pointer}`);
      expect(warnings.sort()).toEqual([...ACCEPTED_WARNINGS].sort());
    },
    90_000,
  );

  test(
    "the same lint finds the faults it is here to find (it is not a rubber stamp)",
    async () => {
      const broken = {
        openapi: "3.1.0",
        info: { title: "broken", version: "1" },
        paths: { "/x": { post: { requestBody: { content: {} }, responses: { "204": { content: { type: "void" } } } } } },
      };
      const dir = tempDir("moxie-lint-");
      const file = join(dir, "openapi.json");
      writeFileSync(file, JSON.stringify(broken));
      const lint = Bun.spawnSync([process.execPath, REDOCLY, "lint", "--extends=recommended", "--format=json", file], {
        cwd: dir,
        env: cleanEnv(OFFLINE_ENV),
        stdin: "ignore",
        timeout: 60_000,
      });
      const report = JSON.parse(lint.stdout.toString()) as LintReport;
      expect(lint.exitCode).not.toBe(0);
      expect(report.totals.errors).toBeGreaterThan(0);
      expect(report.problems.map((p) => p.ruleId)).toEqual(expect.arrayContaining(["struct", "operation-summary", "security-defined"]));
    },
    90_000,
  );
});
