import { DurableObject } from "cloudflare:workers";

export class TagAggregates extends DurableObject<Env> {}
