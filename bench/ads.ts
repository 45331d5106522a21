/**
 * Ad campaign performance against the local runtime, beside `GET /health` in the same run: the
 * clicks per second one `AdCampaign` object charges over HTTP (every click a distinct user, so
 * each is charged) and the impressions per second it records. Afterwards the campaign's own
 * report is read back, so the figures are checked against what was actually charged. Then
 * `GET /ads/serve` with 200 active campaigns (a fifth of them capped, a fifth even-paced). The
 * baseline is the mean of `/health` measured before and after, since a shared machine's load drifts.
 */
import { benchToken, load, loadHealth, meanOf, printTable, ratio, benchSeconds } from "./support/load.ts";
import { tallyClient, type components, type TallyClient } from "../client/index.ts";
import { benchServer } from "./support/server.ts";

const PORT = 8794;
const DURATION_SECONDS = benchSeconds(8);
const SERVE_CAMPAIGNS = 200;

type PerformanceTotals = components["schemas"]["AdPerformance"]["totals"];

async function totalsOf(api: TallyClient, adCampaignId: string, from: number): Promise<PerformanceTotals> {
  const hour = 3_600_000;
  const start = new Date(Math.floor(from / hour) * hour).toISOString();
  const end = new Date(Math.floor(Date.now() / hour + 2) * hour).toISOString();
  const { data, response } = await api.GET("/ads/campaigns/{id}/performance", {
    params: { path: { id: adCampaignId }, query: { time_range: `${start}_${end}`, granularity: "hour" } },
  });
  if (!data) throw new Error(`performance: ${response.status}`);
  return data.totals;
}

export async function run(): Promise<Record<string, unknown>> {
  const server = await benchServer(PORT);
  try {
    const admin = await benchToken("1", ["admin"]);
    const service = { authorization: `Bearer ${await benchToken("shop", ["service"])}` };
    const startedAt = Date.now();
    const api = tallyClient(server.url, admin);
    const created = await api.POST("/ads/campaigns", {
      body: {
        advertiserId: "1",
        name: "Bench",
        cpc: { value: "0.01", currency: "EUR" },
        totalBudget: { value: "10000000.00", currency: "EUR" },
        startDateTime: new Date(startedAt - 60_000).toISOString(),
      },
    });
    if (!created.data) throw new Error(`create: ${created.response.status} ${JSON.stringify(created.error)}`);
    const adCampaignId = created.data.adCampaign.adCampaignId;

    const healthBefore = await loadHealth(server.url, DURATION_SECONDS);
    let nextUser = 0;
    const clicks = await load({
      name: "POST /ads/events click (one AdCampaign)",
      url: `${server.url}/ads/events`,
      method: "POST",
      headers: service,
      body: () => JSON.stringify({ type: "click", adCampaignId, userId: String(++nextUser), timestamp: new Date().toISOString() }),
      durationSeconds: DURATION_SECONDS,
    });
    const impressions = await load({
      name: "POST /ads/events impression (one AdCampaign)",
      url: `${server.url}/ads/events`,
      method: "POST",
      headers: service,
      body: () => JSON.stringify({ type: "impression", adCampaignId, userId: String(++nextUser % 10_000), timestamp: new Date().toISOString() }),
      durationSeconds: DURATION_SECONDS,
    });

    for (let i = 0; i < SERVE_CAMPAIGNS; i++) {
      const { response } = await api.POST("/ads/campaigns", {
        body: {
          advertiserId: "2",
          name: `Serve ${i}`,
          cpc: { value: (0.05 + (i % 50) / 100).toFixed(2), currency: "EUR" },
          dailyBudget: { value: "100.00", currency: "EUR" },
          totalBudget: { value: "1000.00", currency: "EUR" },
          startDateTime: new Date(startedAt - 60_000).toISOString(),
          ...(i % 5 === 0 ? { frequencyCap: { impressionsPerUserPerDay: 3 } } : {}),
          ...(i % 5 === 1 ? { pacing: "even" as const } : {}),
        },
        headers: { authorization: `Bearer ${admin}` },
      });
      if (response.status !== 201) throw new Error(`create serve campaign: ${response.status} ${await response.text()}`);
    }
    // One viewer with impressions of the capped campaigns, so the cap is read, not skipped.
    for (let i = 0; i < 3; i++) {
      await api.POST("/ads/events", { body: { type: "impression", adCampaignId, userId: "77", timestamp: new Date().toISOString() }, headers: service });
    }
    const serve = await load({
      name: `GET /ads/serve slots=5 (${SERVE_CAMPAIGNS + 1} active campaigns)`,
      url: `${server.url}/ads/serve?userId=77&slots=5`,
      method: "GET",
      headers: service,
      durationSeconds: DURATION_SECONDS,
    });

    const healthAfter = await loadHealth(server.url, DURATION_SECONDS);
    // The machine's load drifts during a run; the baseline is /health measured before and after.
    const health = meanOf("GET /health (before and after)", healthBefore, healthAfter);

    const totals = await totalsOf(api, adCampaignId, startedAt);
    const results = [healthBefore, clicks, impressions, serve, healthAfter];
    printTable(results.map((r) => ({ ...r })));
    const ratios = [ratio(clicks, health), ratio(impressions, health), ratio(serve, health)];
    printTable(ratios);
    const check = {
      clicksRecorded: totals.clicks,
      clicksCharged: totals.chargedClicks,
      spend: `${totals.spend.value} ${totals.spend.currency}`,
      impressionsRecorded: totals.impressions,
      everyClickCharged: totals.clicks === totals.chargedClicks,
    };
    printTable([check]);
    return { health, clicks, impressions, serve, ratios, check };
  } finally {
    await server.stop();
  }
}

if (import.meta.main) await run();
