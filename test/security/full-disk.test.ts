// Issues 11 (13) and 18 (2): a full disk is a 503 with a sentence, never half a write, and /ready says so.
// The real thing first: as root, the compiled binary serves a database on a 600 KB tmpfs that the test fills
// (without root it is skipped, saying so). Then, in-process, a page cap (PRAGMA max_page_count) fails a write
// with SQLITE_FULL as a full filesystem does, to show the change and its audit event are rolled back together;
// a page cap is not a full disk, so /ready (which reads the filesystem's free space) is shown on the real one.
import { afterAll, describe, expect, test } from "bun:test";
import { closeSync, openSync, rmSync, statfsSync, writeSync } from "node:fs";
import { join } from "node:path";
import { createTestApp, expectNoLeak, seedUser, signIn, tempDir } from "../helpers.ts";
import { binaryAloneIn } from "../support/binary.ts";
import { cleanEnv, freePort, listeningUrl, runCli, startServe, stopServer } from "../support/processes.ts";
import { STACK_FRAME } from "./harness.ts";

const ADMIN = { email: "full-admin@x.co", name: "Full Admin", password: "full-Admin-pass-2026" };
const SECRET = "full-disk-suite-key-0123456789abcdef-01234";

const mounted: string[] = [];

function mountTmpfs(dir: string, size: string): void {
  const result = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", `size=${size},mode=0700`, "tmpfs", dir], { env: cleanEnv(), stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`mount failed: ${result.stderr.toString().trim()}`);
  mounted.push(dir);
}

function unmount(dir: string): void {
  if (!mounted.includes(dir)) return;
  Bun.spawnSync(["umount", "--lazy", dir], { env: cleanEnv() });
  mounted.splice(mounted.indexOf(dir), 1);
}

afterAll(() => {
  for (const dir of [...mounted]) unmount(dir);
});

/** Why no small filesystem can be mounted here, or null when one can (root, and a kernel that lets us). */
function tmpfsUnavailable(): string | null {
  if (process.getuid?.() !== 0) return "needs root to mount a small tmpfs";
  const dir = tempDir("moxie-tmpfs-probe-");
  try {
    mountTmpfs(dir, "64k");
  } catch (error) {
    return `this machine refuses the mount (${(error as Error).message})`;
  }
  unmount(dir);
  return null;
}

const skip = tmpfsUnavailable();
if (skip) console.warn(`full-disk.test.ts: the real full-disk test is SKIPPED: ${skip}`);

/** Writes into `path` until the filesystem has no block left; returns how many bytes went in. */
function fillFilesystem(path: string): number {
  const fd = openSync(path, "w", 0o600);
  let written = 0;
  try {
    for (const size of [64 * 1024, 4096, 512, 1]) {
      const chunk = Buffer.alloc(size, 0x78);
      try {
        for (;;) written += writeSync(fd, chunk);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
      }
    }
  } finally {
    closeSync(fd);
  }
  return written;
}

describe("a real full filesystem, on the compiled binary", () => {
  test.skipIf(skip !== null)(
    `a write answers 503 saying the disk is full and changes nothing; /ready answers 503 'database disk is full'; freed, both recover${skip ? ` (skipped: ${skip})` : ""}`,
    async () => {
      const binary = await binaryAloneIn();
      const disk = tempDir("moxie-full-disk-");
      mountTmpfs(disk, "600k");
      try {
        const env = { SECRET_KEY: SECRET, DATABASE_URL: join(disk, "moxie.db") };
        const cwd = tempDir("moxie-full-cwd-");
        const created = await runCli(["create-admin", "--email", ADMIN.email, "--name", ADMIN.name, "--password", ADMIN.password], { cwd, env, command: [binary] });
        expect(created.stderr).toBe("");
        expect(created.code).toBe(0);
        const server = startServe(["--port", String(freePort())], { cwd, env, command: [binary] });
        const url = await listeningUrl(server);
        const call = async (method: string, path: string, body?: unknown, token?: string) => {
          const response = await fetch(`${url}${path}`, {
            method,
            headers: { ...(body === undefined ? {} : { "content-type": "application/json" }), ...(token ? { authorization: `Bearer ${token}` } : {}) },
            body: body === undefined ? undefined : JSON.stringify(body),
          });
          const text = await response.text();
          return { status: response.status, headers: response.headers, text, json: text ? JSON.parse(text) : undefined };
        };
        const token = (await call("POST", "/auth/login", { email: ADMIN.email, password: ADMIN.password })).json.access_token as string;
        const agent = await call("POST", "/admin/users", { name: "Before Full", email: "full-agent@x.co", password: "full-Agent-pass-2026" }, token);
        expect(agent.status).toBe(201);
        const events = async () => Number((await call("GET", "/admin/audit?limit=1", undefined, token)).headers.get("x-total-count"));
        expect((await call("GET", "/ready")).json).toEqual({ status: "ready" });
        // A probe is cheap: a k8s or systemd check every few seconds writes nothing to the disk or the audit trail.
        const [blocks, audited] = [statfsSync(disk).bfree, await events()];
        for (let i = 0; i < 20; i++) expect((await call("GET", "/ready")).status).toBe(200);
        expect([statfsSync(disk).bfree, await events()]).toEqual([blocks, audited]);

        const filler = join(disk, "filler");
        expect(fillFilesystem(filler)).toBeGreaterThan(0);
        expect(statfsSync(disk).bavail).toBe(0);
        const before = await events();

        const patch = await call("PATCH", `/admin/users/${agent.json.id}`, { name: "After Full With A Much Longer Name" }, token);
        expect(patch.status).toBe(503);
        expect(patch.json).toEqual({ detail: "The server's disk is full; nothing was changed. An operator must free space" });
        expect(patch.headers.get("retry-after")).not.toBeNull();
        expectNoLeak(patch.text);
        expect(patch.text).not.toMatch(STACK_FRAME);
        // Nothing half-written: neither the name nor its audit event (reads still work on a full disk).
        expect((await call("GET", `/admin/users/${agent.json.id}`, undefined, token)).json.name).toBe("Before Full");
        expect(await events()).toBe(before);
        expect(server.logs().some((line) => line.level === "error" && String(line.msg).includes("full"))).toBe(true);

        const ready = await call("GET", "/ready");
        expect(ready.status).toBe(503);
        expect(ready.json).toEqual({ status: "unavailable", detail: "database disk is full" });
        expect((await call("GET", "/health")).status).toBe(200);

        // An operator frees space: /ready recovers on its own, and the same change now lands with its event.
        rmSync(filler);
        expect((await call("GET", "/ready")).json).toEqual({ status: "ready" });
        const again = await call("PATCH", `/admin/users/${agent.json.id}`, { name: "After Full With A Much Longer Name" }, token);
        expect(again.status).toBe(200);
        expect(again.json.name).toBe("After Full With A Much Longer Name");
        expect(await events()).toBe(before + 1);
        expect(await stopServer(server)).toBe(0);
        expect(server.stderr()).toBe("");
      } finally {
        unmount(disk);
      }
    },
    120_000,
  );
});

describe("a write that finds the database full (page cap, in-process)", () => {
  test("PATCH answers 503 saying the disk is full, changes nothing (name and audit event together), logs an error; the change lands once there is room", async () => {
    const ctx = createTestApp();
    const admin = await seedUser(ctx.db, { role: "admin", email: "full-admin@x.co" });
    const agent = await seedUser(ctx.db, { email: "full-agent@x.co", name: "Before Full" });
    const token = await signIn(ctx.request, admin);
    const client = ctx.db.$client;
    const events = () => (client.query("SELECT count(*) AS n FROM audit_events").get() as { n: number }).n;

    const pages = (client.query("PRAGMA page_count").get() as { page_count: number }).page_count;
    client.run(`PRAGMA max_page_count = ${pages + 2}`);
    // Fill every page, with rows from large to tiny, so not even a small row fits any more.
    for (const size of [2000, 200, 20, 1]) {
      try {
        for (let i = 0; i < 10_000; i++) client.query("INSERT INTO audit_events (type, actor, detail) VALUES ('logout', 'cli', ?)").run("x".repeat(size));
      } catch (error) {
        expect((error as { code?: string }).code).toBe("SQLITE_FULL");
      }
    }
    const before = events();

    const patch = await ctx.request("PATCH", `/admin/users/${agent.id}`, { token, body: { name: "After Full With A Much Longer Name" } });
    expect(patch.status).toBe(503);
    expect(patch.json.detail).toMatch(/disk is full/);
    expect(patch.headers.get("retry-after")).not.toBeNull();
    expectNoLeak(patch.text);
    // Nothing half-written: neither the name nor its audit event.
    expect((client.query("SELECT name FROM users WHERE id = ?").get(agent.id) as { name: string }).name).toBe("Before Full");
    expect(events()).toBe(before);
    expect(ctx.logLines.some((line) => line.includes('"level":"error"') && line.includes("full"))).toBe(true);

    client.run("PRAGMA max_page_count = 1073741823");
    const again = await ctx.request("PATCH", `/admin/users/${agent.id}`, { token, body: { name: "After Full With A Much Longer Name" } });
    expect(again.status).toBe(200);
    expect(events()).toBe(before + 1);
    expect((client.query("PRAGMA integrity_check").get() as { integrity_check: string }).integrity_check).toBe("ok");
  }, 60_000);
});
