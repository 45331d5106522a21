/**
 * Closed-loop throughput of the four ingest paths beside `GET /health` in the same run (autocannon,
 * 32 connections, 10 s each after a 3 s warm-up of each): `POST /purchases`, `POST /incentives/events`,
 * `POST /ads/events` clicks and `POST /user_tags`, every request a distinct event id. The baseline is
 * the mean of `/health` before and after, since a shared machine's load drifts during a run; the
 * load average is recorded beside the figures, since only ratios in one run compare. Between paths
 * the bench waits for the queue consumers to drain, so each figure carries its own consumer's cost
 * (the local runtime runs consumers on the same thread as requests) and not the previous path's.
 * In serve mode it also reads workerd's CPU time from /proc: CPU ms per request, consumers included.
 * Goals: purchases, incentive events and clicks ≥ 0.8×, tags ≥ 0.5×.
 */
import { readdirSync, readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { benchToken, load, loadHealth, meanOf, printTable, ratio, type LoadOptions, benchSeconds } from "./support/load.ts";
import { benchServer, triggerPort } from "./support/server.ts";
import { tagBodies } from "./user-tags.ts";
import { tallyClient, type TallyClient } from "../client/index.ts";

const PORT = 8814;
const SECONDS = benchSeconds(10);
const CONNECTIONS = 32;
const USERS = 5_000;
/** Incentive events go to the users the warm-up already created, so the figure is ingest, not object creation. */
const EMPLOYEES = 200;

const load1 = () => Number(loadavg()[0]!.toFixed(2));

/**
 * The workerd process serving `port` (serve mode runs every Worker, object and consumer in it), or
 * undefined (wrangler dev, `--url`, no /proc): then no CPU figures.
 */
function workerdServing(port: number): number | undefined {
  try {
    for (const pid of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
      try {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
        // Its command line names Miniflare's entry socket, which serve mode puts at the trigger port.
        if (cmdline.includes("workerd") && cmdline.includes(`127.0.0.1:${triggerPort(port)}`)) return Number(pid);
      } catch {
        // gone meanwhile
      }
    }
  } catch {
    // no /proc here
  }
  return undefined;
}

/** User plus system CPU of a process so far, in ms (the kernel counts in ticks of 10 ms). */
function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * Waits until the queue consumers have drained what the last path left behind (three `/health`
 * answers in a row under 50 ms, at most 20 s), so no path pays for the backlog of the one before.
 */
async function settle(api: TallyClient): Promise<void> {
  const deadline = Date.now() + 20_000;
  let quick = 0;
  while (quick < 3 && Date.now() < deadline) {
    const start = performance.now();
    await api.GET("/health");
    quick = performance.now() - start < 50 ? quick + 1 : 0;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export async function run(): Promise<Record<string, unknown>> {
  const server = await benchServer(PORT);
  const url = server.url;
  try {
    const admin = await benchToken("1", ["admin"]);
    const service = await benchToken("shop", ["service"]);
    const api = tallyClient(url, admin);
    const now = Date.now();
    // A live campaign on item 1, so every purchase qualifies and reaches a board, as in production.
    const campaign = await api.POST("/campaigns", {
      body: {
        campaignId: "1",
        itemId: "1",
        prize: { value: "100.00", currency: "EUR" },
        startDateTime: new Date(now - 3_600_000).toISOString(),
        endDateTime: new Date(now + 3_600_000).toISOString(),
      },
    });
    if (!campaign.data) throw new Error(`campaign: ${campaign.response.status} ${JSON.stringify(campaign.error)}`);
    const ad = await api.POST("/ads/campaigns", {
      body: {
        advertiserId: "1",
        name: "Bench",
        cpc: { value: "0.01", currency: "EUR" },
        totalBudget: { value: "10000000.00", currency: "EUR" },
        startDateTime: new Date(now - 60_000).toISOString(),
      },
    });
    if (!ad.data) throw new Error(`ad campaign: ${ad.response.status} ${JSON.stringify(ad.error)}`);
    const adCampaignId = ad.data.adCampaign.adCampaignId;

    let next = 0;
    const serviceHeaders = { authorization: `Bearer ${service}` };
    const paths: Array<Omit<LoadOptions, "durationSeconds" | "connections">> = [
      {
        name: "POST /purchases",
        url: `${url}/purchases`,
        method: "POST",
        headers: serviceHeaders,
        body: () => {
          const i = ++next;
          return JSON.stringify({
            purchaseId: `p-${i}`,
            userId: String((i % USERS) + 1),
            itemId: "1",
            amount: { value: String((i % 997) + 1), currency: "EUR" },
            timestamp: new Date(Date.now() - 1_000).toISOString(),
          });
        },
      },
      {
        name: "POST /incentives/events",
        url: `${url}/incentives/events`,
        method: "POST",
        headers: serviceHeaders,
        body: () => {
          const i = ++next;
          return JSON.stringify({
            eventId: `e-${i}`,
            userId: String((i % EMPLOYEES) + 1),
            employerId: "1",
            event: "data-logged",
            timestamp: new Date(Date.now() - (i % 30) * 86_400_000).toISOString(),
          });
        },
      },
      {
        name: "POST /ads/events click",
        url: `${url}/ads/events`,
        method: "POST",
        headers: serviceHeaders,
        // Every click a distinct user, so each one is charged.
        body: () => JSON.stringify({ type: "click", adCampaignId, userId: String(++next), timestamp: new Date().toISOString() }),
      },
      { name: "POST /user_tags", url: `${url}/user_tags`, method: "POST", body: tagBodies(1) },
    ];

    // Warm-up: neither side pays for first compilation or first object creation in the figures.
    await load({ name: "warm-up", url: `${url}/health`, durationSeconds: 3, connections: CONNECTIONS });
    for (const path of paths) await load({ ...path, name: "warm-up", durationSeconds: 3, connections: CONNECTIONS });
    await settle(api);

    // CPU of the runtime per request, counted until the consumers have drained what it queued.
    const workerd = workerdServing(Number(new URL(url).port));
    const cpuPerRequest = (startMs: number, requests: number) => Number(((cpuMs(workerd) - startMs) / requests).toFixed(2));
    const loadBefore = load1();
    const healthCpu = cpuMs(workerd);
    const healthBefore = await loadHealth(url, SECONDS, CONNECTIONS);
    const healthCpuMs = cpuPerRequest(healthCpu, healthBefore.requests);
    await settle(api);
    const measured = [];
    for (const path of paths) {
      const start = cpuMs(workerd);
      const result = await load({ ...path, durationSeconds: SECONDS, connections: CONNECTIONS });
      const loadAverage = load1();
      // While the load runs (consumers partly), then with what the consumers drain afterwards.
      const cpuMsWhileLoaded = cpuPerRequest(start, result.requests);
      await settle(api);
      measured.push({ ...result, loadAverage, cpuMsWhileLoaded, cpuMsPerRequest: cpuPerRequest(start, result.requests) });
    }
    const healthAfter = await loadHealth(url, SECONDS, CONNECTIONS);
    const loadAfter = load1();
    const health = meanOf("GET /health (before and after)", healthBefore, healthAfter);
    printTable([{ ...healthBefore, loadAverage: loadBefore, cpuMsPerRequest: healthCpuMs }, ...measured, { ...healthAfter, loadAverage: loadAfter }]);
    const ratios = measured.map((m) => ratio(m, health));
    printTable(ratios);
    return { mode: server.mode, connections: CONNECTIONS, seconds: SECONDS, health, healthBefore, healthAfter, healthCpuMs, measured, ratios, loadBefore, loadAfter };
  } finally {
    await server.stop();
  }
}

if (import.meta.main) await run();
