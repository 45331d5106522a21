import { adminToken, callJson } from "../support/http.ts";
import { uniqueId } from "../support/ids.ts";

const HOUR = 3_600_000;
export interface CampaignOptions {
  campaignId?: string;
  itemId?: string;
  prize?: { value: string; currency: string };
  prizes?: { fromPosition: number; toPosition: number; prize: { value: string; currency: string } }[];
  start?: number;
  end?: number;
}

/** Creates a campaign through the API (running now unless told otherwise). */
export async function createCampaign(options: CampaignOptions = {}) {
  const now = Date.now();
  const body = {
    campaignId: options.campaignId ?? uniqueId(),
    itemId: options.itemId ?? uniqueId(),
    prize: options.prize ?? { value: "100.00", currency: "EUR" },
    startDateTime: new Date(options.start ?? now - HOUR).toISOString(),
    endDateTime: new Date(options.end ?? now + HOUR).toISOString(),
    ...(options.prizes ? { prizes: options.prizes } : {}),
  };
  const response = await callJson("POST", "/campaigns", { token: await adminToken(), body });
  if (response.status !== 201) throw new Error(`create failed: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body.campaign as { campaignId: string; itemId: string; startDateTime: string; endDateTime: string };
}

export async function topOf(campaignId: string, n = 10) {
  const { status, body } = await callJson("GET", `/records/top/${n}/${campaignId}`);
  if (status !== 200) throw new Error(`top failed: ${status}`);
  return body.records.positions as Array<{ userId: string; displayName: string | null; position: number; total: { value: string; currency: string } }>;
}
