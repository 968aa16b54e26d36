// The compiled moxie alone in an empty directory, with an admin made by its own CLI, serving on a free port
// of 127.0.0.1: how an operator runs it on a bare host. Used by the tests that drive it as a client would.
import { expect } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../helpers.ts";
import { binaryAloneIn } from "./binary.ts";
import { freePort, listeningUrl, runCli, startServe, type Env } from "./processes.ts";

export interface Account {
  email: string;
  name: string;
  password: string;
}

export interface ServedBinary {
  url: string;
  /** The database file the binary made next to itself. */
  dbPath: string;
}

/** Starts the binary with `admin` created; returns the base URL and its database file. Killed after the test. */
export async function startBinaryWithAdmin(admin: Account, env: Env): Promise<ServedBinary> {
  const dir = tempDir("moxie-served-bin-");
  const binary = await binaryAloneIn(dir);
  expect(readdirSync(dir)).toEqual(["moxie"]);
  const created = await runCli(["create-admin", "--email", admin.email, "--name", admin.name, "--password", admin.password], {
    cwd: dir,
    command: [binary],
  });
  if (created.code !== 0) throw new Error(`create-admin failed (${created.code}): ${created.stderr}`);
  const dbFiles = readdirSync(dir).filter((name) => name.endsWith(".db"));
  expect(dbFiles.length).toBe(1);
  const server = startServe(["--port", String(freePort())], { cwd: dir, env, command: [binary] });
  return { url: await listeningUrl(server), dbPath: join(dir, dbFiles[0]!) };
}

/** Starts the binary with `admin` created; returns the base URL. The server is killed after the test. */
export async function serveBinaryWithAdmin(admin: Account, env: Env): Promise<string> {
  return (await startBinaryWithAdmin(admin, env)).url;
}
