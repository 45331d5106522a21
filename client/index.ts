/**
 * Tally's typed HTTP client: openapi-fetch over the types `npm run api:client` generates from
 * /openapi.json, so a call that no longer fits the contract fails the type check.
 *
 * @example
 * const api = tallyClient("http://localhost:8787", token);
 * const { data, error } = await api.GET("/records/top/{n}/{campaignId}", { params: { path: { n: 10, campaignId: "7" } } });
 */
import createClient, { type Client } from "openapi-fetch";
import type { components, paths } from "./generated/schema.d.ts";

export type { components, paths };
export type TallyClient = Client<paths>;

/** A client for the Tally at `baseUrl`, sending `token` (when given) as the bearer token. */
export function tallyClient(baseUrl: string, token?: string, init: { fetch?: (request: Request) => Promise<Response> } = {}): TallyClient {
  return createClient<paths>({
    baseUrl,
    headers: token ? { authorization: `Bearer ${token}` } : {},
    ...(init.fetch ? { fetch: init.fetch } : {}),
  });
}
