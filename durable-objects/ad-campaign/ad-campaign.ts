import { DurableObject } from "cloudflare:workers";

export class AdCampaign extends DurableObject<Env> {}
