import { readdirSync, readFileSync } from "node:fs";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Offline and private: no usage metrics, no request.cf lookups over the network.
process.env.WRANGLER_SEND_METRICS ??= "false";
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";

const migrations = await readD1Migrations("./migrations");

/**
 * Every package the tested code and the tests import by a bare name (`zod`, `hono/cors`), found in the
 * source so a new import needs no edit here. They are pre-bundled once per run (below): each test file
 * starts a workerd of its own, which otherwise fetches and evaluates hundreds of node_modules files one
 * RPC at a time — about half of a file's setup. Listing every subpath matters: one left out would load
 * unbundled beside the bundle, a second copy of the package (and `instanceof HTTPException` would fail).
 */
function bareImports(): string[] {
  const found = new Set<string>();
  const statement = /^\s*(?:import|export)(?!\s+type\b)[^"';]*?\bfrom\s+"([^"]+)"|^\s*import\s+"([^"]+)"/gm;
  for (const dir of ["workers", "durable-objects", "shared", "client", "test"]) {
    for (const file of readdirSync(dir, { recursive: true, encoding: "utf8" })) {
      if (!file.endsWith(".ts") || file.endsWith(".d.ts")) continue;
      for (const match of readFileSync(`${dir}/${file}`, "utf8").matchAll(statement)) {
        const name = match[1] ?? match[2]!;
        // Relative paths are our code; `cloudflare:`/`node:` modules are the runtime's; vitest is the runner.
        if (!name.startsWith(".") && !name.includes(":") && !/^@?vitest\b/.test(name)) found.add(name);
      }
    }
  }
  return [...found].sort();
}

/** Integration files that need storage nobody else wrote to (see the `integration-isolated` project). */
const NEEDS_EMPTY_STORAGE = [
  "test/ads/ad-billing-integration.test.ts",
  "test/ads/ad-edit-serve-integration.test.ts",
  "test/ads/ad-impressions-integration.test.ts",
  "test/connections/rewards-faults-integration.test.ts",
  "test/connections/rewards-integration.test.ts",
  "test/platform/status-integration.test.ts",
  "test/user-tags/profile-store-integration.test.ts",
];

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        bindings: {
          JWT_SECRET: "test-jwt-secret",
          VOUCHER_SECRET: "test-voucher-secret",
          WEBHOOK_ENCRYPTION_KEY: "test-webhook-encryption-key", ALLOW_LOCAL_WEBHOOKS: "true",
          SETTLE_DELAY_SECONDS: "0",
          LOCAL_MODE: "true",
          TEST_MIGRATIONS: migrations,
          // Days to move "now" forward for the whole run (test/clock-offset.ts); `npm run test:clock -- 400`.
          TEST_CLOCK_OFFSET_DAYS: process.env.TEST_CLOCK_OFFSET_DAYS ?? "0",
        },
      },
    }),
  ],
  test: {
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // Vitest's default is one fewer than the cores: a single worker on a 2-core machine, while much of a
    // file's time is spent waiting (workerd starting, queue consumers, RPC to this process). Two overlap it.
    // `VITEST_MAX_WORKERS=n npm test` overrides it.
    maxWorkers: 2,
    // Console lines go straight to the terminal: workerds now outlive a file, and a line a file's background
    // work logs after its last test (a waitUntil) must not find the file's reporting channel closed.
    disableConsoleIntercept: true,
    deps: { optimizer: { ssr: { enabled: true, include: bareImports() } } },
    projects: [
      {
        // Files named *-unit.test.ts test code without bindings (no env, SELF, D1 or Durable Objects): they
        // share one workerd and its loaded modules instead of starting one each. A test that needs storage
        // is an -integration test.
        extends: true,
        test: { name: "unit", include: ["test/**/*-unit.test.ts"], isolate: false, setupFiles: ["./test/clock-offset.ts"] },
      },
      {
        // Integration files share a workerd per pool worker (and its D1, Durable Objects and queues): a new
        // workerd per file cost about 3.5 CPU s of setup each, most of the suite's time. Their tests work on
        // ids of their own (`test/support/ids.ts`), so what another file left behind does not change them.
        extends: true,
        test: {
          name: "integration",
          include: ["test/**/*.test.ts"],
          exclude: ["test/**/*-unit.test.ts", ...NEEDS_EMPTY_STORAGE],
          setupFiles: ["./test/clock-offset.ts", "./test/apply-migrations.ts"],
          isolate: false,
        },
      },
      {
        // The files that assert on everything in a table or a catalogue (every closed billing day, every ad served,
        // offer, every redemption, all settlements overdue) or on storage never written: each gets a
        // workerd of its own, so its D1, Durable Objects and queues start empty.
        extends: true,
        test: {
          name: "integration-isolated",
          include: NEEDS_EMPTY_STORAGE,
          setupFiles: ["./test/clock-offset.ts", "./test/apply-migrations.ts"],
        },
      },
    ],
  },
});
