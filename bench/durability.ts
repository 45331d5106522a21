/**
 * Local durability, measured (`npm run bench -- durability`): starts the production-like server
 * (`scripts/serve.ts`, what `startServer` runs) with its state on disk, sends a stream of purchases,
 * user tags and incentive events, kills the server with SIGKILL mid-stream, starts it again on the
 * same state and counts what was acknowledged (2xx) but is missing once the queues have drained:
 * purchases on the leaderboard, tags in their profiles, incentive events in the users' streaks.
 *
 * Locally Miniflare keeps queues in memory, so messages acknowledged but not yet consumed when the
 * process dies are lost; in production Cloudflare Queues hold them durably. The count says how many.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { benchToken, printTable } from "./support/load.ts";
import { BENCH_VARS, targetFromArgs, waitForHealth } from "./support/server.ts";
import { tallyClient } from "../client/index.ts";

const PORT = targetFromArgs().port ?? 8811;
const URL_BASE = `http://127.0.0.1:${PORT}`;
const root = join(import.meta.dirname, "..");
/** Sent per kind before the kill lands; the leaderboard read covers up to 1000 users. */
const PER_KIND = 900;
const KILL_AFTER_MS = 15_000;
const CONCURRENCY = 8;
const DRAIN_MS = 20_000;
const CAMPAIGN = "900001";
const ITEM = "900002";
const EMPLOYER = "1";

/** The server in its own process group, so SIGKILL reaches workerd under it too. */
function launch(state: string): ChildProcess {
  const vars = Object.entries(BENCH_VARS).flatMap(([k, v]) => ["--var", `${k}:${v}`]);
  return spawn(process.execPath, [join(root, "scripts", "serve.ts"), "--port", String(PORT), "--state", state, "--quiet", ...vars], {
    cwd: root,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
    stdio: ["ignore", "ignore", "inherit"],
    detached: true,
  });
}

async function start(state: string): Promise<ChildProcess> {
  const child = launch(state);
  await waitForHealth(URL_BASE, () => child.exitCode !== null);
  return child;
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // Already gone.
  }
}

/** Whether a call was acknowledged (2xx); a network failure or a timeout is not. */
async function acknowledged(call: Promise<{ response: Response }>): Promise<boolean> {
  try {
    return (await call).response.ok;
  } catch {
    return false;
  }
}

export async function run(): Promise<Record<string, unknown>> {
  const state = mkdtempSync(join(tmpdir(), "tally-durability-"));
  let server: ChildProcess | undefined;
  try {
    server = await start(state);
    const admin = tallyClient(URL_BASE, await benchToken("1", ["admin"]));
    const service = tallyClient(URL_BASE, await benchToken("shop", ["service"]));
    const anonymous = tallyClient(URL_BASE);
    const signal = () => AbortSignal.timeout(10_000);
    const now = Date.now();
    const created = await acknowledged(
      admin.POST("/campaigns", {
        body: {
          campaignId: CAMPAIGN,
          itemId: ITEM,
          prize: { value: "10.00", currency: "EUR" },
          startDateTime: new Date(now - 3_600_000).toISOString(),
          endDateTime: new Date(now + 3_600_000).toISOString(),
        },
      }),
    );
    if (!created) throw new Error("could not create the campaign");

    // One user (or cookie) per event, so each acknowledged event has one place to be found.
    const acked = { purchases: [] as number[], tags: [] as number[], events: [] as number[] };
    const sends: Array<() => Promise<void>> = [];
    for (let i = 0; i < PER_KIND; i++) {
      const at = new Date(Date.now() - 60_000).toISOString();
      sends.push(async () => {
        const body = { purchaseId: `dur-${i}`, userId: String(100_000 + i), itemId: ITEM, amount: { value: "1.00", currency: "EUR" }, timestamp: at };
        if (await acknowledged(service.POST("/purchases", { body, signal: signal() }))) acked.purchases.push(i);
      });
      sends.push(async () => {
        const tag = { time: at, cookie: `dur-${i}`, country: "PL", device: "PC", action: "VIEW", origin: "durability",
          product_info: { product_id: 1, brand_id: "b", category_id: "c", price: 1 } } as const;
        if (await acknowledged(anonymous.POST("/user_tags", { body: tag, signal: signal() }))) acked.tags.push(i);
      });
      sends.push(async () => {
        const event = { eventId: `dur-${i}`, userId: String(200_000 + i), employerId: EMPLOYER, event: "data-logged", timestamp: at };
        if (await acknowledged(service.POST("/incentives/events", { body: event, signal: signal() }))) acked.events.push(i);
      });
    }
    const killer = setTimeout(() => killGroup(server!, "SIGKILL"), KILL_AFTER_MS);
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < sends.length) await sends[next++]!();
      }),
    );
    clearTimeout(killer);
    killGroup(server, "SIGKILL");
    await new Promise((resolve) => setTimeout(resolve, 1_000));

    server = await start(state);
    await new Promise((resolve) => setTimeout(resolve, DRAIN_MS));

    const top = await admin.GET("/records/top/{n}/{campaignId}", { params: { path: { n: 1000, campaignId: CAMPAIGN } } });
    const ranked = new Set(top.data?.records.positions.map((p) => p.userId) ?? []);
    const missingPurchases = acked.purchases.filter((i) => !ranked.has(String(100_000 + i))).length;

    const range = `${new Date(now - 3_600_000).toISOString().slice(0, 19)}_${new Date(Date.now() + 60_000).toISOString().slice(0, 19)}`;
    let missingTags = 0;
    for (const i of acked.tags) {
      const profile = await anonymous.POST("/user_profiles/{cookie}", { params: { path: { cookie: `dur-${i}` }, query: { time_range: range, limit: 10 } } });
      if (!profile.data || profile.data.views.length === 0) missingTags++;
    }
    let missingEvents = 0;
    for (const i of acked.events) {
      const streaks = await admin.GET("/users/{userId}/streaks", { params: { path: { userId: String(200_000 + i) } } });
      if (!streaks.data || streaks.data.streaks.length === 0) missingEvents++;
    }
    const rows = [
      { kind: "purchases", acknowledged: acked.purchases.length, missingAfterRestart: missingPurchases },
      { kind: "user tags", acknowledged: acked.tags.length, missingAfterRestart: missingTags },
      { kind: "incentive events", acknowledged: acked.events.length, missingAfterRestart: missingEvents },
    ];
    printTable(rows);
    return { killAfterMs: KILL_AFTER_MS, drainMs: DRAIN_MS, rows };
  } finally {
    if (server) killGroup(server, "SIGINT");
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    if (server) killGroup(server, "SIGKILL");
    rmSync(state, { recursive: true, force: true });
  }
}
