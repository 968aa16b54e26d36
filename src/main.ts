#!/usr/bin/env bun
// The binary's entry: owner-only files, the command line (src/cli/), and the exit code.
import { abandonedS3Requests } from "./offsite/abandoned.ts";
import { main } from "./cli/main.ts";

process.umask(0o077); // every file moxie creates (database, WAL, key, backups) is owner-only
const code = await main(process.argv.slice(2));
// A request to S3 storage that did not answer in time was abandoned, not cancelled (Bun's S3 client takes no
// signal), and would keep the process waiting: exit now. (Only then: a server's buffered log lines must
// drain first, and the S3 commands print with console.log, which writes at once.)
if (abandonedS3Requests() > 0) process.exit(code);
process.exitCode = code;
