// Before `bun test`: the console's browser tests drive Debian's chromium. On a fresh machine where we
// are root and apt-get exists, install it; otherwise say exactly what is missing.
import { existsSync } from "node:fs";

const CHROMIUM = "/usr/bin/chromium";

if (!existsSync(CHROMIUM)) {
  const root = process.getuid?.() === 0;
  if (!root || !existsSync("/usr/bin/apt-get")) {
    console.error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium) for the console tests.`);
    process.exit(1);
  }
  console.log("Installing Debian's chromium for the console's browser tests (apt-get)...");
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  for (const args of [["update", "-qq"], ["install", "-y", "-qq", "--no-install-recommends", "chromium"]]) {
    const result = Bun.spawnSync(["apt-get", ...args], { env, stdout: "ignore", stderr: "inherit" });
    if (result.exitCode !== 0) {
      console.error(`apt-get ${args.join(" ")} failed (exit ${result.exitCode})`);
      process.exit(1);
    }
  }
}
