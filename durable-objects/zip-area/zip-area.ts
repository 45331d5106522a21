import { DurableObject } from "cloudflare:workers";

export class ZipArea extends DurableObject<Env> {}
