/**
 * `npm run deploy`: takes a Cloudflare account from nothing to a serving Tally, and is safe to run
 * again (each step does only what is missing). Steps, in order:
 *
 * 1. `wrangler whoami`: logged in (`wrangler login`, or CLOUDFLARE_API_TOKEN + CLOUDFLARE_ACCOUNT_ID).
 * 2. Secrets: JWT_SECRET, VOUCHER_SECRET and WEBHOOK_ENCRYPTION_KEY must be set on the Worker already (`wrangler secret list`)
 *    or given in this process's environment; a value from `.dev.vars.example` (public), a test value or
 *    anything shorter than 32 characters is refused before anything is created.
 * 3. The D1 database of wrangler.toml: created when `wrangler d1 list` lacks it; its id is written
 *    into wrangler.toml when that still holds the placeholder (commit that change).
 * 4. Every queue wrangler.toml names (producers, consumers, dead-letter queues): created when
 *    `wrangler queues list` lacks it.
 * 5. `wrangler d1 migrations apply DB --remote` (forward only; see docs/deploy.md for rollback).
 * 6. `wrangler deploy` (builds the pages first, per wrangler.toml's [build]).
 * 7. The secrets given in the environment: `wrangler secret put` (value on stdin, never in argv).
 *
 * `npm run deploy -- --dry-run` prints every wrangler command it would run, as an empty account would
 * need them, without touching the network; the secret checks still run on what the environment gives.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { unstable_readConfig } from "wrangler";
import { root } from "./dev-vars.ts";

/** The secrets the Worker refuses to run without (workers/http/secrets.ts). */
export const REQUIRED_SECRETS = ["JWT_SECRET", "VOUCHER_SECRET", "WEBHOOK_ENCRYPTION_KEY"] as const;

/** Shortest secret accepted: 32 characters, 256 bits' worth of base64 or a long passphrase. */
const MIN_SECRET_LENGTH = 32;

/** Values known to the world: the tests' and the browser tests' (vitest.config.ts, scripts/test-browser.ts). */
const TEST_SECRETS = ["test-jwt-secret", "test-voucher-secret", "browser-test-jwt-secret", "browser-test-voucher-secret"];

/** wrangler.toml's `database_id` until a real database is made. */
const PLACEHOLDER_DATABASE_ID = "00000000-0000-0000-0000-000000000000";

const wrangler = join(root, "node_modules", "wrangler", "bin", "wrangler.js");

/** What deploying needs from wrangler.toml. */
export interface DeployConfig {
  workerName: string;
  database: { binding: string; name: string; id: string | undefined };
  queues: string[];
}

/** Reads wrangler.toml with wrangler's own parser, so the plan names exactly what `wrangler deploy` will. */
export function readDeployConfig(): DeployConfig {
  const config = unstable_readConfig({ config: join(root, "wrangler.toml") }, { hideWarnings: true });
  const database = config.d1_databases[0];
  if (!database?.database_name) throw new Error("wrangler.toml has no [[d1_databases]] with a database_name");
  const queues = new Set<string>();
  for (const producer of config.queues.producers ?? []) queues.add(producer.queue);
  for (const consumer of config.queues.consumers ?? []) {
    queues.add(consumer.queue);
    if (consumer.dead_letter_queue) queues.add(consumer.dead_letter_queue);
  }
  return {
    workerName: config.name ?? "tally",
    database: { binding: database.binding, name: database.database_name, id: database.database_id },
    queues: [...queues],
  };
}

/** `NAME="value"` lines of a .dev.vars-style file. */
function varsIn(file: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const match = /^\s*([A-Z0-9_]+)\s*=\s*"?(.*?)"?\s*$/.exec(line);
    if (match) vars[match[1]!] = match[2]!;
  }
  return vars;
}

/** Why `value` must not be a production secret, or undefined when it may. */
export function refusalOf(name: string, value: string): string | undefined {
  const examples = varsIn(join(root, ".dev.vars.example"));
  if (Object.values(examples).includes(value)) return `${name} is a public example value from .dev.vars.example`;
  if (TEST_SECRETS.includes(value)) return `${name} is a value the tests use`;
  if (/dev-only|change-me/i.test(value)) return `${name} looks like a placeholder ("${value.slice(0, 12)}…")`;
  if (value.length < MIN_SECRET_LENGTH) return `${name} is shorter than ${MIN_SECRET_LENGTH} characters`;
  return undefined;
}

/** Refuses to go on: printed, exit code 1. */
class Refusal extends Error {}

/** A wrangler command: printed; run unless this is a dry run. */
function wranglerRun(dryRun: boolean, args: string[], options: { input?: string; note?: string; mayFail?: boolean } = {}): { ok: boolean; out: string } {
  console.log(`$ wrangler ${args.join(" ")}${options.input === undefined ? "" : " < (value from the environment)"}${options.note ? `   # ${options.note}` : ""}`);
  if (dryRun) return { ok: true, out: "" };
  const result = spawnSync(process.execPath, [wrangler, ...args], {
    cwd: root,
    encoding: "utf8",
    input: options.input,
    stdio: [options.input === undefined ? "inherit" : "pipe", "pipe", "pipe"],
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
  });
  const out = `${result.stdout ?? ""}${result.stderr ?? ""}`;
  if (result.status !== 0 && !options.mayFail) {
    process.stderr.write(out);
    throw new Refusal(`wrangler ${args[0]} ${args[1] ?? ""} failed (exit ${result.status})`);
  }
  return { ok: result.status === 0, out };
}

/** Writes the database id into wrangler.toml in place of the placeholder. */
function pinDatabaseId(id: string): void {
  const file = join(root, "wrangler.toml");
  const text = readFileSync(file, "utf8");
  if (!text.includes(PLACEHOLDER_DATABASE_ID)) return;
  writeFileSync(file, text.replace(PLACEHOLDER_DATABASE_ID, id));
  console.log(`wrangler.toml: database_id = "${id}" (commit this change)`);
}

/** Runs the deployment (or prints its plan); throws Refusal when it must stop. */
export function deploy(dryRun: boolean, environment: NodeJS.ProcessEnv): void {
  const config = readDeployConfig();
  console.log(dryRun ? "Plan (dry run: nothing is run, every command an empty account needs is listed):" : "Deploying Tally:");

  // Secrets first: a refusal must come before anything is asked or created.
  const given = new Map<string, string>();
  for (const name of REQUIRED_SECRETS) {
    const value = environment[name];
    if (value === undefined || value === "") continue;
    const refusal = refusalOf(name, value);
    if (refusal) throw new Refusal(`${refusal}: generate one, e.g. \`openssl rand -base64 48\`, and pass it as ${name}=… npm run deploy`);
    given.set(name, value);
  }
  wranglerRun(dryRun, ["whoami"], { note: "logged in (wrangler login, or CLOUDFLARE_API_TOKEN)" });
  const listed = wranglerRun(dryRun, ["secret", "list", "--format", "json"], { note: "which secrets the Worker has; fails for a Worker not deployed yet", mayFail: true });
  const present = new Set<string>();
  if (!dryRun && listed.ok) {
    try {
      for (const secret of JSON.parse(listed.out.slice(listed.out.indexOf("["))) as { name: string }[]) present.add(secret.name);
    } catch {
      // Not JSON (an older wrangler, a banner): treat every secret as missing, so it must be given.
    }
  }
  const missing = REQUIRED_SECRETS.filter((name) => !present.has(name) && !given.has(name));
  if (missing.length > 0 && !dryRun) {
    throw new Refusal(`not set on the Worker and not given: ${missing.join(", ")}. Pass each as an environment variable, e.g. JWT_SECRET="$(openssl rand -base64 48)" npm run deploy`);
  }
  if (dryRun && missing.length > 0) console.log(`# on an empty account ${missing.join(" and ")} must be given in the environment, or the deploy stops here`);

  // D1.
  const databases = wranglerRun(dryRun, ["d1", "list", "--json"], { note: `is there a database "${config.database.name}"?` });
  let databaseId: string | undefined;
  if (!dryRun) {
    const list = JSON.parse(databases.out.slice(databases.out.indexOf("["))) as { name: string; uuid: string }[];
    databaseId = list.find((db) => db.name === config.database.name)?.uuid;
  }
  if (databaseId === undefined) {
    wranglerRun(dryRun, ["d1", "create", config.database.name], { note: "when missing" });
    if (!dryRun) {
      const again = wranglerRun(false, ["d1", "list", "--json"]);
      const list = JSON.parse(again.out.slice(again.out.indexOf("["))) as { name: string; uuid: string }[];
      databaseId = list.find((db) => db.name === config.database.name)?.uuid;
      if (!databaseId) throw new Refusal(`created database ${config.database.name} but cannot find its id`);
    }
  }
  if (dryRun) console.log(`# wrangler.toml: database_id set to the new database's id when it is still the placeholder`);
  else if (databaseId !== config.database.id) pinDatabaseId(databaseId!);

  // Queues, dead-letter queues included.
  const queues = wranglerRun(dryRun, ["queues", "list"], { note: "which queues exist" });
  for (const name of config.queues) {
    const exists = !dryRun && new RegExp(`[│|]\\s*${name.replace(/[-]/g, "\\-")}\\s*[│|]`).test(queues.out);
    if (exists) continue;
    const created = wranglerRun(dryRun, ["queues", "create", name], { note: "when missing", mayFail: true });
    // A queue beyond the listing's first page exists already: that is fine.
    if (!created.ok && !/already (exists|taken)/i.test(created.out)) {
      process.stderr.write(created.out);
      throw new Refusal(`could not create queue ${name}`);
    }
  }

  wranglerRun(dryRun, ["d1", "migrations", "apply", config.database.binding, "--remote"], { note: "forward only" });
  wranglerRun(dryRun, ["deploy"], { note: "builds the pages (wrangler.toml [build]) and uploads" });
  for (const name of REQUIRED_SECRETS) {
    if (given.has(name) || dryRun) {
      wranglerRun(dryRun, ["secret", "put", name], { input: given.get(name) ?? "", note: given.has(name) ? "from the environment" : "when given in the environment" });
    }
  }
  console.log(dryRun ? "End of plan." : `Deployed. Check it: GET /health, then GET /admin/status with an admin token (docs/operations.md).`);
}

// Run as a command, not when a check imports it.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { "dry-run": { type: "boolean", default: false } } });
  try {
    deploy(values["dry-run"] ?? false, process.env);
  } catch (error) {
    if (!(error instanceof Refusal)) throw error;
    console.error(`deploy: refused: ${error.message}`);
    process.exit(1);
  }
}
