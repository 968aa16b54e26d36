// Stopping the server: SIGTERM drains and exits 0; kill -9 loses nothing that was acknowledged.
import { Database } from "bun:sqlite";
import { describe, expect, test } from "bun:test";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "./helpers.ts";
import { freePort, listeningUrl, login, readDb, runCli, startServe, stopServer, type Env } from "./support/processes.ts";

const SECRET = "lifecycle-test-secret-0123456789abcdef";
const ADMIN = { email: "life@example.com", password: "lifecycle-Pass-1" };

async function serverWithAdmin(): Promise<{ url: string; dbPath: string; env: Env; server: ReturnType<typeof startServe> }> {
  const cwd = tempDir();
  const env = { SECRET_KEY: SECRET, DATABASE_URL: join(cwd, "moxie.db") };
  const created = await runCli(["create-admin", "--email", ADMIN.email, "--name", "Life", "--password", ADMIN.password], { cwd, env });
  expect(created.code).toBe(0);
  const server = startServe(["--port", String(freePort())], { cwd, env });
  return { url: await listeningUrl(server), dbPath: env.DATABASE_URL, env, server };
}

/**
 * Renames the admin again and again (each rename is one committed write plus one audit row) until `stopAfter`
 * acknowledgements, then keeps going in the background while the caller stops the server.
 */
function writeStream(url: string, token: string, adminId: number) {
  let acknowledged = 0;
  let running = true;
  const loop = (async () => {
    for (let i = 0; running && i < 5000; i++) {
      try {
        const response = await fetch(`${url}/admin/users/${adminId}`, {
          method: "PATCH",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify({ name: `rename ${i}` }),
        });
        if (response.status === 200) acknowledged++;
      } catch {
        break; // the server is gone
      }
    }
  })();
  return {
    acknowledged: () => acknowledged,
    finish: async () => {
      running = false;
      await loop;
      return acknowledged;
    },
  };
}

const updatesIn = (dbPath: string) =>
  readDb(dbPath, (db) => (db.query("SELECT count(*) AS n FROM audit_events WHERE type = 'user.updated'").get() as { n: number }).n) ?? 0;

describe("stopping the server", () => {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    test(`${signal} during a stream of writes: exit 0, every acknowledged write is in the database`, async () => {
      const { url, dbPath, server } = await serverWithAdmin();
      const token = ((await (await login(url, ADMIN.email, ADMIN.password)).json()) as { access_token: string }).access_token;
      const me = (await (await fetch(`${url}/auth/me`, { headers: { authorization: `Bearer ${token}` } })).json()) as { id: number };
      const stream = writeStream(url, token, me.id);
      while (stream.acknowledged() < 20) await Bun.sleep(5);
      expect(await stopServer(server, signal)).toBe(0);
      const acknowledged = await stream.finish();
      // The WAL was folded back into the file on the way out: the file alone is complete.
      const wal = `${dbPath}-wal`;
      expect(existsSync(wal) ? statSync(wal).size : 0).toBe(0);
      expect(acknowledged).toBeGreaterThanOrEqual(20);
      expect(updatesIn(dbPath)).toBeGreaterThanOrEqual(acknowledged);
      expect(server.logs().some((line) => line.msg === "stopped")).toBe(true);
    });
  }

  test("SHUTDOWN_GRACE_SECONDS: a request still in flight when the grace period ends is cut, and serve exits 0", async () => {
    const cwd = tempDir();
    const env = { SECRET_KEY: SECRET, DATABASE_URL: join(cwd, "moxie.db"), SHUTDOWN_GRACE_SECONDS: "1" };
    const server = startServe(["--port", String(freePort())], { cwd, env });
    const { hostname, port } = new URL(await listeningUrl(server));
    // A client that announces a body and never finishes sending it: its request stays in flight.
    let closed = false;
    const socket = await Bun.connect({
      hostname,
      port: Number(port),
      socket: { data() {}, close() { closed = true; } },
    });
    socket.write(`POST /auth/login HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"email":`);
    socket.flush();
    // A request on another connection, answered after the server has read the half-sent one's headers.
    expect((await fetch(`http://${hostname}:${port}/health`)).status).toBe(200);
    server.proc.kill("SIGTERM");
    // With the cut-off, serve stops about a second after the signal; without it, it would wait for this client,
    // which never sends the rest (the socket stays open until the end of the test).
    const code = await Promise.race([server.proc.exited, Bun.sleep(10_000).then(() => "still running" as const)]);
    if (code === "still running") server.proc.kill("SIGKILL");
    expect(code).toBe(0);
    expect(server.logs().some((line) => line.msg === "stopped")).toBe(true);
    expect(closed).toBe(true); // the server hung up on it
    socket.end();
  });

  test("a write still waiting for another connection's lock when the grace ends gives up quietly: no closed-database error, exit 0", async () => {
    const cwd = tempDir();
    const env = { SECRET_KEY: SECRET, DATABASE_URL: join(cwd, "moxie.db"), SHUTDOWN_GRACE_SECONDS: "1" };
    expect((await runCli(["create-admin", "--email", ADMIN.email, "--name", "Life", "--password", ADMIN.password], { cwd, env })).code).toBe(0);
    const server = startServe(["--port", String(freePort())], { cwd, env });
    const url = await listeningUrl(server);
    const token = ((await (await login(url, ADMIN.email, ADMIN.password)).json()) as { access_token: string }).access_token;
    // Another process's write lock, held past the grace period (and released at the end).
    const holder = new Database(env.DATABASE_URL);
    holder.run("BEGIN IMMEDIATE");
    try {
      const waiting = fetch(`${url}/admin/users/1`, {
        method: "PATCH",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ name: "Renamed While Locked" }),
      }).catch(() => "cut" as const);
      // The PATCH is in and waiting: /health still answers (writes wait between attempts), then stop.
      expect((await fetch(`${url}/health`)).status).toBe(200);
      expect(await stopServer(server, "SIGTERM")).toBe(0);
      expect(await waiting).toBe("cut");
    } finally {
      holder.run("ROLLBACK");
      holder.close();
    }
    const lines = server.logs();
    expect(lines.some((line) => line.msg === "stopped")).toBe(true);
    expect(lines.filter((line) => line.level === "error")).toEqual([]);
    expect(server.stdout() + server.stderr()).not.toContain("closed database");
    expect(readDb(env.DATABASE_URL, (db) => db.query("SELECT name FROM users WHERE id = 1").get())).toEqual({ name: "Life" });
  });

  test("kill -9 mid-stream loses no acknowledged write; the next start recovers the file", async () => {
    const { url, dbPath, env, server } = await serverWithAdmin();
    const token = ((await (await login(url, ADMIN.email, ADMIN.password)).json()) as { access_token: string }).access_token;
    const me = (await (await fetch(`${url}/auth/me`, { headers: { authorization: `Bearer ${token}` } })).json()) as { id: number };
    const stream = writeStream(url, token, me.id);
    while (stream.acknowledged() < 30) await Bun.sleep(5);
    await stopServer(server, "SIGKILL");
    const acknowledged = await stream.finish();

    const restarted = startServe(["--port", String(freePort())], { cwd: join(dbPath, ".."), env });
    const again = await listeningUrl(restarted);
    expect((await fetch(`${again}/ready`)).status).toBe(200);
    expect(await stopServer(restarted)).toBe(0);
    expect(updatesIn(dbPath)).toBeGreaterThanOrEqual(acknowledged);
    expect(readDb(dbPath, (db) => db.query("PRAGMA integrity_check").get())).toEqual({ integrity_check: "ok" });
  });
});
