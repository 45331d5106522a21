import { createExecutionContext, runDurableObjectAlarm, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { AdCampaign } from "../../durable-objects/ad-campaign/ad-campaign.ts";
import { DAY_MS } from "../../shared/time.ts";
import { app } from "../../workers/app.ts";
import { utcDaysAhead } from "../support/clock.ts";
import { callJson, serviceToken } from "../support/http.ts";
import { createCampaign, sendEvent, stubOf } from "./helpers.ts";

async function served(userId: string): Promise<string[]> {
  const { status, body } = await callJson("GET", `/ads/serve?userId=${userId}&slots=10`, { token: await serviceToken() });
  if (status !== 200) throw new Error(`serve failed: ${status} ${JSON.stringify(body)}`);
  return (body.ads as Array<{ adCampaignId: string }>).map((ad) => ad.adCampaignId);
}

/** The real `USER` namespace, with every user's `recordAdImpression` failing as an outage would. */
const usersFailing: typeof env.USER = new Proxy(env.USER, {
  get(target, key) {
    if (key === "getByName") {
      return (name: string) =>
        new Proxy(target.getByName(name), {
          get(stub, method) {
            if (method === "recordAdImpression") return () => Promise.reject(new Error("injected: User unreachable"));
            const value = Reflect.get(stub, method) as unknown;
            return typeof value === "function" ? value.bind(stub) : value;
          },
        });
    }
    const value = Reflect.get(target, key) as unknown;
    return typeof value === "function" ? value.bind(target) : value;
  },
});

/** Makes the campaign's running object reach users through `usersFailing`; returns how to undo it. */
async function failUsersFrom(adCampaignId: string): Promise<() => Promise<void>> {
  let real: Env | undefined;
  await runInDurableObject(stubOf(adCampaignId), (instance: AdCampaign) => {
    const holder = instance as unknown as { env: Env };
    real = holder.env;
    holder.env = Object.create(real, { USER: { value: usersFailing } }) as Env;
  });
  return () =>
    runInDurableObject(stubOf(adCampaignId), (instance: AdCampaign) => {
      (instance as unknown as { env: Env }).env = real!;
    });
}

/** `POST /ads/events` through the Worker with `USER` failing there too, wherever the count is made. */
async function impressionWhileUsersFail(adCampaignId: string, userId: string): Promise<Response> {
  const ctx = createExecutionContext();
  const request = new Request("https://tally.test/ads/events", {
    method: "POST",
    headers: { authorization: `Bearer ${await serviceToken()}`, "content-type": "application/json" },
    body: JSON.stringify({ type: "impression", adCampaignId, userId, eventId: crypto.randomUUID(), timestamp: new Date().toISOString() }),
  });
  const response = await app.fetch(request, { ...env, USER: usersFailing }, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

afterEach(() => vi.useRealTimers());

describe("ad impressions and frequency caps", () => {
  it("counts a recorded impression against the cap after the user's object failed: the campaign's alarm hands it over", async () => {
    const { adCampaignId } = await createCampaign({ frequencyCap: { impressionsPerUserPerDay: 1 } });
    const userId = "8101";
    const restore = await failUsersFrom(adCampaignId);
    const answer = await impressionWhileUsersFail(adCampaignId, userId);
    expect(answer.status, await answer.clone().text()).toBe(202);
    // Recorded by the campaign, not yet counted for the user: still served.
    expect(await served(userId)).toContain(adCampaignId);

    await restore();
    // No resend: the retry the object set for itself counts it.
    expect(await runDurableObjectAlarm(stubOf(adCampaignId))).toBe(true);
    expect(await served(userId)).not.toContain(adCampaignId);
    expect(await served("8102")).toContain(adCampaignId);
  });

  it("counts an impression under the day it reaches Tally, the day serving checks, whatever its event time", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(utcDaysAhead(1, "00:05:00.000"));
    const { adCampaignId } = await createCampaign({ frequencyCap: { impressionsPerUserPerDay: 1 } });
    // Shown at 23:59 the day before, reported six minutes later, after midnight.
    const shownYesterday = new Date(Date.now() - 6 * 60_000).toISOString();
    expect((await sendEvent({ adCampaignId, type: "impression", userId: "8201", timestamp: shownYesterday })).status).toBe(202);
    expect(await served("8201")).not.toContain(adCampaignId);

    vi.setSystemTime(Date.now() + DAY_MS);
    expect(await served("8201")).toContain(adCampaignId);
  });
});
