// `moxie doctor`: what this moxie would run with, and what about it needs an operator's attention.
// Reads only: the database is opened without being created or migrated, and the signing key is never printed.
import { existsSync } from "node:fs";
import packageJson from "../../../package.json" with { type: "json" };
import { pidNote, serveLockHolder } from "../../db/serve-lock.ts";
import { loadSettings, SettingsError, type Settings } from "../../settings/index.ts";
import { generatedSecretPath } from "../../tokens/secret.ts";
import { print as printLine, type Command } from "../command.ts";
import { noDatabaseError, plural, settingsFor, type Where } from "../dbfile.ts";
import { CommandError } from "../errors.ts";
import { checkCanListen } from "../listen.ts";
import { CHECKS, problem, type DoctorContext, type Finding } from "./doctor-checks.ts";
import { inspectDatabase } from "./doctor-database.ts";
import { offsiteFindings } from "./doctor-offsite.ts";

type Print = (line: string) => void;

export const DOCTOR_USAGE =
  "moxie doctor\n\n" +
  "Prints the version, the settings in effect (never SECRET_KEY or the S3 credentials), and the database's\n" +
  "path, size, journal mode, schema version and accounts, then its findings in two lists:\n" +
  "  problems  moxie cannot work safely as it is: no database or one it cannot open or migrate,\n" +
  "            no active admin, an unreadable key, secrets readable by others, a HOST or PORT serve refuses;\n" +
  "            with S3_BUCKET set: no off-host copy, the newest older than two days, or storage that does\n" +
  "            not answer (it waits at most 10 s)\n" +
  "  advice    worth a look, harmless as it is: a database directory others can list (a development\n" +
  "            checkout), migrations the next start applies, stored emails it brings to one spelling\n" +
  "Only reads: creates, migrates and changes nothing (a pending migration is tried on a private copy).\n" +
  "Exit status: 1 when there is a problem, 0 otherwise (advice alone never fails).";

export const doctorCommand: Command = {
  usage: DOCTOR_USAGE,
  options: {},
  async run({ where }) {
    await doctor({ where }, printLine);
  },
};

async function doctor(options: { where: Where }, print: Print): Promise<void> {
  const chosen = settingsFor(options.where);
  const settings = chosen.settings;
  const dbPath = settings.databasePath;
  const context: DoctorContext = { where: options.where, chosen, settings, dbPath, secretPath: generatedSecretPath(dbPath) };

  print(`moxie ${packageJson.version}`);
  print("");
  print(`Settings${chosen.origin.file ? ` (from the environment and ${chosen.origin.file})` : " (from the environment)"}:`);
  // HOST and PORT as serve reads them: the other commands fall back to the defaults, which is not what serve uses.
  const listening = listenSettings(context);
  const refusedByServe = new Set(listening.map((finding) => finding.message.split(":")[0]));
  for (const [name, value] of describeSettings(settings, context.secretPath)) {
    print(`  ${name.padEnd(31)} ${refusedByServe.has(name) ? "(invalid: `moxie serve` refuses it, see below)" : value}`);
  }

  // File checks first: opening the database below may create its -wal and -shm.
  const findings = [...listening, ...CHECKS.flatMap((check) => check(context))];

  print("");
  print("Database:");
  print(`  path          ${dbPath}`);
  print(`  chosen by     ${chosen.databaseChoice}`);
  if (!existsSync(dbPath)) {
    print("  status        does not exist (`moxie serve` or `moxie create-admin` creates it)");
    findings.push(problem(noDatabaseError(chosen).message.replace("; nothing was created.", ".")));
  } else {
    findings.push(...inspectDatabase(dbPath, print));
  }
  const holder = serveLockHolder(dbPath);
  print(`  server        ${holder === null ? "not running" : `running${pidNote(holder)}`}`);
  // With S3_BUCKET set: the newest off-host copy, asked for within a bounded time.
  findings.push(...(await offsiteFindings(settings.s3, print)));

  const problems = findings.filter((f) => f.severity === "problem");
  const advised = findings.filter((f) => f.severity === "advice");
  print("");
  if (problems.length > 0) {
    print("Problems (exit 1; fix these):");
    for (const finding of problems) print(`  - ${finding.message}`);
  } else {
    print("No problems.");
  }
  if (advised.length > 0) {
    print("");
    print("Advice (does not fail doctor; worth a look):");
    for (const finding of advised) print(`  - ${finding.message}`);
  }
  if (problems.length > 0) throw new CommandError(`doctor found ${plural(problems.length, "problem")}`);
}

/**
 * A HOST or PORT that serve would refuse; the other commands ignore them, doctor says so. Well-formed ones are
 * tried as serve tries them (bound for a moment), unless a server on this database is listening already: an
 * address not on this machine, a port in use or below 1024 would stop the next start too.
 */
function listenSettings({ where, dbPath }: DoctorContext): Finding[] {
  let settings: Settings;
  try {
    settings = loadSettings(where.cwd, process.env, { envFile: where.envFile, listening: true });
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error;
    return error.problems.map((text) => problem(`${text} (\`moxie serve\` refuses to start; other commands ignore it)`));
  }
  if (serveLockHolder(dbPath) !== null) return [];
  try {
    checkCanListen(settings.host, settings.port);
    return [];
  } catch (error) {
    if (!(error instanceof CommandError)) throw error;
    return [problem(`${error.message} (\`moxie serve\` would refuse to start)`)];
  }
}

function describeSettings(settings: Settings, secretPath: string): Array<[string, string]> {
  let secret: string;
  if (settings.secretKey !== undefined) secret = `set (${settings.secretKey.length} chars)`;
  else if (existsSync(secretPath)) secret = `generated (${secretPath})`;
  else secret = `not yet generated (the first \`moxie serve\` writes ${secretPath})`;
  return [
    ["DATABASE_URL", settings.databasePath],
    ["SECRET_KEY", secret],
    ["HOST", settings.host],
    ["PORT", String(settings.port)],
    ["CORS_ORIGINS", settings.corsOrigins.join(",") || "(none)"],
    ["DOCS", String(settings.docs)],
    ["CONSOLE", String(settings.console)],
    ["BODY_LIMIT_BYTES", String(settings.bodyLimitBytes)],
    ["LOGIN_MAX_FAILURES", String(settings.loginMaxFailures)],
    ["LOGIN_MAX_FAILURES_PER_ADDRESS", String(settings.loginMaxFailuresPerAddress)],
    ["LOGIN_MAX_FAILURES_PER_ACCOUNT", String(settings.loginMaxFailuresPerAccount)],
    ["LOGIN_WINDOW_SECONDS", String(settings.loginWindowSeconds)],
    ["LOGIN_IPV6_PREFIX", String(settings.loginIpv6PrefixLength)],
    ["TRUSTED_PROXY", settings.trustedProxy ?? "(not set)"],
    ["LOG_LEVEL", settings.logLevel],
    ["LOG_FORMAT", settings.logFormat],
    ["SHUTDOWN_GRACE_SECONDS", String(settings.shutdownGraceSeconds)],
    ["AUDIT_RETENTION_DAYS", settings.auditRetentionDays === 0 ? "0 (keep forever)" : String(settings.auditRetentionDays)],
    ["HASHING_CONCURRENCY", String(settings.hashingConcurrency)],
    ["HASHING_QUEUE", String(settings.hashingQueue)],
    ["MAX_SESSIONS_PER_ACCOUNT", String(settings.maxSessionsPerAccount)],
    // Off-host backups: where, never the credentials (not even the key id).
    ["S3_BUCKET", settings.s3.bucket ?? "(not set: no off-host backups)"],
    ["S3_PREFIX", settings.s3.prefix === "" ? "(the bucket's top)" : settings.s3.prefix],
    ["S3_ENDPOINT", settings.s3.endpoint ?? "(not set: AWS S3)"],
    ["S3_REGION", settings.s3.region ?? "(not set: us-east-1)"],
    ["S3_ACCESS_KEY_ID", settings.s3.accessKeyId === undefined ? "(not set)" : `set${viaAws(settings.s3.names.accessKeyId)}`],
    ["S3_SECRET_ACCESS_KEY", settings.s3.secretAccessKey === undefined ? "(not set)" : `set${viaAws(settings.s3.names.secretAccessKey)}`],
  ];
}

/** " (as AWS_SECRET_ACCESS_KEY)" when the value came from the AWS_* spelling. */
function viaAws(name: string | undefined): string {
  return name?.startsWith("AWS_") ? ` (as ${name})` : "";
}
