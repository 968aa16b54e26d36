// The mutation catalogue: every area's list in the order `bun run mutate` runs them; importing it runs nothing.
import { accounts } from "./accounts.ts";
import { audit } from "./audit.ts";
import { backup } from "./backup.ts";
import { cli } from "./cli.ts";
import { consoleApp } from "./console.ts";
import { database } from "./database.ts";
import { emails } from "./emails.ts";
import { http } from "./http.ts";
import { offsite } from "./offsite.ts";
import { passwords } from "./passwords.ts";
import { sessions } from "./sessions.ts";
import { throttle } from "./throttle.ts";
import { tokens } from "./tokens.ts";
import type { Mutation } from "./types.ts";

export type { Mutation } from "./types.ts";

/** Each area is the file scripts/mutations/<name>.ts; a new area needs a line here. */
export const AREAS: ReadonlyArray<{ name: string; mutations: readonly Mutation[] }> = [
  { name: "passwords", mutations: passwords },
  { name: "throttle", mutations: throttle },
  { name: "tokens", mutations: tokens },
  { name: "audit", mutations: audit },
  { name: "http", mutations: http },
  { name: "backup", mutations: backup },
  { name: "cli", mutations: cli },
  { name: "emails", mutations: emails },
  { name: "database", mutations: database },
  { name: "accounts", mutations: accounts },
  { name: "sessions", mutations: sessions },
  { name: "offsite", mutations: offsite },
  { name: "console", mutations: consoleApp },
];

export const MUTATIONS: readonly Mutation[] = AREAS.flatMap((area) => area.mutations);

// `--only` picks by id and the report names survivors by id: two entries with one id would be run and reported
// as if one, whichever the reader looks up.
const seen = new Set<string>();
for (const { id } of MUTATIONS) {
  if (seen.has(id)) throw new Error(`mutation id ${id} is in scripts/mutations/ twice`);
  seen.add(id);
}
