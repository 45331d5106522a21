/**
 * Demo data for a local run, loaded through the public API so it exercises the same paths as
 * clients. Fixed ids make it safe to load again: a second run finds everything in place.
 */
import { sign } from "hono/jwt";
import { tallyClient, type paths, type TallyClient } from "../client/index.ts";
import { DAY_MS } from "../shared/time.ts";

type Api = TallyClient;

/** Fails unless the call answered one of the statuses `ok`; returns its result. */
async function expect<T extends { response: Response; error?: unknown }>(call: Promise<T>, what: string, ok: number[]): Promise<T> {
  const result = await call;
  if (!ok.includes(result.response.status)) throw new Error(`${what}: ${result.response.status} ${JSON.stringify(result.error)}`);
  return result;
}

const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

/** The demo buyers' display names (set with `PUT /users/{id}/profile`, as a user would). */
const DEMO_NAMES: Record<string, string> = { "42": "Ada Lovelace", "43": "Grace Hopper", "44": "Alan Turing", "45": "Edsger Dijkstra" };

type NewCampaign = Omit<paths["/campaigns"]["post"]["requestBody"]["content"]["application/json"], "campaignId">;

async function ensureCampaign(api: Api, campaignId: string, make: () => NewCampaign) {
  const existing = await api.GET("/campaigns/{campaignId}", { params: { path: { campaignId } } });
  if (existing.data) return existing.data.campaign;
  const created = await expect(api.POST("/campaigns", { body: { campaignId, ...make() } }), `campaign ${campaignId}`, [201]);
  return created.data!.campaign;
}

async function loadCampaigns(api: Api, ingest: Api): Promise<string> {
  const now = Date.now();
  await api.PUT("/exchange-rates", { body: { base: "EUR", rates: { USD: "1.0850", GBP: "0.8610", JPY: "161.20" }, effectiveFrom: "2026-01-01T00:00:00Z" } });
  const weekly = await ensureCampaign(api, "1", () => ({
    itemId: "1001",
    prize: { value: "500.00", currency: "EUR" },
    startDateTime: iso(now - HOUR),
    endDateTime: iso(now + 7 * 24 * HOUR),
  }));
  await ensureCampaign(api, "2", () => ({
    itemId: "1002",
    prize: { value: "120.00", currency: "USD" },
    startDateTime: iso(now + 7 * 24 * HOUR),
    endDateTime: iso(now + 14 * 24 * HOUR),
  }));
  const sprint = await ensureCampaign(api, "3", () => ({
    itemId: "1003",
    prize: { value: "25.00", currency: "GBP" },
    startDateTime: iso(now - HOUR),
    endDateTime: iso(now + 2 * 60_000),
  }));
  // Display names, so leaderboards (and the leaderboard page) show people rather than bare ids.
  for (const [userId, displayName] of Object.entries(DEMO_NAMES)) {
    await expect(api.PUT("/users/{userId}/profile", { params: { path: { userId } }, body: { displayName } }), `name of user ${userId}`, [200]);
  }
  const weeklyStart = Date.parse(weekly.startDateTime);
  const sprintStart = Date.parse(sprint.startDateTime);
  const purchases = [
    { userId: "42", itemId: "1001", amount: { value: "19.99", currency: "EUR" }, at: weeklyStart + 60_000 },
    { userId: "43", itemId: "1001", amount: { value: "25.00", currency: "USD" }, at: weeklyStart + 120_000 },
    { userId: "44", itemId: "1001", amount: { value: "3000", currency: "JPY" }, at: weeklyStart + 180_000 },
    { userId: "42", itemId: "1001", amount: { value: "5.01", currency: "EUR" }, at: weeklyStart + 240_000 },
    { userId: "45", itemId: "1001", amount: { value: "18.40", currency: "GBP" }, at: weeklyStart + 300_000 },
    { userId: "43", itemId: "1003", amount: { value: "7.50", currency: "GBP" }, at: sprintStart + 60_000 },
    { userId: "44", itemId: "1003", amount: { value: "9.00", currency: "GBP" }, at: sprintStart + 90_000 },
  ];
  for (const [i, p] of purchases.entries()) {
    const body = { purchaseId: `demo-purchase-${i + 1}`, userId: p.userId, itemId: p.itemId, amount: p.amount, timestamp: iso(p.at) };
    await expect(ingest.POST("/purchases", { body }), `purchase ${i + 1}`, [202]);
  }
  return [
    "Campaigns: 1 (active a week, EUR), 2 (scheduled, USD), 3 (ends two minutes after the first start, then settles); buyers 42-45 have display names.",
    "  curl localhost:8787/records/top/10/1",
  ].join("\n");
}

async function loadUserTags(api: Api): Promise<string> {
  const base = Date.now() - 10 * 60_000;
  for (let i = 0; i < 20; i++) {
    await expect(
      api.POST("/user_tags", { body: {
        time: iso(base + i * 15_000),
        cookie: `demo-cookie-${i % 3}`,
        country: "PL",
        device: i % 2 ? "PC" : "MOBILE",
        action: i % 4 === 0 ? "BUY" : "VIEW",
        origin: `origin-${i % 2}`,
        product_info: { product_id: String(100 + i), brand_id: `brand-${i % 3}`, category_id: "shoes", price: 1000 + i * 10 },
      } }),
      `user tag ${i}`,
      [204],
    );
  }
  return "User tags: 20 for cookies demo-cookie-0..2 over the last 10 minutes.\n  curl -X POST 'localhost:8787/user_profiles/demo-cookie-0?time_range=2020-01-01T00:00:00_2030-01-01T00:00:00'";
}

async function loadAds(api: Api, ingest: Api): Promise<string> {
  await expect(
    api.POST("/ads/campaigns", { body: {
      adCampaignId: "1",
      advertiserId: "9",
      name: "Winter boots",
      cpc: { value: "0.30", currency: "EUR" },
      dailyBudget: { value: "10.00", currency: "EUR" },
      totalBudget: { value: "50.00", currency: "EUR" },
      startDateTime: "2026-01-01T00:00:00Z",
    } }),
    "ad campaign",
    [201, 409],
  );
  const now = Date.now();
  for (let i = 0; i < 10; i++) {
    await expect(
      ingest.POST("/ads/events", { body: { eventId: `demo-ad-${i}`, type: i % 3 === 2 ? "click" : "impression", adCampaignId: "1", userId: String(40 + i), timestamp: iso(now - i * 1000) } }),
      `ad event ${i}`,
      [202, 409],
    );
  }
  // Even pacing and a frequency cap of 2: user 40 has seen it twice today, so serving skips it for them.
  await expect(
    api.POST("/ads/campaigns", { body: {
      adCampaignId: "2",
      advertiserId: "9",
      name: "Rain jackets (even pacing, 2 a day per user)",
      cpc: { value: "0.40", currency: "EUR" },
      dailyBudget: { value: "5.00", currency: "EUR" },
      totalBudget: { value: "100.00", currency: "EUR" },
      startDateTime: "2026-01-01T00:00:00Z",
      frequencyCap: { impressionsPerUserPerDay: 2 },
      pacing: "even",
    } }),
    "ad campaign 2",
    [201, 409],
  );
  for (let i = 0; i < 2; i++) {
    await expect(
      ingest.POST("/ads/events", { body: { eventId: `demo-ad2-${i}`, type: "impression", adCampaignId: "2", userId: "40", timestamp: iso(now - i * 1000) } }),
      `ad 2 impression ${i}`,
      [202, 409],
    );
  }
  return (
    "Ads: campaign 1 with a few impressions and clicks; campaign 2 even-paced and capped at 2 impressions per user a day.\n" +
    "  curl localhost:8787/ads/campaigns/1\n" +
    "  curl -H \"authorization: Bearer $(npm run -s token -- --sub shop --roles service)\" 'localhost:8787/ads/serve?userId=40&slots=5'   # 1 only: user 40 saw 2 twice today; userId=41 gets 2 and 1"
  );
}

async function loadIncentives(api: Api, ingest: Api): Promise<string> {
  await expect(
    api.POST("/incentives", { body: { incentiveId: "1", name: "Five days of logging", description: "Log data five days in a row", rule: { kind: "streak", event: "data-logged", days: 5 } } }),
    "incentive 1",
    [201, 409],
  );
  await expect(
    api.POST("/incentives", { body: { incentiveId: "2", name: "New parent", description: "Report a birth", rule: { kind: "once", event: "birth-reported" } } }),
    "incentive 2",
    [201, 409],
  );
  for (const incentiveId of ["1", "2"]) {
    await expect(
      api.POST("/employers/{employerId}/programs/{programId}/incentives", {
        params: { path: { employerId: "7", programId: "1" } },
        body: { incentiveId, reward: { description: incentiveId === "1" ? "Pregnancy pillow" : "Baby blanket" } },
      }),
      `employer incentive ${incentiveId}`,
      [201, 409],
    );
  }
  // Five days in a row ending five days ago, dated from today so the events stay inside the 400 days accepted.
  const day = DAY_MS;
  const start = Math.floor(Date.now() / day) * day - 9 * day + 9 * 3_600_000;
  for (let d = 0; d < 5; d++) {
    await expect(
      ingest.POST("/incentives/events", { body: { eventId: `demo-log-42-${d}`, userId: "42", employerId: "7", event: "data-logged", timestamp: iso(start + d * day) } }),
      `incentive event ${d}`,
      [202, 409],
    );
  }
  return "Incentives: employer 7 rewards 5-day logging streaks; user 42 has one.\n  curl localhost:8787/users/42/awards -H \"authorization: Bearer $(npm run -s token -- --sub 42 --roles citizen)\"";
}

async function loadRewards(api: Api): Promise<string> {
  await expect(api.POST("/offers", { body: { offerId: "coffee", retailer: "Corner Cafe", title: "Free coffee", pointsCost: 5, stock: 100 } }), "offer", [201, 409]);
  await expect(api.POST("/charities", { body: { charityId: "food-bank", name: "City Food Bank" } }), "charity", [201, 409]);
  return "Rewards: offer coffee (5 points), charity food-bank.\n  curl localhost:8787/offers";
}

/** Loads every system's demo data; returns a short summary for the console. */
export async function loadDemoData(url: string, jwtSecret: string): Promise<string> {
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const api = tallyClient(url, await sign({ sub: "1", roles: ["admin"], exp }, jwtSecret, "HS256"));
  // Purchases, ad events and incentive events come from a trusted backend, as in production.
  const ingest = tallyClient(url, await sign({ sub: "shop", roles: ["service"], exp }, jwtSecret, "HS256"));
  const parts = [
    await loadCampaigns(api, ingest),
    await loadUserTags(api),
    await loadAds(api, ingest),
    await loadIncentives(api, ingest),
    await loadRewards(api),
  ];
  return parts.join("\n");
}

/** The pages, opened on the demo data's ids, for `npm start` and `npm run serve` to print beside the API's URL. */
export function pageUrls(url: string): string {
  return [
    `Pages: ${url}/ui/  (sign in with a token from npm run token)`,
    `  leaderboard ${url}/ui/campaigns/1   ads ${url}/ui/ads/1   analytics ${url}/ui/analytics`,
    `  employer ${url}/ui/employers/7   connections ${url}/ui/connections   status ${url}/ui/status`,
  ].join("\n");
}
