// Preloaded by bun test (bunfig.toml): hooks here apply to the whole run, not to one file.
import { afterAll, afterEach, setDefaultTimeout } from "bun:test";
import { removeTempDirs } from "./helpers.ts";
import { killLiveServers } from "./support/processes.ts";

// Many tests spawn servers and hash passwords (argon2, 64 MiB); with two files running at once on two
// cores, 5 s is too tight. This is a bound on a hung test, not a speed assertion.
setDefaultTimeout(30_000);
afterEach(killLiveServers);
afterAll(removeTempDirs);
