// `moxie audit`: the audit trail at the host, newest first, as a table or JSON; and pruning it by age.
import { changesOf, listEvents, pruneEvents, toPublicEvent, type Changes, type ListedEvent } from "../../audit/service.ts";
import type { Db } from "../../db/index.ts";
import { toIsoUtc } from "../../db/dates.ts";
import { AUDIT_EVENT_TYPES, type AuditEventType } from "../../db/vocabulary.ts";
import { bootstrap } from "../bootstrap.ts";
import { print as printLine, type Command } from "../command.ts";
import { UsageError } from "../errors.ts";
import { printTable } from "../table.ts";
import { plural } from "../dbfile.ts";

type Print = (line: string) => void;
type Values = Record<string, string | boolean | undefined>;

export const AUDIT_MAX_LIMIT = 1000;
export const AUDIT_DEFAULT_LIMIT = 50;

export const AUDIT_USAGE =
  "moxie audit [--limit N] [--user-id ID] [--type TYPE] [--json]\n" +
  "       moxie audit --prune-days N\n\n" +
  `Lists audit events newest first (default ${AUDIT_DEFAULT_LIMIT}, at most ${AUDIT_MAX_LIMIT}); --json prints them as a JSON array.\n` +
  `TYPE is one of: ${AUDIT_EVENT_TYPES.join(", ")}.\n` +
  "--prune-days N deletes the events older than N days and prints how many went.";

export const AUDIT_OPTIONS = {
  limit: { type: "string" },
  "user-id": { type: "string" },
  type: { type: "string" },
  json: { type: "boolean" },
  "prune-days": { type: "string" },
} as const;

export const auditCommand: Command = {
  usage: AUDIT_USAGE,
  options: AUDIT_OPTIONS,
  async run(context) {
    // Listing only reads; --prune-days deletes, so it may migrate first like every command that writes.
    await listOrPrune(context.values, (readOnly) => bootstrap(context, { create: false, readOnly }).db, printLine);
  },
};

/** `openDb(readOnly)`: listing opens the file as it is; pruning (a write) may migrate it first. */
async function listOrPrune(values: Values, openDb: (readOnly: boolean) => Db, print: Print): Promise<void> {
  if (values["prune-days"] !== undefined) {
    const others = ["limit", "user-id", "type", "json"].filter((name) => values[name] !== undefined);
    if (others.length > 0) throw new UsageError(`--prune-days cannot be combined with --${others[0]}`);
    const days = wholeNumber(values["prune-days"], "--prune-days", 1, 36_500);
    const db = openDb(false);
    try {
      const removed = pruneEvents(db, days);
      print(`Pruned ${plural(removed, "audit event")} older than ${plural(days, "day")}`);
    } finally {
      db.$client.close();
    }
    return;
  }

  const limit = values.limit === undefined ? AUDIT_DEFAULT_LIMIT : wholeNumber(values.limit, "--limit", 1, AUDIT_MAX_LIMIT);
  const userId = values["user-id"] === undefined ? undefined : wholeNumber(values["user-id"], "--user-id", 1, Number.MAX_SAFE_INTEGER);
  let type: AuditEventType | undefined;
  if (values.type !== undefined) {
    if (typeof values.type !== "string" || !(AUDIT_EVENT_TYPES as readonly string[]).includes(values.type)) {
      throw new UsageError(`--type: '${String(values.type)}' is not one of ${AUDIT_EVENT_TYPES.join(", ")}`);
    }
    type = values.type as AuditEventType;
  }

  const db = openDb(true);
  try {
    const { events, total } = listEvents(db, { limit, userId, type });
    if (values.json === true) {
      print(JSON.stringify(events.map(toPublicEvent), null, 2));
      return;
    }
    printEvents(events, print);
    print(events.length === total ? plural(total, "event") : `${events.length} of ${total} events (newest first; --limit to see more)`);
  } finally {
    db.$client.close();
  }
}

function printEvents(events: ListedEvent[], print: Print): void {
  printTable(
    ["TIME", "TYPE", "ACTOR", "USER", "EMAIL", "IP", "REASON", "CHANGES", "SESSION"],
    events.map((e) => [
      toIsoUtc(e.createdAt),
      // Repeated refusals are stored once with a count, as the API and the console show them.
      e.count > 1 ? `${e.type} ×${e.count}` : e.type,
      e.actor === "user" && e.actorUserId !== null ? `user #${e.actorUserId}` : e.actor,
      e.userId === null ? "-" : `#${e.userId}`,
      // The concerned account's current email, as the API gives it; else the one typed at a sign-in.
      e.accountEmail ?? e.email ?? "-",
      e.ip ?? "-",
      e.reason ?? "-",
      describeChanges(changesOf(e.detail)),
      e.sessionId ?? "-",
    ]),
    print,
  );
}

/** What an edit changed, one field after another: `role: agent → admin; name: "Ana" → "Ana B."`. */
function describeChanges(changes: Changes | null): string {
  if (changes === null) return "-";
  const shown = (value: unknown) => (typeof value === "string" ? JSON.stringify(value) : String(value));
  const parts = Object.entries(changes).map(([field, { from, to }]) => `${field}: ${shown(from)} → ${shown(to)}`);
  return parts.length === 0 ? "-" : parts.join("; ");
}

function wholeNumber(raw: string | boolean | undefined, name: string, min: number, max: number): number {
  if (typeof raw !== "string" || !/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new UsageError(`${name}: '${String(raw)}' is not a whole number from ${min} to ${max}`);
  }
  return Number(raw);
}
