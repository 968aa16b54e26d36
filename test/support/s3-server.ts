// A real S3 API server for the tests: s3rver (npm, a devDependency) in a child process on 127.0.0.1, its objects
// in a directory the test owns, so a server that dies can be started again on what it left. Run as a script it
// is that child; imported, it starts and stops one.
//
// s3rver checks the access key id of every request (an unknown one is InvalidAccessKeyId) but does not verify
// SigV4 signatures, so a wrong secret with a known key id is not refused by it; the tests use a wrong key id.
// It also answers AbortMultipartUpload without removing the parts; the request log shows that it was sent.
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../helpers.ts";
import { cleanEnv } from "./processes.ts";

/** The credentials the test server knows: distinctive, so a test can look for them in any output. */
export const S3_TEST_KEY_ID = "AKIAMOXIETESTQ7Z2K4WX";
export const S3_TEST_SECRET = "moxieTestSecret/Zq8vN3pL6rT0wY5uI2oE9aS1dF4gH7jK";

export interface S3TestServer {
  endpoint: string;
  port: number;
  dir: string;
  proc: Bun.Subprocess;
  /** Requests seen so far, one "METHOD /path?query" line each (no headers: the signature stays out). */
  requests(): string[];
  stop(): Promise<void>;
}

export interface S3ServerOptions {
  buckets?: string[];
  /** The server kills itself (SIGKILL) when the request for this part of a multipart upload arrives. */
  dieAtPart?: number;
  /** The server answers 500 to every request for this part (and stays up). */
  failAtPart?: number;
}

const SCRIPT = join(ROOT, "test/support/s3-server.ts");

/** Starts s3rver on 127.0.0.1 (a free port) over `dir`; resolves once it answers. */
export async function startS3Server(dir: string, options: S3ServerOptions = {}): Promise<S3TestServer> {
  const log = join(dir, `requests-${Date.now()}-${Math.random().toString(36).slice(2)}.log`);
  const proc = Bun.spawn([process.execPath, SCRIPT], {
    cwd: dir,
    env: cleanEnv({
      S3RVER_DIR: join(dir, "store"),
      S3RVER_BUCKETS: (options.buckets ?? ["moxie-backups"]).join(","),
      S3RVER_DIE_AT_PART: String(options.dieAtPart ?? 0),
      S3RVER_FAIL_AT_PART: String(options.failAtPart ?? 0),
      S3RVER_REQUEST_LOG: log,
    }),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const reader = proc.stdout.getReader();
  let text = "";
  const deadline = Date.now() + 20_000;
  while (!text.includes("\n")) {
    const next = await Promise.race([reader.read(), Bun.sleep(Math.max(0, deadline - Date.now())).then(() => "timeout" as const)]);
    if (next === "timeout" || next.done) {
      proc.kill("SIGKILL");
      throw new Error(`s3rver did not start: ${await new Response(proc.stderr).text()}`);
    }
    text += new TextDecoder().decode(next.value);
  }
  reader.releaseLock();
  const { port } = JSON.parse(text.split("\n")[0]!) as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    dir,
    proc,
    requests: () => (existsSync(log) ? readFileSync(log, "utf8").split("\n").filter(Boolean) : []),
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
      await proc.exited;
    },
  };
}

/** A client of the test server, for a test to look at or change what is stored, as an operator's tool would. */
export function testClient(server: S3TestServer, bucket = "moxie-backups"): Bun.S3Client {
  return new Bun.S3Client({ endpoint: server.endpoint, accessKeyId: S3_TEST_KEY_ID, secretAccessKey: S3_TEST_SECRET, bucket, region: "us-east-1" });
}

if (import.meta.main) {
  // s3rver's CommonJS modules, loaded by path so the account registry is the one its middleware reads.
  const { default: S3rver } = await import(join(ROOT, "node_modules/s3rver/lib/s3rver.js"));
  const accounts = await import(join(ROOT, "node_modules/s3rver/lib/models/account.js"));
  const account = accounts.DUMMY_ACCOUNT ?? accounts.default.DUMMY_ACCOUNT;
  account.revokeAccessKey("S3RVER");
  account.createKeyPair(S3_TEST_KEY_ID, S3_TEST_SECRET);

  const dieAt = process.env.S3RVER_DIE_AT_PART ?? "0";
  const failAt = process.env.S3RVER_FAIL_AT_PART ?? "0";
  const requestLog = process.env.S3RVER_REQUEST_LOG!;
  const server = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory: process.env.S3RVER_DIR!,
    configureBuckets: (process.env.S3RVER_BUCKETS ?? "").split(",").filter(Boolean).map((name) => ({ name })),
  });
  // First in the chain: every request is logged, and the faults happen before s3rver sees the request.
  server.middleware.unshift(async (ctx: { method: string; url: string; query: Record<string, string>; status: number; body: unknown }, next: () => Promise<void>) => {
    appendFileSync(requestLog, `${ctx.method} ${ctx.url}\n`);
    if (dieAt !== "0" && ctx.query.partNumber === dieAt) process.kill(process.pid, "SIGKILL");
    if (failAt !== "0" && ctx.query.partNumber === failAt) {
      ctx.status = 500;
      ctx.body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>";
      return;
    }
    await next();
  });
  const { port } = await server.run();
  console.log(JSON.stringify({ port }));
  process.on("SIGTERM", () => server.close(() => process.exit(0)));
}
