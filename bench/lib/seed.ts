// The seeded database every run measures on: the admin through `moxie create-admin`, the agents through
// createUser (real argon2id), cached in bench/.cache keyed by what decides the stored data.
import { Database } from "bun:sqlite";
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { ARGON2_MEMORY_KIB, ARGON2_TIME_COST } from "../../src/passwords/hashing.ts";
import { openDatabase } from "../../src/db/index.ts";
import { createUser } from "../../src/accounts/service.ts";
import { ADMIN, AGENT_PASSWORD, CACHE_DIR } from "./plan.ts";
import { log, ROOT, run } from "./processes.ts";
import { serverEnv } from "./servers.ts";

const SEED_CONCURRENCY = 4; // moxie's hashing gate runs one argon2 per core; 4 keeps it busy without hitting its queue bound

/**
 * A key for the cached seed: what decides the stored data (the migrations, the argon2id cost) and the seed's
 * own inputs. Other code changes do not invalidate it; moxie migrates an older file on open anyway.
 */
function seedKey(users: number): string {
  const hasher = new Bun.CryptoHasher("sha256");
  hasher.update(JSON.stringify({ users, ADMIN, AGENT_PASSWORD, ARGON2_MEMORY_KIB, ARGON2_TIME_COST, version: 1 }));
  for (const file of Array.from(new Bun.Glob("drizzle/*.sql").scanSync({ cwd: ROOT })).sort()) {
    hasher.update(file).update(readFileSync(join(ROOT, file)));
  }
  return hasher.digest("hex").slice(0, 16);
}

/** Puts `users` seeded accounts at `dbPath`, from the cache unless `fresh`; says where they came from. */
export async function seededDatabase(
  binary: string,
  work: string,
  dbPath: string,
  users: number,
  fresh: boolean,
): Promise<{ ids: number[]; source: string }> {
  const cached = join(CACHE_DIR, `seed-${users}-${seedKey(users)}.db`);
  if (!fresh && existsSync(cached)) {
    copyFileSync(cached, dbPath);
    const db = new Database(dbPath);
    const ids = (db.query("SELECT id FROM users ORDER BY id").all() as { id: number }[]).map((row) => row.id);
    db.close();
    if (ids.length === users) {
      const made = statSync(cached).mtime.toISOString();
      log(`reusing the seeded database ${cached.slice(ROOT.length + 1)} (made through create-admin/createUser at ${made}; --fresh-seed rebuilds it)`);
      return { ids, source: `cache ${cached.slice(ROOT.length + 1)} from ${made}` };
    }
    rmSync(dbPath, { force: true });
  }
  const started = performance.now();
  const { ids } = await seed(binary, work, dbPath, users);
  mkdirSync(CACHE_DIR, { recursive: true });
  for (const old of new Bun.Glob(`seed-${users}-*.db`).scanSync({ cwd: CACHE_DIR })) rmSync(join(CACHE_DIR, old));
  copyFileSync(dbPath, cached);
  return { ids, source: `seeded now in ${((performance.now() - started) / 1000).toFixed(0)} s` };
}

async function seed(binary: string, work: string, dbPath: string, users: number): Promise<{ ids: number[] }> {
  log(`seeding ${users} users: the admin through ./moxie create-admin`);
  const admin = await run([binary, "create-admin", "--email", ADMIN.email, "--name", ADMIN.name, "--password", ADMIN.password], {
    cwd: work,
    env: serverEnv(dbPath),
    timeoutMs: 60_000,
  });
  if (admin.code !== 0) throw new Error(`moxie create-admin failed (${admin.code}):\n${admin.stdout}${admin.stderr}`);

  const agents = users - 1;
  log(`seeding ${agents} agents through createUser (real argon2id hashing, ${SEED_CONCURRENCY} at once)`);
  const db = openDatabase(dbPath);
  const seedStart = performance.now();
  let next = 1;
  let done = 0;
  const progressEvery = Math.max(1, Math.floor(agents / 10));
  await Promise.all(
    Array.from({ length: SEED_CONCURRENCY }, async () => {
      while (next <= agents) {
        const n = next++;
        await createUser(db, { name: `Agent ${n}`, email: `agent${n}@bench.test`, password: AGENT_PASSWORD });
        done++;
        if (done % progressEvery === 0 || done === agents) {
          const rate = done / ((performance.now() - seedStart) / 1000);
          log(`  ${done}/${agents} agents (${rate.toFixed(1)}/s)`);
        }
      }
    }),
  );
  const ids = (db.$client.query("SELECT id FROM users ORDER BY id").all() as { id: number }[]).map((row) => row.id);
  db.$client.run("PRAGMA wal_checkpoint(TRUNCATE)");
  db.$client.close();
  if (ids.length !== users) throw new Error(`expected ${users} users, found ${ids.length}`);
  return { ids };
}
