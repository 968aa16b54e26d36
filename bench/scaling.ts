// `bun bench/scaling.ts`: how moxie's queries scale with the number of accounts, and what SQLite settings
// change, measured in-process with bun:sqlite against the real schema (openDatabase runs the migrations).
//
// Users are inserted directly with SQL, all sharing ONE precomputed argon2id hash, for speed: 100k real
// hashes would take hours on 2 cores. Lookup and list costs do not depend on how the hash was made.
// Every measurement is bounded in time and count; the whole script takes about a minute.
// Writes bench/results/scaling.md.
import { eq, sql } from "drizzle-orm";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openDatabase, type Db } from "../src/db/index.ts";
import { users } from "../src/db/schema.ts";
import { findUserByEmail, listUsers } from "../src/accounts/lookup.ts";
import { refreshSearchKeys } from "../src/accounts/search.ts";

const SIZES = [1_000, 10_000, 100_000];
const MEASURE_MS = 700; // per measurement
const MAX_OPS = 2_000_000; // per measurement, whatever the time
const INSERT_MS = 1_500; // per journal/synchronous variant
const MAX_INSERTS = 20_000;
const RESULTS = join(import.meta.dir, "results");

const started = performance.now();
const loadBefore = readFileSync("/proc/loadavg", "utf8").split(" ")[0];
mkdirSync(join(import.meta.dir, ".cache"), { recursive: true });
const work = mkdtempSync(join(import.meta.dir, ".cache", "scaling-"));
const cleanup = () => rmSync(work, { recursive: true, force: true });
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    cleanup();
    process.exit(130);
  });
}
const log = (line: string) => console.error(`[${((performance.now() - started) / 1000).toFixed(1).padStart(5)}s] ${line}`);

interface Measurement {
  opsPerSecond: number;
  microsPerOp: number;
  ops: number;
}

/** Runs `op` for MEASURE_MS (after a short warm-up), in batches so the clock is read rarely. */
function measure(op: (i: number) => unknown, budgetMs = MEASURE_MS, maxOps = MAX_OPS, warmUp = 50): Measurement {
  for (let i = 0; i < warmUp; i++) op(i);
  let ops = 0;
  let batch = 1;
  const start = performance.now();
  let now = start;
  while (now - start < budgetMs && ops < maxOps) {
    for (let i = 0; i < batch; i++) op(ops + i);
    ops += batch;
    now = performance.now();
    if (now - start < budgetMs / 20) batch *= 2;
  }
  const seconds = (now - start) / 1000;
  return { opsPerSecond: ops / seconds, microsPerOp: (seconds * 1e6) / ops, ops };
}

/** A deterministic spread of ids/emails, so every size sees the same access pattern. */
function* randomInts(max: number): Generator<number, never> {
  let x = 0x9e3779b9;
  for (;;) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    yield ((x >>> 0) % max) + 1;
  }
}

const HASH = await Bun.password.hash("scaling-benchmark-password", { algorithm: "argon2id", memoryCost: 65_536, timeCost: 2 });

function insertUsers(db: Db, count: number): void {
  const client = db.$client;
  const insert = client.prepare(
    "INSERT INTO users (name, email, password_hash, role, is_active, created_at, token_version) VALUES (?, ?, ?, ?, 1, ?, 0)",
  );
  const base = Date.UTC(2024, 0, 1);
  client.transaction(() => {
    for (let i = 1; i <= count; i++) {
      // One account a minute, oldest first, as a team's real sign-up history would be ordered. Every tenth name
      // has accents (what search folds); inserted without search keys, as the Python original writes rows.
      insert.run(i % 10 === 0 ? `Åsa Nguyễn ${i}` : `User ${i}`, `user${i}@scale.test`, HASH, i === 1 ? "admin" : "agent", new Date(base + i * 60_000).toISOString());
    }
  })();
  client.run("ANALYZE");
  client.run("PRAGMA wal_checkpoint(TRUNCATE)");
}

const f0 = (n: number) => Math.round(n).toLocaleString("en-US");
const f2 = (n: number) => n.toFixed(n < 10 ? 3 : 1);

// ---------------------------------------------------------------- scaling with the number of users

interface SizeResult {
  users: number;
  byIdRaw: Measurement;
  byIdGuard: Measurement;
  byEmailRaw: Measurement;
  byEmailService: Measurement;
  list: Measurement;
  listRows: number;
  countOnly: Measurement;
  /** refreshSearchKeys() giving every row its key (after the migration, or the original's rows), ms, once. */
  keysFilled: number;
  /** refreshSearchKeys() when every key is current: what each start pays. */
  keysCurrent: Measurement;
  /** listUsers({ q }) matching a few rows / a tenth of them, every key current. */
  searchFew: Measurement;
  searchFewRows: number;
  searchMany: Measurement;
  /** listUsers({ q }) with no row keyed: folded in JS at each query (the worst case: a read-only command on a file the original filled). */
  searchUnkeyed: Measurement;
  fileMb: number;
}

const sizeResults: SizeResult[] = [];
let largestDb = "";
for (const size of SIZES) {
  const path = join(work, `scale-${size}.db`);
  const db = openDatabase(path);
  const insertStart = performance.now();
  insertUsers(db, size);
  log(`${f0(size)} users inserted in ${(performance.now() - insertStart).toFixed(0)} ms`);
  const client = db.$client;

  const byIdStatement = client.query("SELECT * FROM users WHERE id = ?");
  const ids = randomInts(size);
  const byIdRaw = measure(() => byIdStatement.get(ids.next().value));

  // What the /auth/me guard runs: a drizzle prepared statement with a placeholder.
  const guardStatement = db.select().from(users).where(eq(users.id, sql.placeholder("id"))).prepare();
  const byIdGuard = measure(() => guardStatement.get({ id: ids.next().value }));

  const byEmailStatement = client.query("SELECT * FROM users WHERE email = ?");
  const emails = randomInts(size);
  const byEmailRaw = measure(() => byEmailStatement.get(`user${emails.next().value}@scale.test`));
  // What POST /auth/login runs: the service builds the drizzle query on every call.
  const byEmailService = measure(() => findUserByEmail(db, `User${emails.next().value}@Scale.test`));

  let listRows = 0;
  const list = measure(() => {
    const page = listUsers(db);
    listRows = page.users.length;
    if (page.total !== size) throw new Error(`listUsers total ${page.total}, expected ${size}`);
  }, 1500, 10_000);
  const countStatement = client.query("SELECT count(*) AS n FROM users");
  const countOnly = measure(() => countStatement.get(), 700, 100_000);

  // Search: the rows were inserted without keys, as the original writes them.
  const unkeyedFew = listUsers(db, { q: "NGUYEN 4" }).total;
  const searchUnkeyed = measure(() => listUsers(db, { q: "NGUYEN 4" }), 1500, 200, 2);
  const fillStart = performance.now();
  refreshSearchKeys(db);
  const keysFilled = performance.now() - fillStart;
  const keysCurrent = measure(() => refreshSearchKeys(db), 700, 10_000);
  let searchFewRows = 0;
  const searchFew = measure(() => {
    const page = listUsers(db, { q: "NGUYEN 4" });
    searchFewRows = page.total;
    if (page.total !== unkeyedFew || page.total === 0) throw new Error(`search found ${page.total}, unkeyed ${unkeyedFew}`);
  }, 1500, 10_000);
  const searchMany = measure(() => {
    if (listUsers(db, { q: "åsa" }).total !== Math.floor(size / 10)) throw new Error("search for åsa missed rows");
  }, 1500, 10_000);

  const fileMb = Bun.file(path).size / 1048576;
  sizeResults.push({
    users: size, byIdRaw, byIdGuard, byEmailRaw, byEmailService, list, listRows, countOnly,
    keysFilled, keysCurrent, searchFew, searchFewRows, searchMany, searchUnkeyed, fileMb,
  });
  log(
    `  by id ${f0(byIdRaw.opsPerSecond)}/s (guard ${f0(byIdGuard.opsPerSecond)}/s), by email ${f0(byEmailRaw.opsPerSecond)}/s ` +
      `(service ${f0(byEmailService.opsPerSecond)}/s), listUsers ${f2(list.microsPerOp / 1000)} ms`,
  );
  log(
    `  search: keys filled in ${f2(keysFilled)} ms, current-key check ${f2(keysCurrent.microsPerOp / 1000)} ms; q=NGUYEN 4 ` +
      `(${searchFewRows} rows) ${f2(searchFew.microsPerOp / 1000)} ms, q=åsa ${f2(searchMany.microsPerOp / 1000)} ms, ` +
      `unkeyed ${f2(searchUnkeyed.microsPerOp / 1000)} ms`,
  );
  client.close();
  largestDb = path;
}

// ---------------------------------------------------------------- SQLite settings

interface SettingResult {
  setting: string;
  variant: string;
  metric: string;
  value: string;
  raw: number;
}
const settingResults: SettingResult[] = [];

// Single-row inserts, each its own transaction, as account creation does.
for (const journal of ["WAL", "DELETE"] as const) {
  for (const synchronous of ["NORMAL", "FULL"] as const) {
    const path = join(work, `insert-${journal}-${synchronous}.db`);
    const db = openDatabase(path);
    const client = db.$client;
    client.run(`PRAGMA journal_mode = ${journal}`);
    client.run(`PRAGMA synchronous = ${synchronous}`);
    const mode = (client.query("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode;
    const insert = client.prepare(
      "INSERT INTO users (name, email, password_hash, role, is_active, created_at, token_version) VALUES (?, ?, ?, 'agent', 1, ?, 0)",
    );
    let n = 0;
    const result = measure(
      () => {
        n++;
        insert.run(`Insert ${n}`, `insert${n}@scale.test`, HASH, new Date().toISOString());
      },
      INSERT_MS,
      MAX_INSERTS,
    );
    settingResults.push({
      setting: "journal_mode + synchronous",
      variant: `${mode.toUpperCase()} + ${synchronous}${journal === "WAL" && synchronous === "NORMAL" ? " (moxie)" : ""}`,
      metric: "single-row inserts/s",
      value: f0(result.opsPerSecond),
      raw: result.opsPerSecond,
    });
    log(`  ${mode} + ${synchronous}: ${f0(result.opsPerSecond)} inserts/s`);
    client.close();
  }
}

// Read settings on the largest database, each on a fresh connection so its page cache starts empty.
const largest = SIZES[SIZES.length - 1]!;
function withConnection<T>(pragmas: string[], run: (db: Db) => T): T {
  const db = openDatabase(largestDb);
  for (const pragma of pragmas) db.$client.run(pragma);
  try {
    return run(db);
  } finally {
    db.$client.close();
  }
}

const defaultCache = withConnection([], (db) => (db.$client.query("PRAGMA cache_size").get() as { cache_size: number }).cache_size);
for (const [variant, pragmas] of [
  [`default (${defaultCache})`, []],
  ["-64000 (64 MB)", ["PRAGMA cache_size = -64000"]],
] as const) {
  withConnection([...pragmas], (db) => {
    const firstStart = performance.now();
    listUsers(db);
    const first = performance.now() - firstStart;
    const list = measure(() => listUsers(db), 1500, 10_000);
    const statement = db.$client.query("SELECT * FROM users WHERE id = ?");
    const ids = randomInts(largest);
    const byId = measure(() => statement.get(ids.next().value));
    settingResults.push(
      { setting: "cache_size", variant, metric: `listUsers() at ${f0(largest)} users, first call ms`, value: f2(first), raw: first },
      { setting: "cache_size", variant, metric: `listUsers() at ${f0(largest)} users, ms/op`, value: f2(list.microsPerOp / 1000), raw: list.microsPerOp / 1000 },
      { setting: "cache_size", variant, metric: `random lookup by id at ${f0(largest)} users, ops/s`, value: f0(byId.opsPerSecond), raw: byId.opsPerSecond },
    );
    log(`  cache_size ${variant}: listUsers ${f2(list.microsPerOp / 1000)} ms, by id ${f0(byId.opsPerSecond)}/s`);
  });
}

for (const [variant, pragmas] of [
  ["0 (default)", ["PRAGMA mmap_size = 0"]],
  ["268435456 (256 MB)", ["PRAGMA mmap_size = 268435456"]],
] as const) {
  withConnection([...pragmas], (db) => {
    const list = measure(() => listUsers(db), 1500, 10_000);
    settingResults.push({
      setting: "mmap_size",
      variant,
      metric: `listUsers() at ${f0(largest)} users, ms/op`,
      value: f2(list.microsPerOp / 1000),
      raw: list.microsPerOp / 1000,
    });
    log(`  mmap_size ${variant}: listUsers ${f2(list.microsPerOp / 1000)} ms`);
  });
}

// ---------------------------------------------------------------- report

const cpuModel = /^model name\s*:\s*(.*)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1]?.trim() ?? "unknown";
const nproc = Number(Bun.spawnSync(["nproc"]).stdout.toString().trim());
const scalingTable = [
  "| users | DB file MB | by id, raw prepared (ops/s) | by id, guard's drizzle prepared (ops/s) | by email, raw prepared (ops/s) | by email, findUserByEmail (ops/s) | listUsers() default: rows, ms/op (ops/s) | count(*) alone ms |",
  "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ...sizeResults.map((r) =>
    [
      f0(r.users),
      r.fileMb.toFixed(1),
      f0(r.byIdRaw.opsPerSecond),
      f0(r.byIdGuard.opsPerSecond),
      f0(r.byEmailRaw.opsPerSecond),
      f0(r.byEmailService.opsPerSecond),
      `${r.listRows}, ${f2(r.list.microsPerOp / 1000)} (${f0(r.list.opsPerSecond)})`,
      f2(r.countOnly.microsPerOp / 1000),
    ].join(" | "),
  ).map((row) => `| ${row} |`),
].join("\n");
const searchTable = [
  "| users | keys filled once (refreshSearchKeys, all missing) ms | start's check, all current, ms | `q=NGUYEN 4`: matches, ms/op | `q=åsa` (a tenth match; 1000-row page + count) ms/op | `q=NGUYEN 4`, no row keyed, ms/op |",
  "| ---: | ---: | ---: | ---: | ---: | ---: |",
  ...sizeResults.map((r) =>
    [
      f0(r.users),
      f2(r.keysFilled),
      f2(r.keysCurrent.microsPerOp / 1000),
      `${r.searchFewRows}, ${f2(r.searchFew.microsPerOp / 1000)}`,
      f2(r.searchMany.microsPerOp / 1000),
      f2(r.searchUnkeyed.microsPerOp / 1000),
    ].join(" | "),
  ).map((row) => `| ${row} |`),
].join("\n");
const settingsTable = [
  "| setting | value | measurement | result |",
  "| --- | --- | --- | ---: |",
  ...settingResults.map((r) => `| ${r.setting} | ${r.variant} | ${r.metric} | ${r.value} |`),
].join("\n");

const markdown = [
  "## moxie query scaling (bun:sqlite, in-process)",
  "",
  `${new Date().toISOString()} · ${nproc} cores, ${cpuModel} · Bun ${Bun.version} · schema from openDatabase() (WAL, synchronous NORMAL) · ` +
    `one thread, no HTTP · load average ${loadBefore} at start, ${readFileSync("/proc/loadavg", "utf8").split(" ")[0]} at end ` +
    "(above ~1 means other processes shared the 2 cores: figures are noisy)",
  "",
  "Users were inserted directly with SQL in one transaction, all with one precomputed argon2id hash (for speed; " +
    "createUser would hash each one), created_at one minute apart. listUsers() is the real service function with its " +
    "defaults: 1000 rows ordered by created_at, id, plus the count for X-Total-Count.",
  "",
  scalingTable,
  "",
  "Search by name and email (src/accounts/search.ts): every tenth name is `Åsa Nguyễn <n>`. The rows were inserted " +
    "without search keys, as the Python original writes them; refreshSearchKeys() (run at start) gives them theirs. " +
    "A substring search reads every row (no b-tree index serves `instr`), so it grows with the table.",
  "",
  searchTable,
  "",
  settingsTable,
  "",
  `Each figure: ${MEASURE_MS} ms of repeated calls (1.5 s for listUsers and inserts) after a warm-up; cache_size and ` +
    "mmap_size are measured on a fresh connection each, on a file already in the OS page cache.",
].join("\n");

console.log(markdown);
mkdirSync(RESULTS, { recursive: true });
writeFileSync(join(RESULTS, "scaling.md"), markdown + "\n");
cleanup();
log(`wrote bench/results/scaling.md in ${((performance.now() - started) / 1000).toFixed(0)} s`);
