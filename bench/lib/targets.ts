// Every target bench/run.ts judges a figure by, in one place (bench/README.md says how each figure is taken).

/**
 * Cold start: medians of interleaved spawns, each minus the floor measured beside it in the same run (the machine
 * of the moment moves every spawn; the difference to a floor is what moxie adds).
 */
export const COLD_TARGETS = {
  /** `moxie serve`, spawn → first 200 on /health, over a compiled raw Bun.serve's (issue 20). */
  serveOverRawMs: 20,
  /**
   * `moxie --version`, spawn → exit, over an empty compiled binary's. The binary is one bundle, loaded whatever the
   * command: a build of it whose entry prints the version before evaluating any other module measured 6 ms over
   * the empty binary on a quiet machine (moxie at 8eb4a61: 18), so 10 is "little more than an empty binary" with
   * room for noise.
   */
  versionOverEmptyMs: 10,
  /**
   * `moxie users` on the seeded database cut to the office's 8 accounts, spawn → exit, over an empty compiled
   * binary's: the bundle as above, then settings, the read-only open and schema check, drizzle's first query and
   * the table. A build whose `users` evaluates only those modules measured 14 ms over the empty binary on a quiet
   * machine (moxie at 8eb4a61: 23), so 15 holds only if the command loads no more than listing needs.
   */
  usersOverEmptyMs: 15,
};

export const TARGETS = {
  healthRatio: 0.9,
  meRatio: 0.8,
  loginRatio: 0.95,
  floodP99Ms: 15,
  /** RSS after the flood, moxie / baseline in the same run (both hold two 64 MiB argon2 buffers then). */
  rssAfterFloodRatio: 1.15,
  idleRssRatio: 1.6,
  coldStartOverFloorMs: COLD_TARGETS.serveOverRawMs,
  versionOverFloorMs: COLD_TARGETS.versionOverEmptyMs,
  usersOverFloorMs: COLD_TARGETS.usersOverEmptyMs,
};
