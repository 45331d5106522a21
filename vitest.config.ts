import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Offline and private: no usage metrics, no request.cf lookups over the network.
process.env.WRANGLER_SEND_METRICS ??= "false";
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";

const migrations = await readD1Migrations("./migrations");

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
    include: ["test/**/*.test.ts"],
    setupFiles: ["./test/clock-offset.ts", "./test/apply-migrations.ts"],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
