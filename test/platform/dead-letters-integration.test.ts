import { afterEach, describe, expect, it, vi } from "vitest";
import { profileShardOf } from "../../durable-objects/profile-store/profile-store.ts";
import type { AdCampaignLifecycleMessage, QualifiedPurchaseMessage, UserTagMessage } from "../../shared/messages.ts";
import { DAY_MS } from "../../shared/time.ts";
import { acceptTag } from "../../workers/user-tags/ingest.ts";
import { userTagSchema } from "../../workers/user-tags/schemas.ts";
import { createCampaign, topOf } from "../campaigns/support.ts";
import { adminToken, call, callJson, eventually, tokenFor } from "../support/http.ts";
import { deliver } from "../support/queues.ts";

describe("dead letters", () => {
  it("keeps a message whose retries ran out, lists it for an admin and re-drives it", async () => {
    const campaign = await createCampaign({ prize: { value: "10.00", currency: "EUR" } });
    const body: QualifiedPurchaseMessage = {
      kind: "qualified-purchase",
      purchaseId: "stuck-1",
      campaignId: campaign.campaignId,
      userId: "5",
      amount: { minor: 1000, currency: "SEK" },
      timestamp: Date.now() - 1000,
    };
    // The platform hands the dead-letter queue a message after max_retries; deliver it the same way, twice.
    await deliver("dead-letters", [body], { ids: ["dl-1"], attempts: 6 });
    await deliver("dead-letters", [body], { ids: ["dl-1"], attempts: 6 });
    const token = await adminToken();
    const listed = await callJson("GET", "/admin/dead-letters", { token });
    expect(listed.status).toBe(200);
    expect(listed.body.deadLetters).toHaveLength(1);
    expect(listed.body.deadLetters[0]).toMatchObject({ deadLetterId: "dl-1", kind: "qualified-purchase", queue: "QUALIFIED_PURCHASE_EVENTS", body, redrivenAt: null });

    // The missing rate arrives; re-driving now scores the purchase once.
    await callJson("PUT", "/exchange-rates", { token, body: { base: "EUR", rates: { SEK: "11.00" }, effectiveFrom: "2020-01-01T00:00:00Z" } });
    const redrive = await callJson("POST", "/admin/dead-letters/redrive", { token, body: { deadLetterIds: ["dl-1"] } });
    expect(redrive.body).toEqual({ redriven: ["dl-1"] });
    const positions = await eventually(async () => {
      const top = await topOf(campaign.campaignId);
      return top.length > 0 ? top : undefined;
    });
    expect(positions[0]).toMatchObject({ userId: "5", total: { value: "0.91", currency: "EUR" } });
    expect((await callJson("GET", "/admin/dead-letters", { token })).body.deadLetters).toEqual([]);
    expect((await callJson("POST", "/admin/dead-letters/redrive", { token })).body).toEqual({ redriven: [] });
  });

  it("keeps every letter of a full batch of 100", async () => {
    const ids = Array.from({ length: 100 }, (_, i) => `full-${i}`);
    const result = await deliver("dead-letters", ids.map((id) => lifecycle(id)), { ids, attempts: 6 });
    expect(result.retryMessages).toEqual([]);
    expect(result.explicitAcks.sort()).toEqual([...ids].sort());
    const listed = await callJson("GET", "/admin/dead-letters?all=true&limit=1000", { token: await adminToken() });
    const kept = listed.body.deadLetters.filter((letter: { deadLetterId: string }) => letter.deadLetterId.startsWith("full-"));
    expect(kept.map((letter: { deadLetterId: string }) => letter.deadLetterId).sort()).toEqual([...ids].sort());
    expect(kept[0]).toMatchObject({ kind: "ad-campaign-lifecycle", queue: "CAMPAIGN_LIFECYCLE", attempts: 6 });
  });

  it("re-drives 150 pending letters named at once, each exactly once", async () => {
    const ids = Array.from({ length: 150 }, (_, i) => `many-${i}`);
    await deliver("dead-letters", ids.slice(0, 100).map((id) => lifecycle(id)), { ids: ids.slice(0, 100), attempts: 6 });
    await deliver("dead-letters", ids.slice(100).map((id) => lifecycle(id)), { ids: ids.slice(100), attempts: 6 });
    const token = await adminToken();
    const redrive = await callJson("POST", "/admin/dead-letters/redrive", { token, body: { deadLetterIds: ids } });
    expect(redrive.status, JSON.stringify(redrive.body)).toBe(200);
    expect(redrive.body.redriven).toHaveLength(150);
    expect([...redrive.body.redriven].sort()).toEqual([...ids].sort());

    const again = await callJson("POST", "/admin/dead-letters/redrive", { token, body: { deadLetterIds: ids } });
    expect(again.body).toEqual({ redriven: [] });
    const rest = await callJson("POST", "/admin/dead-letters/redrive", { token });
    expect(rest.status).toBe(200);
    expect(rest.body.redriven.filter((id: string) => id.startsWith("many-"))).toEqual([]);
    const all = await callJson("GET", "/admin/dead-letters?all=true&limit=1000", { token });
    const mine = all.body.deadLetters.filter((letter: { deadLetterId: string }) => letter.deadLetterId.startsWith("many-"));
    expect(mine).toHaveLength(150);
    expect(mine.every((letter: { redrivenAt: string | null }) => letter.redrivenAt !== null)).toBe(true);
  });

  it("re-drives 100 large letters, more than one queue send may carry", async () => {
    const ids = Array.from({ length: 100 }, (_, i) => `large-${i}`);
    // About 4 KB each: 400 KB in all, past the 256 KB one sendBatch takes.
    const bodies = ids.map((id) => lifecycle(`${id}-${"x".repeat(4000)}`));
    await deliver("dead-letters", bodies, { ids, attempts: 6 });
    const redrive = await callJson("POST", "/admin/dead-letters/redrive", { token: await adminToken(), body: { deadLetterIds: ids } });
    expect(redrive.status, JSON.stringify(redrive.body)).toBe(200);
    expect([...redrive.body.redriven].sort()).toEqual([...ids].sort());
  });

  it("is for admins only", async () => {
    expect((await callJson("GET", "/admin/dead-letters")).status).toBe(401);
    expect((await callJson("GET", "/admin/dead-letters", { token: await tokenFor(9, ["officer"]) })).status).toBe(403);
    expect((await callJson("GET", "/admin/dead-letters?limit=0", { token: await adminToken() })).status).toBe(400);
  });
});

/** A dead letter whose re-drive is harmless: the lifecycle consumer only logs it. */
function lifecycle(adCampaignId: string): AdCampaignLifecycleMessage {
  return { kind: "ad-campaign-lifecycle", adCampaignId, status: "ended", at: 1_700_000_000_000 };
}

/** A tag of `cookie` as `POST /user_tags` accepts it at `acceptedAt`. */
function acceptedTag(cookie: string, acceptedAt: number): Promise<UserTagMessage> {
  const tag = {
    time: "2022-05-01T10:00:00.000Z",
    cookie,
    country: "PL",
    device: "PC",
    action: "BUY",
    origin: "dead-letter-origin",
    product_info: { product_id: crypto.randomUUID(), brand_id: "b", category_id: "c", price: 10 },
  };
  return acceptTag(userTagSchema.parse(tag), acceptedAt);
}

interface ListedLetter {
  deadLetterId: string;
  body: unknown;
  redrivenAt: string | null;
  redactedAt: string | null;
}

async function listed(all: boolean): Promise<Map<string, ListedLetter>> {
  const { body } = await callJson("GET", `/admin/dead-letters?limit=1000${all ? "&all=true" : ""}`, { token: await adminToken() });
  return new Map((body.deadLetters as ListedLetter[]).map((letter) => [letter.deadLetterId, letter]));
}

const erase = async (cookie: string) => (await call("DELETE", `/user_profiles/${encodeURIComponent(cookie)}`, { token: await adminToken() })).status;

describe("dead letters of an erased cookie", () => {
  afterEach(() => vi.useRealTimers());

  it("are redacted, whether they died before or after the erase, and never re-driven; others are kept", async () => {
    const run = crypto.randomUUID();
    const cookie = `dl-erased-${run}`;
    const other = `dl-kept-${run}`;
    const [before, after, later, kept] = [`${run}-before`, `${run}-after`, `${run}-later`, `${run}-kept`];
    await deliver("dead-letters", [await acceptedTag(cookie, Date.now() - 2_000)], { ids: [before], attempts: 6 });
    const keptTag = await acceptedTag(other, Date.now() - 2_000);
    await deliver("dead-letters", [keptTag], { ids: [kept], attempts: 6 });
    // Accepted before the erase, still in the queue when it happens; its retries run out afterwards.
    const queued = await acceptedTag(cookie, Date.now() - 1_000);

    expect(await erase(cookie)).toBe(204);
    await deliver("dead-letters", [queued], { ids: [after], attempts: 6 });
    // Accepted after the erase: the cookie's new profile, not erased.
    const laterTag = await acceptedTag(cookie, Date.now() + 1);
    await deliver("dead-letters", [laterTag], { ids: [later], attempts: 6 });

    const all = await listed(true);
    for (const id of [before, after]) {
      expect(all.get(id)).toMatchObject({ body: { kind: "user-tag", redacted: true }, redrivenAt: null, redactedAt: expect.any(String) });
      expect(JSON.stringify(all.get(id))).not.toContain(cookie);
    }
    expect(all.get(kept)).toMatchObject({ body: keptTag, redactedAt: null });
    expect(all.get(later)).toMatchObject({ body: laterTag, redactedAt: null });
    const pending = await listed(false);
    expect([before, after, kept, later].filter((id) => pending.has(id))).toEqual([kept, later]);

    const token = await adminToken();
    const redrive = await callJson("POST", "/admin/dead-letters/redrive", { token, body: { deadLetterIds: [before, after, kept, later] } });
    expect(redrive.status).toBe(200);
    expect([...redrive.body.redriven].sort()).toEqual([kept, later].sort());
  });

  it("cannot be re-driven after the erase mark has expired", async () => {
    const run = crypto.randomUUID();
    const cookie = `dl-expired-${run}`;
    const letter = `${run}-letter`;
    await deliver("dead-letters", [await acceptedTag(cookie, Date.now() - 1_000)], { ids: [letter], attempts: 6 });
    expect(await erase(cookie)).toBe(204);

    // 16 days on, another erase on the same shard drops the 15-day-old mark.
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 16 * DAY_MS);
    let neighbour = `dl-neighbour-${run}`;
    for (let i = 0; profileShardOf(neighbour) !== profileShardOf(cookie); i++) neighbour = `dl-neighbour-${run}-${i}`;
    expect(await erase(neighbour)).toBe(204);

    const token = await adminToken();
    expect((await callJson("POST", "/admin/dead-letters/redrive", { token, body: { deadLetterIds: [letter] } })).body).toEqual({ redriven: [] });
    expect((await callJson("POST", "/admin/dead-letters/redrive", { token })).body.redriven).not.toContain(letter);
    expect((await listed(true)).get(letter)).toMatchObject({ body: { kind: "user-tag", redacted: true } });
  });
});
