// Every command by name, with the line `moxie --help` shows for it, and its module imported only when it runs:
// `moxie --version` loads none of them, and `moxie users` none of Elysia, the console or the S3 client.
// To add a command: a module in src/cli/commands/ exporting a Command (src/cli/command.ts), and a line here.
import type { Command } from "./command.ts";

export interface CommandEntry {
  summary: string;
  load(): Promise<Command>;
}

// Listed in the order `moxie --help` shows them. Each import() names its module in plain text, so the bundler
// (bun build --compile --splitting) puts it in the binary as a chunk of its own, loaded when it is imported.
export const COMMANDS: Record<string, CommandEntry> = {
  serve: {
    summary: "start the HTTP API",
    load: async () => (await import("./commands/serve.ts")).serveCommand,
  },
  "create-admin": {
    summary: "create an active admin account",
    load: async () => (await import("./commands/accounts.ts")).createAdminCommand,
  },
  "set-password": {
    summary: "set an account's password (signs out its sessions)",
    load: async () => (await import("./commands/accounts.ts")).setPasswordCommand,
  },
  users: {
    summary: "list accounts (--search TEXT: those whose name or email contains it, in any case and accents)",
    load: async () => (await import("./commands/users.ts")).usersCommand,
  },
  deactivate: {
    summary: "deactivate an account (its tokens stop working at once)",
    load: async () => (await import("./commands/accounts.ts")).deactivateCommand,
  },
  activate: {
    summary: "reactivate an account",
    load: async () => (await import("./commands/accounts.ts")).activateCommand,
  },
  unlock: {
    summary: "clear an account's sign-in throttle (after too many failed sign-ins)",
    load: async () => (await import("./commands/accounts.ts")).unlockCommand,
  },
  sessions: {
    summary: "list where an account is signed in (its sessions)",
    load: async () => (await import("./commands/sessions.ts")).sessionsCommand,
  },
  "sign-out": {
    summary: "end every session of an account (a running server refuses them at once)",
    load: async () => (await import("./commands/sessions.ts")).signOutCommand,
  },
  migrate: {
    summary: "apply pending database migrations (--status: list them, apply nothing)",
    load: async () => (await import("./commands/migrate.ts")).migrateCommand,
  },
  backup: {
    summary: "write a consistent copy of the database (safe while the server runs), here or to s3://",
    load: async () => (await import("./commands/backup.ts")).backupCommand,
  },
  backups: {
    summary: "list backup copies, newest first (beside the database, in a directory, or under s3://)",
    load: async () => (await import("./commands/backups.ts")).backupsCommand,
  },
  restore: {
    summary: "replace the database with a backup (server stopped), from a file or s3://",
    load: async () => (await import("./commands/restore.ts")).restoreCommand,
  },
  doctor: {
    summary: "check settings, database and file permissions (exit 1 on a problem; advice is listed)",
    load: async () => (await import("./commands/doctor.ts")).doctorCommand,
  },
  audit: {
    summary: "list audit events newest first, or prune old ones",
    load: async () => (await import("./commands/audit.ts")).auditCommand,
  },
};
