// The layers of src/ (ARCHITECTURE.md), checked by dependency-cruiser: `bun run deps`, run by .ci/run and by
// test/layers.test.ts. Each layer imports only layers below it:
//   lib → db → domain (passwords, emails, sessions, audit, accounts, sign-in, tokens, offsite, health) → settings
//   → http → cli → src/main.ts
// test/layers.test.ts also shows each rule catching a deliberate bad import.

/** The domain: rules as plain functions over the database, no HTTP. */
const DOMAIN = "^src/(passwords|emails|sessions|audit|accounts|sign-in|tokens|offsite|health)/";

/** Elysia and its plugins, as imported from node_modules. */
const ELYSIA = "(^|/)node_modules/(elysia|@elysiajs/[^/]+)/";

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "No module imports itself through others: every layer, and every module in it, can be read without its importers.",
      from: {},
      to: { circular: true },
    },
    {
      name: "src-not-to-test",
      severity: "error",
      comment: "The program never imports its tests.",
      from: { path: "^src/" },
      to: { path: "^(test|bench|scripts)/" },
    },
    {
      name: "lib-is-the-floor",
      severity: "error",
      comment: "src/lib/ (logging, strict JSON, IP addresses) knows nothing of moxie: it imports no other part of src/.",
      from: { path: "^src/lib/" },
      to: { path: "^src/(?!lib/)" },
    },
    {
      name: "db-below-domain",
      severity: "error",
      comment: "src/db/ (schema, open, migrations, writes, dates) imports only src/lib/.",
      from: { path: "^src/db/" },
      to: { path: "^src/(?!db/|lib/)" },
    },
    {
      name: "domain-not-to-upper-layers",
      severity: "error",
      comment:
        "A domain module knows no HTTP, no command line and no settings: it takes what it needs as arguments, so the " +
        "API, the CLI and tests call the same rules.",
      from: { path: DOMAIN },
      to: { path: "^src/(http|cli|settings|console)/|^src/main\\.ts$" },
    },
    {
      name: "domain-not-to-elysia",
      severity: "error",
      comment:
        "A domain module never imports Elysia. The one exception: src/tokens/tokens.ts signs tokens with " +
        "@elysiajs/jwt's signer (jose), imported at the first sign-in.",
      from: { path: DOMAIN, pathNot: "^src/tokens/tokens\\.ts$" },
      to: { path: ELYSIA },
    },
    {
      name: "domain-order",
      severity: "error",
      comment:
        "Within the domain, modules point one way: passwords, emails, sessions, tokens, offsite and health import no " +
        "other domain module; audit only emails; accounts only audit, emails, passwords, sessions; sign-in any of " +
        "those and tokens.",
      from: { path: "^src/(passwords|emails|sessions|tokens|offsite|health)/" },
      to: { path: DOMAIN, pathNot: "^src/$1/" },
    },
    {
      name: "audit-order",
      severity: "error",
      comment: "The audit trail depends only on emails (the shape of a typed address), within the domain.",
      from: { path: "^src/audit/" },
      to: { path: "^src/(passwords|sessions|accounts|sign-in|tokens|offsite|health)/" },
    },
    {
      name: "accounts-order",
      severity: "error",
      comment: "Accounts depend on audit, emails, passwords and sessions; sign-in depends on accounts, never the reverse.",
      from: { path: "^src/accounts/" },
      to: { path: "^src/(sign-in|tokens|offsite|health)/" },
    },
    {
      name: "sign-in-order",
      severity: "error",
      comment: "Sign-in depends on accounts, audit, emails, passwords, sessions and tokens, not on backups or health.",
      from: { path: "^src/sign-in/" },
      to: { path: "^src/(offsite|health)/" },
    },
    {
      name: "settings-below-http",
      severity: "error",
      comment: "src/settings/ reads the environment with the domain's own parsers and limits; it imports no HTTP, CLI or database.",
      from: { path: "^src/settings/" },
      to: { path: "^src/(http|cli|console|db)/|^src/main\\.ts$" },
    },
    {
      name: "http-not-to-cli",
      severity: "error",
      comment: "The Elysia app never reaches up into the command line.",
      from: { path: "^src/http/" },
      to: { path: "^src/cli/|^src/main\\.ts$" },
    },
    {
      name: "http-no-sql",
      severity: "error",
      comment:
        "Routes call services; SQL stays below them. src/http/ imports neither drizzle-orm nor bun:sqlite, and from " +
        "src/db/ only types, the vocabulary (roles, event types) and the error classes.",
      from: { path: "^src/http/", pathNot: "^src/http/app\\.ts$" },
      to: {
        path: "(^|/)node_modules/drizzle-orm/|^bun:sqlite$|^src/db/",
        pathNot: "^src/db/(vocabulary|errors)\\.ts$",
        dependencyTypesNot: ["type-only"],
      },
    },
    {
      name: "http-app-reads-generation-only",
      severity: "error",
      comment:
        "The exception to http-no-sql: the composition root, src/http/app.ts, reads the database's generation once " +
        "(src/db/generation.ts) for the guard and sign-in. Nothing else of src/db/ at run time.",
      from: { path: "^src/http/app\\.ts$" },
      to: {
        path: "(^|/)node_modules/drizzle-orm/|^bun:sqlite$|^src/db/",
        pathNot: "^src/db/(vocabulary|errors|generation)\\.ts$",
        dependencyTypesNot: ["type-only"],
      },
    },
    {
      name: "health-answers-before-elysia",
      severity: "error",
      comment:
        "`moxie serve` listens and answers GET /health before the Elysia app is loaded (src/http/server.ts): the " +
        "server and the /health probe's modules import neither Elysia nor src/http/app.ts, which is imported with " +
        "import() once the server listens.",
      from: { path: "^src/http/(server|health-probe|headers|request-ids|cors-policy)\\.ts$" },
      to: { path: `${ELYSIA}|^src/http/app\\.ts$`, dependencyTypesNot: ["dynamic-import", "type-only"] },
    },
    {
      name: "serve-builds-the-app-after-listening",
      severity: "error",
      comment: "The command line starts the server (src/http/server.ts) and never imports the Elysia app itself.",
      from: { path: "^src/cli/" },
      to: { path: "^src/http/app\\.ts$", dependencyTypesNot: ["type-only"] },
    },
    {
      name: "console-app-is-a-browser-program",
      severity: "error",
      comment: "The console's browser code (src/console/app/) talks to the server over HTTP only: it imports nothing of src/ outside it.",
      from: { path: "^src/console/app/" },
      to: { path: "^src/(?!console/app/)" },
    },
    {
      name: "only-the-entry-imports-cli",
      severity: "error",
      comment: "The command line is the top layer: only src/main.ts (and src/cli/ itself) imports it.",
      from: { path: "^src/", pathNot: "^src/(cli/|main\\.ts$)" },
      to: { path: "^src/cli/" },
    },
    {
      name: "commands-load-when-they-run",
      severity: "error",
      comment:
        "A command module is imported only by the command table (src/cli/commands.ts), and only with import(), so " +
        "each command loads its own code when it runs. Commands may share code statically among themselves.",
      from: { path: "^src/(?!cli/commands/)" },
      to: { path: "^src/cli/commands/", dependencyTypesNot: ["dynamic-import", "type-only"] },
    },
  ],
  options: {
    doNotFollow: { path: "(^|/)node_modules/" },
    // Imports that only TypeScript sees (`import type`) count for the layers too.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default"],
      extensions: [".ts", ".js", ".mjs", ".cjs", ".json", ".d.ts"],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
