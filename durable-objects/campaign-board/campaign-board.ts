import { DurableObject } from "cloudflare:workers";

export class CampaignBoard extends DurableObject<Env> {}
