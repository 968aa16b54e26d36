// The layers of src/ (ARCHITECTURE.md) as dependency-cruiser checks them (.dependency-cruiser.cjs, `bun run deps`):
// the tree as it is breaks no rule, and each rule catches a deliberate bad import in a small tree written here.
import { describe, expect, test } from "bun:test";
import { cruise } from "dependency-cruiser";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { ROOT, tempDir } from "./helpers.ts";

const config = createRequire(import.meta.url)(join(ROOT, ".dependency-cruiser.cjs")) as {
  forbidden: unknown[];
  options: Record<string, unknown>;
};

interface Violation {
  rule: { name: string };
  from: string;
  to: string;
}

/** Every violation of the project's rules in `paths` under `baseDir`, as "rule: from → to". */
async function violations(baseDir: string, paths: string[]): Promise<string[]> {
  const { tsConfig: _named, ...options } = config.options;
  const result = await cruise(paths, {
    ...options,
    baseDir,
    ruleSet: { forbidden: config.forbidden } as never,
    validate: true,
    outputType: "json",
  });
  const output = typeof result.output === "string" ? JSON.parse(result.output) : result.output;
  // A package is named by its path from node_modules/, wherever that directory is (the fixture's is a link).
  const named = (path: string) => path.replace(/^.*?node_modules\//, "node_modules/");
  return (output.summary.violations as Violation[]).map((v) => `${v.rule.name}: ${v.from} → ${named(v.to)}`).sort();
}

describe("the layers", () => {
  test("src/ and test/ break none of the rules", async () => {
    expect(await violations(ROOT, ["src", "test"])).toEqual([]);
  });

  test("each rule catches a bad import, and leaves the allowed ones alone", async () => {
    const dir = tempDir("moxie-layers-");
    symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
    const files: Record<string, string> = {
      // Allowed: what each layer may import.
      "src/lib/log.ts": "export const log = 1;\n",
      "src/db/index.ts": 'import { log } from "../lib/log.ts";\nexport type Db = { log: typeof log };\n',
      "src/db/schema.ts": "export const users = 1;\n",
      "src/db/vocabulary.ts": "export const ROLES = [];\n",
      "src/emails/normalize.ts": "export const EMAIL = 1;\n",
      "src/audit/service.ts": 'import { EMAIL } from "../emails/normalize.ts";\nexport const audit = EMAIL;\n',
      "src/accounts/service.ts": 'import { users } from "../db/schema.ts";\nimport { audit } from "../audit/service.ts";\nexport const account = users + audit;\n',
      "src/http/routes.ts": 'import type { Db } from "../db/index.ts";\nimport { ROLES } from "../db/vocabulary.ts";\nimport { account } from "../accounts/service.ts";\nexport const routes = (db: Db) => [db, ROLES, account];\n',
      "src/cli/commands/users.ts": "export const usersCommand = 1;\n",
      "src/cli/commands.ts": 'export const load = () => import("./commands/users.ts");\n',
      "src/main.ts": 'import { load } from "./cli/commands.ts";\nawait load();\n',
      // Not allowed: one bad import each.
      "src/lib/reaches-up.ts": 'import { users } from "../db/schema.ts";\nexport const x = users;\n',
      "src/db/reaches-up.ts": 'import { account } from "../accounts/service.ts";\nexport const x = account;\n',
      "src/accounts/knows-elysia.ts": 'import { Elysia } from "elysia";\nexport const x = Elysia;\n',
      "src/accounts/knows-http.ts": 'import { routes } from "../http/routes.ts";\nexport const x = routes;\n',
      "src/emails/knows-accounts.ts": 'import { account } from "../accounts/service.ts";\nexport const x = account;\n',
      "src/audit/knows-accounts.ts": 'import { account } from "../accounts/service.ts";\nexport const x = account;\n',
      "src/accounts/knows-sign-in.ts": 'import { x as y } from "../sign-in/service.ts";\nexport const x = y;\n',
      "src/sign-in/service.ts": 'import { x as y } from "../health/readiness.ts";\nexport const x = y;\n',
      "src/health/readiness.ts": "export const x = 1;\n",
      "src/settings/knows-http.ts": 'import { routes } from "../http/routes.ts";\nexport const x = routes;\n',
      "src/http/builds-queries.ts": 'import { eq } from "drizzle-orm";\nimport { users } from "../db/schema.ts";\nexport const x = [eq, users];\n',
      "src/http/opens-sqlite.ts": 'import { Database } from "bun:sqlite";\nexport const x = Database;\n',
      "src/http/knows-cli.ts": 'import { load } from "../cli/commands.ts";\nexport const x = load;\n',
      "src/cli/loads-a-command-at-start.ts": 'import { usersCommand } from "./commands/users.ts";\nexport const x = usersCommand;\n',
      "src/http/app.ts": 'import { routes } from "./routes.ts";\nexport const createApp = () => routes;\n',
      "src/http/server.ts": 'export const start = async () => (await import("./app.ts")).createApp;\n',
      "src/http/health-probe.ts": 'import { Elysia } from "elysia";\nexport const x = Elysia;\n',
      "src/cli/builds-the-app-at-start.ts": 'import { createApp } from "../http/app.ts";\nexport const x = createApp;\n',
      "src/console/app/knows-the-server.ts": 'import { log } from "../../lib/log.ts";\nexport const x = log;\n',
      "src/accounts/one.ts": 'import { two } from "./two.ts";\nexport const one = () => two;\n',
      "src/accounts/two.ts": 'import { one } from "./one.ts";\nexport const two = () => one;\n',
      "src/passwords/knows-the-tests.ts": 'import { helper } from "../../test/helper.ts";\nexport const x = helper;\n',
      "test/helper.ts": "export const helper = 1;\n",
    };
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    const found = await violations(dir, ["src", "test"]);
    expect(found).toEqual(
      [
        "accounts-order: src/accounts/knows-sign-in.ts → src/sign-in/service.ts",
        "audit-order: src/audit/knows-accounts.ts → src/accounts/service.ts",
        "commands-load-when-they-run: src/cli/loads-a-command-at-start.ts → src/cli/commands/users.ts",
        "console-app-is-a-browser-program: src/console/app/knows-the-server.ts → src/lib/log.ts",
        "db-below-domain: src/db/reaches-up.ts → src/accounts/service.ts",
        "domain-not-to-elysia: src/accounts/knows-elysia.ts → node_modules/elysia/dist/index.mjs",
        "domain-not-to-upper-layers: src/accounts/knows-http.ts → src/http/routes.ts",
        "domain-order: src/emails/knows-accounts.ts → src/accounts/service.ts",
        "serve-builds-the-app-after-listening: src/cli/builds-the-app-at-start.ts → src/http/app.ts",
        "health-answers-before-elysia: src/http/health-probe.ts → node_modules/elysia/dist/index.mjs",
        "http-no-sql: src/http/builds-queries.ts → node_modules/drizzle-orm/index.js",
        "http-no-sql: src/http/builds-queries.ts → src/db/schema.ts",
        "http-no-sql: src/http/opens-sqlite.ts → bun:sqlite",
        "http-not-to-cli: src/http/knows-cli.ts → src/cli/commands.ts",
        "lib-is-the-floor: src/lib/reaches-up.ts → src/db/schema.ts",
        "no-circular: src/accounts/one.ts → src/accounts/two.ts",
        "only-the-entry-imports-cli: src/http/knows-cli.ts → src/cli/commands.ts",
        "settings-below-http: src/settings/knows-http.ts → src/http/routes.ts",
        "sign-in-order: src/sign-in/service.ts → src/health/readiness.ts",
        "src-not-to-test: src/passwords/knows-the-tests.ts → test/helper.ts",
      ].sort(),
    );
  });
});
