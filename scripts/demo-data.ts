/**
 * Demo data for a local run, loaded through the public API so it exercises the same paths as
 * clients. Fixed ids make it safe to load again: a second run finds everything in place.
 */
import { sign } from "hono/jwt";

/** Loose on purpose: the demo only reads a few fields back. */
type Answer = { status: number; body: { campaign: { startDateTime: string } } & Record<string, unknown> };
type Api = (method: string, path: string, body?: unknown) => Promise<Answer>;

function client(url: string, token: string): Api {
  return async (method, path, body) => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as Answer["body"]) : ({} as Answer["body"]) };
  };
}

const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

async function ensureCampaign(api: Api, campaignId: string, make: () => Record<string, unknown>) {
  const existing = await api("GET", `/campaigns/${campaignId}`);
  if (existing.status === 200) return existing.body.campaign;
  const created = await api("POST", "/campaigns", { campaignId, ...make() });
  if (created.status !== 201) throw new Error(`campaign ${campaignId}: ${created.status} ${JSON.stringify(created.body)}`);
  return created.body.campaign;
}

async function loadCampaigns(api: Api): Promise<string> {
  const now = Date.now();
  await api("PUT", "/exchange-rates", { base: "EUR", rates: { USD: "1.0850", GBP: "0.8610", JPY: "161.20" }, effectiveFrom: "2026-01-01T00:00:00Z" });
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
    const answer = await api("POST", "/purchases", {
      purchaseId: `demo-purchase-${i + 1}`,
      userId: p.userId,
      itemId: p.itemId,
      amount: p.amount,
      timestamp: iso(p.at),
    });
    if (answer.status !== 202) throw new Error(`purchase ${i + 1}: ${answer.status} ${JSON.stringify(answer.body)}`);
  }
  return [
    "Campaigns: 1 (active a week, EUR), 2 (scheduled, USD), 3 (ends two minutes after the first start, then settles).",
    "  curl localhost:8787/records/top/10/1",
  ].join("\n");
}

/** Loads every system's demo data; returns a short summary for the console. */
export async function loadDemoData(url: string, jwtSecret: string): Promise<string> {
  const token = await sign({ sub: "1", roles: ["admin"], exp: Math.floor(Date.now() / 1000) + 3600 }, jwtSecret, "HS256");
  const api = client(url, token);
  const parts = [await loadCampaigns(api)];
  return parts.join("\n");
}
