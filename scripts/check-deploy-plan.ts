/**
 * `npm run test:deploy-plan` (run by .ci/run): `npm run deploy -- --dry-run` prints the whole
 * plan an empty account needs — every queue and dead-letter queue of wrangler.toml, the database, the
 * migrations, the deploy — and refuses example or test secrets before any command. No network: the dry
 * run only reads wrangler.toml. Exit code 1 on the first failed expectation.
 */
import { spawnSync } from "node:child_process";
import assert from "node:assert/strict";
import { join } from "node:path";
import { readDeployConfig, REQUIRED_SECRETS } from "./deploy.ts";
import { root } from "./dev-vars.ts";

function dryRun(env: Record<string, string>): { status: number | null; out: string } {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !(REQUIRED_SECRETS as readonly string[]).includes(name)));
  const result = spawnSync(process.execPath, [join(root, "scripts", "deploy.ts"), "--dry-run"], {
    cwd: root,
    encoding: "utf8",
    // No credentials: a dry run that tried the network would fail here rather than reach an account.
    env: { ...clean, CLOUDFLARE_API_TOKEN: "", CLOUDFLARE_ACCOUNT_ID: "", ...env },
  });
  return { status: result.status, out: `${result.stdout}${result.stderr}` };
}

const strong = {
  JWT_SECRET: `${"k".repeat(20)}Qx9-secret-for-the-plan-check-1`,
  VOUCHER_SECRET: `${"v".repeat(20)}Qx9-secret-for-the-plan-check-2`,
  WEBHOOK_ENCRYPTION_KEY: `${"w".repeat(20)}Qx9-secret-for-the-plan-check-3`,
};
const config = readDeployConfig();

// The full plan, in order.
const plan = dryRun(strong);
assert.equal(plan.status, 0, plan.out);
const commands = plan.out.split("\n").filter((line) => line.startsWith("$ wrangler ")).map((line) => line.replace(/\s+#.*$/, ""));
const expected = [
  "$ wrangler whoami",
  "$ wrangler secret list --format json",
  "$ wrangler d1 list --json",
  `$ wrangler d1 create ${config.database.name}`,
  "$ wrangler queues list",
  ...config.queues.map((queue) => `$ wrangler queues create ${queue}`),
  `$ wrangler d1 migrations apply ${config.database.binding} --remote`,
  "$ wrangler deploy",
  "$ wrangler secret put JWT_SECRET < (value from the environment)",
  "$ wrangler secret put VOUCHER_SECRET < (value from the environment)",
  "$ wrangler secret put WEBHOOK_ENCRYPTION_KEY < (value from the environment)",
];
assert.deepEqual(commands, expected);
// Every dead-letter queue is in it, not only the producers.
assert.ok(config.queues.includes("dead-letters"), "wrangler.toml's dead-letter queue is planned");
for (const value of Object.values(strong)) assert.ok(!plan.out.includes(value), "a secret's value is never printed");

// Example, test and short secrets are refused before any command.
for (const [name, value, reason] of [
  ["JWT_SECRET", "dev-only-jwt-secret-change-me", /public example value/],
  ["VOUCHER_SECRET", "test-voucher-secret", /value the tests use/],
  ["JWT_SECRET", "short", /shorter than 32/],
  ["WEBHOOK_ENCRYPTION_KEY", "dev-only-webhook-encryption-key-change-me", /public example value/],
] as const) {
  const refused = dryRun({ ...strong, [name]: value });
  assert.equal(refused.status, 1, `${name}=${value} was accepted:\n${refused.out}`);
  assert.match(refused.out, reason);
  assert.ok(!refused.out.includes("$ wrangler"), "refused before any wrangler command");
}

console.log(`deploy plan: ${commands.length} commands, ${config.queues.length} queues; example secrets refused`);
