// Doctor's findings about files and settings, checked without opening the database: owner-only files, the database
// directory, a settings file holding secrets, shared storage, the generated key. Each check is a function in CHECKS.
import { existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Settings } from "../../settings/index.ts";
import { MIN_SECRET_KEY_LENGTH } from "../../tokens/secret.ts";
import type { Chosen, Where } from "../dbfile.ts";

/** Filesystem types on which several hosts may share a file (and SQLite's locks and WAL are unreliable). */
export const NETWORK_FILESYSTEMS = new Set([
  "nfs",
  "nfs4",
  "cifs",
  "smb3",
  "smbfs",
  "9p",
  "afs",
  "ncpfs",
  "ceph",
  "glusterfs",
  "lustre",
  "gpfs",
  "beegfs",
  "ocfs2",
  "gfs2",
  "davfs",
  "fuse.sshfs",
  "fuse.glusterfs",
  "fuse.cephfs",
  "fuse.s3fs",
  "fuse.rclone",
  "fuse.davfs2",
]);

/** A problem fails `doctor` (exit 1); advice is listed and leaves the exit status 0. */
export type Severity = "problem" | "advice";

export interface Finding {
  severity: Severity;
  message: string;
}

export const problem = (message: string): Finding => ({ severity: "problem", message });
export const advice = (message: string): Finding => ({ severity: "advice", message });

/** What the checks look at. */
export interface DoctorContext {
  where: Where;
  chosen: Chosen;
  settings: Settings;
  dbPath: string;
  secretPath: string;
}

/**
 * The checks that need no open database, in the order their findings are listed. To add one, write a function
 * from the context to its findings and list it here; database checks go in inspectDatabase (doctor-database.ts).
 */
export const CHECKS: Array<(context: DoctorContext) => Finding[]> = [
  filePermissions,
  databaseDirectory,
  settingsFile,
  sharedStorage,
  generatedKey,
];

/** The database, its WAL and the generated key hold password hashes and the signing key: owner-only. */
function filePermissions({ dbPath, secretPath }: DoctorContext): Finding[] {
  const findings: Finding[] = [];
  for (const path of [dbPath, `${dbPath}-wal`, `${dbPath}-shm`, secretPath]) {
    const mode = modeOf(path);
    if (mode !== undefined && (mode & 0o077) !== 0) {
      findings.push(problem(`${path} is accessible by group or other (mode ${octal(mode)}): chmod 600 ${path}`));
    }
  }
  return findings;
}

/**
 * Others who can write the directory can replace the database: a problem. Others who can only list it see file
 * names, the files themselves being owner-only: normal in a development checkout, worth tightening on a server.
 */
function databaseDirectory({ dbPath }: DoctorContext): Finding[] {
  const dir = dirname(dbPath);
  const mode = modeOf(dir);
  if (mode === undefined) return [];
  if ((mode & 0o022) !== 0) {
    return [problem(`${dir} (the database directory) is writable by group or other (mode ${octal(mode)}): chmod 700 ${dir}`)];
  }
  if ((mode & 0o055) !== 0) {
    return [
      advice(
        `${dir} (the database directory) can be listed by group or other (mode ${octal(mode)}); the database and key in it ` +
          `are owner-only, which is fine for a development checkout; on a server keep it private: chmod 700 ${dir}`,
      ),
    ];
  }
  return [];
}

/**
 * A settings file that holds SECRET_KEY must not be readable by everyone. A named file (--env-file) may be
 * readable by its group (root:moxie 0640 lets the service's user read it); ./.env must be owner-only.
 */
function settingsFile({ chosen }: DoctorContext): Finding[] {
  const file = chosen.origin.file;
  if (file === undefined) return [];
  const mode = modeOf(file);
  const exposed = chosen.origin.named ? 0o007 : 0o077;
  if (mode === undefined || (mode & exposed) === 0) return [];
  const secret = /^\s*(?:export\s+)?(SECRET_KEY|S3_SECRET_ACCESS_KEY|AWS_SECRET_ACCESS_KEY|S3_SESSION_TOKEN|AWS_SESSION_TOKEN)\s*=\s*\S/im.exec(readText(file));
  if (!secret) return [];
  const who = chosen.origin.named ? "other users" : "group or other";
  const fix = chosen.origin.named ? `chmod 640 ${file} (owner root, group moxie)` : `chmod 600 ${file}`;
  return [problem(`${file} sets ${secret[1]!.toUpperCase()} and is readable by ${who} (mode ${octal(mode)}): ${fix}`)];
}

function sharedStorage({ settings, dbPath, secretPath }: DoctorContext): Finding[] {
  const fsType = filesystemTypeOf(existingAncestor(dirname(dbPath)));
  if (fsType === undefined || !NETWORK_FILESYSTEMS.has(fsType)) return [];
  const findings = [
    problem(`the database is on a network filesystem (${fsType}): SQLite's locking and WAL mode are not reliable there; keep it on a local disk`),
  ];
  if (settings.secretKey === undefined) {
    findings.push(
      problem(
        `the signing key is generated beside the database, on shared storage (${fsType}): anyone who can read ${secretPath} ` +
          "can forge sign-ins; set SECRET_KEY from a secret store instead",
      ),
    );
  }
  return findings;
}

function generatedKey({ settings, secretPath }: DoctorContext): Finding[] {
  if (settings.secretKey !== undefined || !existsSync(secretPath)) return [];
  if (readText(secretPath).trim().length >= MIN_SECRET_KEY_LENGTH) return [];
  return [problem(`the generated key file ${secretPath} is damaged or unreadable by this user; fix its owner, remove it, or set SECRET_KEY`)];
}

export function octal(mode: number): string {
  return mode.toString(8).padStart(4, "0");
}

export function modeOf(path: string): number | undefined {
  try {
    return statSync(path).mode & 0o777;
  } catch {
    return undefined;
  }
}

function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

function existingAncestor(path: string): string {
  let current = resolve(path);
  while (!existsSync(current) && dirname(current) !== current) current = dirname(current);
  try {
    return realpathSync(current);
  } catch {
    return current;
  }
}

/** The type of the filesystem holding `path` (already resolved), from /proc/mounts; undefined when unknown. */
export function filesystemTypeOf(path: string, mounts: string = readText("/proc/mounts")): string | undefined {
  let best: { mountPoint: string; type: string } | undefined;
  for (const line of mounts.split("\n")) {
    const [, rawMountPoint, type] = line.split(" ");
    if (rawMountPoint === undefined || type === undefined) continue;
    // /proc/mounts escapes space, tab, newline and backslash as octal.
    const mountPoint = rawMountPoint.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
    const inside = mountPoint === "/" || path === mountPoint || path.startsWith(`${mountPoint}/`);
    // The last of equal mount points wins: it is mounted over the earlier ones.
    if (inside && (best === undefined || mountPoint.length >= best.mountPoint.length)) best = { mountPoint, type };
  }
  return best?.type;
}
