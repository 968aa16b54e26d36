// `moxie restore PATH`: replaces the database with a backup, with the server stopped (restore-from-file.ts); `restore
// s3://…` and `--latest` download the copy first (offsite-restore.ts, loaded only then).
import { isS3Url } from "../../offsite/locations.ts";
import { print, type Command } from "../command.ts";
import { UsageError } from "../errors.ts";
import { restoreFrom } from "./restore-from-file.ts";

export const OFF_HOST_RESTORE_HELP =
  "moxie restore s3://BUCKET/KEY        downloads the copy into a private temp file, requires its sha256 to match\n" +
  "                                     <KEY>.sha256, then restores it as above (everyone is signed out)\n" +
  "moxie restore --latest [s3://BUCKET/PREFIX/ | DIR]\n" +
  "                                     the newest copy there (`moxie backups` lists them); without a place,\n" +
  "                                     s3://$S3_BUCKET/$S3_PREFIX";


export const RESTORE_USAGE =
  "moxie restore PATH\n\n" +
  "Replaces the database with the backup at PATH; the server must be stopped first.\n" +
  "Checks the backup (integrity, and a schema no newer than this moxie's), applies any newer\n" +
  "migrations to a copy and gives it a new database generation, keeps the current database as\n" +
  "<database>.before-restore-<UTC time>, and puts the copy in place. This signs everyone out:\n" +
  "no token issued before the restore works after it.\n" +
  "With no database yet (recovery on a new machine) it writes one where the settings say,\n" +
  "and prints that path and the setting that chose it.";

export const restoreCommand: Command = {
  usage: `${RESTORE_USAGE}\n\n${OFF_HOST_RESTORE_HELP}`,
  options: { latest: { type: "boolean" } },
  positionals: true,
  async run({ positionals, values, where }) {
    const [source, ...extra] = positionals;
    const latest = values.latest === true;
    if ((source === undefined && !latest) || extra.length > 0) throw new UsageError(`restore takes one PATH\n\nUsage: ${RESTORE_USAGE}`);
    if (latest || isS3Url(source)) {
      const { offsiteRestore } = await import("./offsite-restore.ts");
      await offsiteRestore({ where, source, latest }, print);
      return;
    }
    await restoreFrom({ where, source: source! }, print);
  },
};
