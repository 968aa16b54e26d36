// Memory as the report reads it: VmRSS (and its peak) of each server idle, after the rounds and right after
// the flood (bench/scenarios/flood.ts takes that last reading), compared as moxie / baseline of the same run.
import { readFileSync } from "node:fs";
import { sleep } from "../lib/processes.ts";

/** VmRSS and VmHWM (the peak) of a process, in MiB. */
export function rssMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
  return { rss: kb("VmRSS") / 1024, peak: kb("VmHWM") / 1024 };
}

/** A just-started server's RSS once it has settled (a second after its first 200), before any load. */
export async function idleRss(pid: number): Promise<{ rss: number; peak: number }> {
  await sleep(1000);
  return rssMb(pid);
}
