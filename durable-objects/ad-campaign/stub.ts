// How callers reach the object: kept apart from the class so that objects calling each other import
// this small module (and the class only as a type), which closes no import cycle.
import type { AdCampaign } from "./ad-campaign.ts";

/** The object of an ad campaign. */
export function adCampaignStub(env: Env, adCampaignId: string): DurableObjectStub<AdCampaign> {
  return env.AD_CAMPAIGN.getByName(adCampaignId);
}
