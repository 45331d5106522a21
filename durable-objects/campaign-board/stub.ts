// How callers reach the object: kept apart from the class so that objects calling each other import
// this small module (and the class only as a type), which closes no import cycle.
import type { CampaignBoard } from "./campaign-board.ts";

/** The board of a campaign id. */
export function boardStub(env: Env, campaignId: string): DurableObjectStub<CampaignBoard> {
  return env.CAMPAIGN_BOARD.getByName(`campaign:${campaignId}`);
}
