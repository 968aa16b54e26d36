// Before `bun test`: the suite drives programs from Debian's packages. On a fresh machine where we are root
// and apt-get exists, install the missing ones; otherwise say exactly what is missing.
import { existsSync } from "node:fs";

const NEEDED = [
  { path: "/usr/bin/chromium", pkg: "chromium", for: "the console's and /docs' browser tests" },
  { path: "/usr/bin/systemd-analyze", pkg: "systemd", for: "checking the units in deploy/ (systemd-analyze verify)" },
  { path: "/usr/bin/python3", pkg: "python3", for: "reading moxie's file as the Python original does (the way back)" },
];

const missing = NEEDED.filter((need) => !existsSync(need.path));
if (missing.length > 0) {
  const root = process.getuid?.() === 0;
  if (!root || !existsSync("/usr/bin/apt-get")) {
    for (const need of missing) console.error(`${need.path} is missing: install Debian's ${need.pkg} (apt-get install ${need.pkg}) for ${need.for}.`);
    process.exit(1);
  }
  console.log(`Installing Debian's ${missing.map((need) => need.pkg).join(" and ")} for the tests (apt-get)...`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  for (const args of [["update", "-qq"], ["install", "-y", "-qq", "--no-install-recommends", ...missing.map((need) => need.pkg)]]) {
    const result = Bun.spawnSync(["apt-get", ...args], { env, stdout: "ignore", stderr: "inherit" });
    if (result.exitCode !== 0) {
      console.error(`apt-get ${args.join(" ")} failed (exit ${result.exitCode})`);
      process.exit(1);
    }
  }
  for (const need of missing) {
    if (!existsSync(need.path)) {
      console.error(`apt-get installed ${need.pkg}, but ${need.path} is still missing`);
      process.exit(1);
    }
  }
}
