// The database's generation: a random value every token carries, replaced by every restore, so that no token
// from before a restore can match after it, whatever ids and token versions the backup brings back.
import type { Database } from "bun:sqlite";

/** 128 random bits as 32 lowercase hex digits: unguessable, and never the same for two databases or two restores. */
export const GENERATION_PATTERN = /^[0-9a-f]{32}$/;

export interface Generation {
  /** Carried by every token moxie issues (`gen`); the guard admits a generation-carrying token only of this one. */
  id: string;
  /**
   * Whether a restore began it. Tokens that carry no generation (the Python original's, and moxie's from before
   * generations) keep working only while the database has never been restored.
   */
  restored: boolean;
}

const TABLE = "database_generation";

export function newGenerationId(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("hex");
}

function storedGeneration(client: Database): string | undefined {
  const row = client.query(`SELECT generation FROM ${TABLE} WHERE id = 1`).get() as { generation: unknown } | null;
  return typeof row?.generation === "string" && GENERATION_PATTERN.test(row.generation) ? row.generation : undefined;
}

/** Whether the file has a sound generation (false too when the table is not there yet: migrations pending). */
export function hasGeneration(client: Database): boolean {
  const table = client.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(TABLE);
  return table !== null && storedGeneration(client) !== undefined;
}

/**
 * Gives a database its first generation, inside the migration transaction that created the table: then it has
 * never been restored. A row missing or damaged in a table that was already there (changed by hand) is given a
 * new one too, counted as restored: a history nobody can vouch for must not let tokens without one back in.
 */
export function ensureGeneration(client: Database, options: { tableIsNew: boolean }): void {
  if (storedGeneration(client) !== undefined) return;
  client
    .query(
      `INSERT OR REPLACE INTO ${TABLE} (id, generation, restored_at) ` +
        `VALUES (1, ?, ${options.tableIsNew ? "NULL" : "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"})`,
    )
    .run(newGenerationId());
}

/**
 * Begins a new generation because the file is a restored backup: every token issued before stops working, and
 * so do tokens without a generation. `restore` calls it on its staging copy, before the copy is put in place,
 * so the generation of a file a server has open never changes under it.
 */
export function beginRestoredGeneration(client: Database): Generation {
  const id = newGenerationId();
  client
    .query(
      `INSERT INTO ${TABLE} (id, generation, restored_at) VALUES (1, ?1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
       ON CONFLICT (id) DO UPDATE SET generation = ?1, restored_at = excluded.restored_at`,
    )
    .run(id);
  return { id, restored: true };
}

/** The generation of the database behind `client`, read once when the server starts; throws when there is none. */
export function readGeneration(client: Database): Generation {
  const row = client.query(`SELECT generation, restored_at FROM ${TABLE} WHERE id = 1`).get() as
    | { generation: string; restored_at: string | null }
    | null;
  if (!row || !GENERATION_PATTERN.test(row.generation)) {
    throw new Error(`${client.filename} has no database generation; run \`moxie migrate\` to give it one`);
  }
  return { id: row.generation, restored: row.restored_at !== null };
}
