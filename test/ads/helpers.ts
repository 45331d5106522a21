import { env } from "cloudflare:workers";
import { adminToken, callJson, serviceToken } from "../support/http.ts";
import { adCampaignStub } from "../../durable-objects/ad-campaign/stub.ts";

/** A campaign body with sensible defaults: EUR, 0.50 per click, 100.00 in total, started a day ago. */
export function campaignBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    advertiserId: "9",
    name: "Winter boots",
    cpc: { value: "0.50", currency: "EUR" },
    totalBudget: { value: "100.00", currency: "EUR" },
    startDateTime: new Date(Date.now() - 86_400_000).toISOString(),
    ...overrides,
  };
}

/** Creates an ad campaign as an admin and returns its JSON. */
export async function createCampaign(overrides: Record<string, unknown> = {}) {
  const { status, body } = await callJson("POST", "/ads/campaigns", { token: await adminToken(), body: campaignBody(overrides) });
  if (status !== 201) throw new Error(`create failed: ${status} ${JSON.stringify(body)}`);
  return body.adCampaign as { adCampaignId: string; status: string; [key: string]: unknown };
}

export interface AdEvent {
  adCampaignId: string;
  type?: "impression" | "view" | "click";
  eventId?: string;
  userId?: string;
  ip?: string;
  timestamp?: string;
}

/** Sends one ad event; a click by default, timestamped now. */
export async function sendEvent(event: AdEvent) {
  return callJson("POST", "/ads/events", {
    token: await serviceToken(),
    body: { type: "click", timestamp: new Date().toISOString(), ...event },
  });
}

export async function getCampaign(adCampaignId: string) {
  const { status, body } = await callJson("GET", `/ads/campaigns/${adCampaignId}`);
  if (status !== 200) throw new Error(`get failed: ${status} ${JSON.stringify(body)}`);
  return body.adCampaign;
}

export async function activeIds(): Promise<string[]> {
  const { body } = await callJson("GET", "/ads/campaigns/active");
  return (body.adCampaigns as Array<{ adCampaignId: string }>).map((c) => c.adCampaignId);
}

/** The D1 row's status, which the object writes before it answers. */
export async function d1Status(adCampaignId: string): Promise<string | undefined> {
  const row = await env.DB.prepare("SELECT status FROM ad_campaigns WHERE ad_campaign_id = ?").bind(Number(adCampaignId)).first<{ status: string }>();
  return row?.status;
}

export const stubOf = (adCampaignId: string) => adCampaignStub(env, adCampaignId);
