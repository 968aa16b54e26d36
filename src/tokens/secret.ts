// The token signing key: SECRET_KEY when set, otherwise one generated once and kept beside the database.
import { existsSync, linkSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import type { Logger } from "../lib/log.ts";

/** SECRET_KEY shorter than this stops moxie at start; a generated key file shorter than this is damaged. */
export const MIN_SECRET_KEY_LENGTH = 32;

/** Where a generated key lives for the database at `databasePath`. */
export function generatedSecretPath(databasePath: string): string {
  return `${databasePath}.secret`;
}

/**
 * Reads the generated key, or creates it (256 random bits, hex, mode 0600) when there is none.
 * Written to a private temporary file and linked into place, so a concurrent start never reads half a key.
 */
export function loadOrCreateSecretKey(databasePath: string, log: Logger): string {
  const path = generatedSecretPath(databasePath);
  if (!existsSync(path)) {
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("hex") + "\n", {
      mode: 0o600,
      flag: "wx",
    });
    try {
      linkSync(temporary, path);
      log.info("SECRET_KEY is not set: generated a signing key and saved it beside the database", { path });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    } finally {
      unlinkSync(temporary);
    }
  }
  const key = readFileSync(path, "utf8").trim();
  if (key.length < MIN_SECRET_KEY_LENGTH) {
    throw new Error(`the generated key file ${path} is damaged; remove it or set SECRET_KEY`);
  }
  return key;
}
