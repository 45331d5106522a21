import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { LiveMessage } from "../../shared/campaigns.ts";
import type { QualifiedPurchaseMessage } from "../../shared/messages.ts";
import { app } from "../../workers/app.ts";
import { adminToken, callJson, eventually, tokenFor } from "../support/http.ts";
import { createCampaign, topOf } from "./support.ts";
import { deliver } from "../support/queues.ts";

function qualified(campaignId: string, userId: string, minor: number): QualifiedPurchaseMessage {
  return { kind: "qualified-purchase", purchaseId: crypto.randomUUID(), campaignId, userId, amount: { minor, currency: "EUR" }, timestamp: Date.now() - 1000 };
}

async function open(path: string) {
  const response = await exports.default.fetch(new Request(`https://tally.test${path}`, { headers: { upgrade: "websocket" } }));
  expect(response.status).toBe(101);
  expect(response.headers.get("x-request-id")).toMatch(/.+/);
  const socket = response.webSocket!;
  const received: LiveMessage[] = [];
  const waiters: Array<() => void> = [];
  socket.addEventListener("message", (event) => {
    received.push(JSON.parse(event.data as string) as LiveMessage);
    for (const wake of waiters.splice(0)) wake();
  });
  socket.accept();
  /** Resolves with the first message (from the start) that matches. */
  async function next(match: (m: LiveMessage) => boolean, timeoutMs = 5000): Promise<LiveMessage> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = received.find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching message; got ${JSON.stringify(received)}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }
  return { socket, received, next };
}

describe("live leaderboard socket", () => {
  it("sends the top on connect and again when it changes", async () => {
    const campaign = await createCampaign();
    const id = campaign.campaignId;
    await deliver("qualified-purchase-events", [qualified(id, "1", 500)]);
    const live = await open(`/records/live/${id}`);
    const first = await live.next((m) => m.type === "top");
    expect(first).toMatchObject({ type: "top", campaignId: id, positions: [{ userId: "1", position: 0, total: { value: "5.00", currency: "EUR" } }] });
    await deliver("qualified-purchase-events", [qualified(id, "2", 900)]);
    const changed = await live.next((m) => m.type === "top" && m.positions.length === 2);
    expect(changed.type === "top" && changed.positions.map((p) => p.userId)).toEqual(["2", "1"]);
    live.socket.close(1000);
  });

  it("tells a socket opened with a token its own position when it changes", async () => {
    const campaign = await createCampaign();
    const id = campaign.campaignId;
    await deliver("qualified-purchase-events", [qualified(id, "7", 500)]);
    const token = await tokenFor(7, ["citizen"]);
    const live = await open(`/records/live/${id}?token=${token}`);
    expect(await live.next((m) => m.type === "position")).toMatchObject({ type: "position", campaignId: id, userId: "7", position: 0 });
    await deliver("qualified-purchase-events", [qualified(id, "8", 900)]);
    expect(await live.next((m) => m.type === "position" && m.position === 1)).toMatchObject({ userId: "7", position: 1 });
    live.socket.close(1000);
  });

  it("takes the caller's identity from the token only: a forged x-tally-user-id header gets no position", async () => {
    const campaign = await createCampaign();
    const id = campaign.campaignId;
    await deliver("qualified-purchase-events", [qualified(id, "17", 500)]);
    const hostile = { upgrade: "websocket", "x-tally-user-id": "17", "x-tally-client-address": "203.0.113.99" };
    const response = await exports.default.fetch(new Request(`https://tally.test/records/live/${id}`, { headers: hostile }));
    expect(response.status).toBe(101);
    const socket = response.webSocket!;
    const received: LiveMessage[] = [];
    let wake = () => {};
    socket.addEventListener("message", (event) => {
      received.push(JSON.parse(event.data as string) as LiveMessage);
      wake();
    });
    socket.accept();
    // A position for user 17 would be sent right after the first top; a later top proves it did not come.
    await deliver("qualified-purchase-events", [qualified(id, "18", 900)]);
    const deadline = Date.now() + 5000;
    while (!received.some((m) => m.type === "top" && m.positions.length === 2)) {
      if (Date.now() > deadline) throw new Error(`no second top; got ${JSON.stringify(received)}`);
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 100);
      });
    }
    expect(received.filter((m) => m.type === "position")).toEqual([]);
    socket.close(1000);
  });

  it("refuses a plain request, a bad token and an unknown campaign", async () => {
    const campaign = await createCampaign();
    expect((await callJson("GET", `/records/live/${campaign.campaignId}`)).status).toBe(400);
    const forged = await exports.default.fetch(new Request(`https://tally.test/records/live/${campaign.campaignId}?token=nope`, { headers: { upgrade: "websocket" } }));
    expect(forged.status).toBe(401);
    const unknown = await exports.default.fetch(new Request("https://tally.test/records/live/987654", { headers: { upgrade: "websocket" } }));
    expect(unknown.status).toBe(404);
  });
});

describe("live leaderboard socket limit", () => {
  /** As deployed on Cloudflare (LOCAL_MODE unset), where the edge sets cf-connecting-ip and a client cannot. */
  const upgrade = async (campaignId: string, address: string) => {
    const ctx = createExecutionContext();
    const request = new Request(`https://tally.test/records/live/${campaignId}`, { headers: { upgrade: "websocket", "cf-connecting-ip": address } });
    const response = await app.fetch(request, { ...env, LOCAL_MODE: undefined }, ctx);
    await waitOnExecutionContext(ctx);
    return response;
  };

  it("off Cloudflare (local mode), a forged cf-connecting-ip buys no extra sockets: every caller is one address", async () => {
    const campaign = await createCampaign();
    const forge = (address: string) =>
      exports.default.fetch(new Request(`https://tally.test/records/live/${campaign.campaignId}`, { headers: { upgrade: "websocket", "cf-connecting-ip": address } }));
    const sockets: WebSocket[] = [];
    for (let i = 0; i < 20; i++) {
      const response = await forge(`203.0.113.${i + 1}`);
      expect(response.status).toBe(101);
      response.webSocket!.accept();
      sockets.push(response.webSocket!);
    }
    const refused = await forge("198.51.100.250");
    expect(refused.status).toBe(429);
    await refused.body?.cancel();
    for (const socket of sockets) socket.close(1000, "done");
  });

  it("refuses the 21st open socket from one address with 429, while another address still connects", async () => {
    const campaign = await createCampaign();
    const sockets: WebSocket[] = [];
    for (let i = 0; i < 20; i++) {
      const response = await upgrade(campaign.campaignId, "203.0.113.7");
      expect(response.status).toBe(101);
      response.webSocket!.accept();
      sockets.push(response.webSocket!);
    }
    const refused = await upgrade(campaign.campaignId, "203.0.113.7");
    expect(refused.status).toBe(429);
    expect(refused.headers.get("content-type")).toContain("application/problem+json");
    expect(refused.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(((await refused.json()) as { code: string }).code).toBe("rate_limited");
    const other = await upgrade(campaign.campaignId, "198.51.100.9");
    expect(other.status).toBe(101);
    other.webSocket!.accept();
    const elsewhere = await upgrade((await createCampaign()).campaignId, "203.0.113.7");
    expect(elsewhere.status).toBe(101);
    elsewhere.webSocket!.accept();
    for (const socket of [...sockets, other.webSocket!, elsewhere.webSocket!]) socket.close(1000, "done");
  });
});

describe("display names on the leaderboard", () => {
  it("shows a name in top, position and live messages, null for a user without one, and a rename within 5 s", async () => {
    const campaign = await createCampaign();
    const id = campaign.campaignId;
    const named = String(600_000 + Math.floor(Math.random() * 1000));
    const unnamed = String(Number(named) + 1);
    const admin = await adminToken();
    const put = await callJson("PUT", `/users/${named}/profile`, { token: await tokenFor(named, ["citizen"]), body: { displayName: "Ann" } });
    expect(put).toMatchObject({ status: 200, body: { profile: { userId: named, displayName: "Ann" } } });
    await deliver("qualified-purchase-events", [qualified(id, named, 900), qualified(id, unnamed, 500)]);
    expect((await topOf(id)).map((p) => [p.userId, p.displayName])).toEqual([
      [named, "Ann"],
      [unnamed, null],
    ]);
    const own = await callJson("GET", `/records/position/${id}/${named}`, { token: admin });
    expect(own.body.record).toMatchObject({ userId: named, displayName: "Ann", position: 0 });

    const live = await open(`/records/live/${id}?token=${await tokenFor(unnamed, ["citizen"])}`);
    await live.next((m) => m.type === "top" && m.positions[0]?.displayName === "Ann");
    await live.next((m) => m.type === "position" && m.displayName === null);
    const renamedAt = Date.now();
    expect((await callJson("PUT", `/users/${unnamed}/profile`, { token: admin, body: { displayName: "Bo" } })).status).toBe(200);
    await live.next((m) => m.type === "top" && m.positions[1]?.displayName === "Bo", 5000);
    await live.next((m) => m.type === "position" && m.displayName === "Bo", 5000);
    expect(Date.now() - renamedAt).toBeLessThan(5000);
    await eventually(async () => ((await topOf(id))[1]?.displayName === "Bo" ? true : undefined), 5000);
    live.socket.close(1000);
  });

  it("refuses another user's rename and a bad name, changing nothing", async () => {
    const stranger = await tokenFor(42, ["citizen"]);
    expect((await callJson("PUT", "/users/43/profile", { token: stranger, body: { displayName: "X" } })).status).toBe(403);
    const tooLong = await callJson("PUT", "/users/42/profile", { token: stranger, body: { displayName: "x".repeat(65) } });
    expect(tooLong.status).toBe(400);
    expect(JSON.stringify(tooLong.body.errors)).toContain("displayName");
    expect((await callJson("PUT", "/users/42/profile", { token: stranger, body: { displayName: "" } })).status).toBe(400);
  });
});
