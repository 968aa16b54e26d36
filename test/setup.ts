// Preloaded by bun test (bunfig.toml): hooks here apply to the whole run, not to one file.
import { afterAll, afterEach, setDefaultTimeout } from "bun:test";
import { removeTempDirs } from "./helpers.ts";
import { killLiveServers } from "./support/processes.ts";

// Many tests spawn servers and hash passwords (argon2, 64 MiB); with two files running at once on two
// cores, 5 s is too tight. This is a bound on a hung test, not a speed assertion.
// It does NOT cover a whole run: Bun 1.4.5 applies a preload's setDefaultTimeout to each file under
// `bun test --parallel` (`bun run test`), but only to the first file of a plain multi-file run
// (`bun test a.test.ts b.test.ts`), and `[test] timeout` in bunfig.toml is not read. So each file that
// spawns processes or hashes passwords calls setDefaultTimeout itself (a call at the top of a file covers that
// file in any run), a test slower still passes its own timeout (the third argument of test()), and
// `bun test --timeout 30000 a.test.ts b.test.ts` covers files that do neither.
setDefaultTimeout(30_000);
afterEach(killLiveServers);
afterAll(removeTempDirs);
