/**
 * Ad campaign performance against the local runtime, beside `GET /health` in the same run: the
 * clicks per second one `AdCampaign` object charges over HTTP (every click a distinct user, so
 * each is charged) and the impressions per second it records. Afterwards the campaign's own
 * report is read back, so the figures are checked against what was actually charged. The
 * baseline is the mean of `/health` measured before and after, since a shared machine's load drifts.
 */
import { benchToken, load, loadHealth, meanOf, printTable, ratio } from "./support/load.ts";
import { benchServer } from "./support/server.ts";

const PORT = 8794;
const DURATION_SECONDS = 8;

async function post(url: string, path: string, body: unknown, token?: string): Promise<Response> {
  return fetch(`${url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
}

interface PerformanceTotals {
  impressions: number;
  clicks: number;
  chargedClicks: number;
  spend: { value: string; currency: string };
}

async function totalsOf(url: string, adCampaignId: string, from: number): Promise<PerformanceTotals> {
  const hour = 3_600_000;
  const start = new Date(Math.floor(from / hour) * hour).toISOString();
  const end = new Date(Math.floor(Date.now() / hour + 2) * hour).toISOString();
  const response = await fetch(`${url}/ads/campaigns/${adCampaignId}/performance?time_range=${start}_${end}&granularity=hour`);
  if (response.status !== 200) throw new Error(`performance: ${response.status}`);
  return ((await response.json()) as { totals: PerformanceTotals }).totals;
}

export async function run(): Promise<Record<string, unknown>> {
  const server = await benchServer(PORT);
  try {
    const admin = await benchToken("1", ["admin"]);
    const service = { authorization: `Bearer ${await benchToken("shop", ["service"])}` };
    const startedAt = Date.now();
    const created = await post(
      server.url,
      "/ads/campaigns",
      {
        advertiserId: "1",
        name: "Bench",
        cpc: { value: "0.01", currency: "EUR" },
        totalBudget: { value: "10000000.00", currency: "EUR" },
        startDateTime: new Date(startedAt - 60_000).toISOString(),
      },
      admin,
    );
    if (created.status !== 201) throw new Error(`create: ${created.status} ${await created.text()}`);
    const { adCampaign } = (await created.json()) as { adCampaign: { adCampaignId: string } };
    const adCampaignId = adCampaign.adCampaignId;

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

    const healthAfter = await loadHealth(server.url, DURATION_SECONDS);
    // The machine's load drifts during a run; the baseline is /health measured before and after.
    const health = meanOf("GET /health (before and after)", healthBefore, healthAfter);

    const totals = await totalsOf(server.url, adCampaignId, startedAt);
    const results = [healthBefore, clicks, impressions, healthAfter];
    printTable(results.map((r) => ({ ...r })));
    const ratios = [ratio(clicks, health), ratio(impressions, health)];
    printTable(ratios);
    const check = {
      clicksRecorded: totals.clicks,
      clicksCharged: totals.chargedClicks,
      spend: `${totals.spend.value} ${totals.spend.currency}`,
      impressionsRecorded: totals.impressions,
      everyClickCharged: totals.clicks === totals.chargedClicks,
    };
    printTable([check]);
    return { health, clicks, impressions, ratios, check };
  } finally {
    await server.stop();
  }
}

if (import.meta.main) await run();
