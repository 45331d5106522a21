import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { userStub } from "../../durable-objects/user/stub.ts";
import { app } from "../../workers/app.ts";
import { adminToken, callJson, tokenFor } from "../support/http.ts";
import { pointsOf } from "./support.ts";
import { uniqueId } from "../support/ids.ts";

/** The real D1 binding, with the first `batch` call failing as a D1 outage would. */
function batchFailsOnce(d1: D1Database): D1Database {
  let armed = true;
  return new Proxy(d1, {
    get(target, property) {
      if (property === "batch" && armed) {
        return async () => {
          armed = false;
          throw new Error("injected D1 failure");
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** Sends a request through the app with the D1 binding wrapped; everything else is the real env. */
async function callWithFailingD1(path: string, token: string, body: unknown): Promise<Response> {
  const ctx = createExecutionContext();
  const request = new Request(`https://tally.test${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const response = await app.fetch(request, { ...env, DB: batchFailsOnce(env.DB) }, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

async function citizenWith(points: number) {
  const userId = uniqueId();
  const funded = await userStub(env, userId).credit({ ref: `test-funding:${uniqueId()}`, reason: "test", points });
  expect(funded.ok).toBe(true);
  return { userId, token: await tokenFor(userId, ["citizen"]) };
}

async function offerWithStock(stock: number) {
  const { status, body } = await callJson("POST", "/offers", {
    token: await adminToken(),
    body: { retailer: "Theatre", title: "Seat", pointsCost: 10, stock },
  });
  expect(status).toBe(201);
  return body.offer as { offerId: string };
}

async function stockOf(offerId: string): Promise<number | null> {
  const { body } = await callJson("GET", "/offers");
  return body.offers.find((offer: { offerId: string }) => offer.offerId === offerId).stock;
}

describe("a redemption whose D1 write failed", () => {
  it("is refunded on resend when the last unit went to someone else meanwhile, once", async () => {
    const offer = await offerWithStock(1);
    const alice = await citizenWith(10);
    const bob = await citizenWith(10);
    const redemptionId = `fault-${uniqueId()}`;

    const failed = await callWithFailingD1("/redemptions", alice.token, { offerId: offer.offerId, redemptionId });
    expect(failed.status).toBeGreaterThanOrEqual(500);
    expect(await pointsOf(alice.userId)).toBe(0);

    const bobs = await callJson("POST", "/redemptions", { token: bob.token, body: { offerId: offer.offerId } });
    expect(bobs.status).toBe(201);
    expect(await stockOf(offer.offerId)).toBe(0);

    for (let resend = 0; resend < 2; resend++) {
      const answer = await callJson("POST", "/redemptions", { token: alice.token, body: { offerId: offer.offerId, redemptionId } });
      expect(answer.status).toBe(409);
      expect(answer.body.code).toBe("out_of_stock");
      expect(await pointsOf(alice.userId)).toBe(10);
    }
    expect(await pointsOf(bob.userId)).toBe(0);
  });

  it("is completed on resend while stock remains, debited once", async () => {
    const offer = await offerWithStock(3);
    const alice = await citizenWith(25);
    const redemptionId = `fault-${uniqueId()}`;

    const failed = await callWithFailingD1("/redemptions", alice.token, { offerId: offer.offerId, redemptionId });
    expect(failed.status).toBeGreaterThanOrEqual(500);
    expect(await stockOf(offer.offerId)).toBe(3);

    const resent = await callJson("POST", "/redemptions", { token: alice.token, body: { offerId: offer.offerId, redemptionId } });
    expect(resent.status).toBe(201);
    expect(resent.body).toMatchObject({ redemptionId, offerId: offer.offerId, userId: alice.userId, points: 10 });
    expect((await callJson("GET", `/vouchers/${resent.body.voucherCode}`)).body.valid).toBe(true);
    expect(await pointsOf(alice.userId)).toBe(15);
    expect(await stockOf(offer.offerId)).toBe(2);
  });

  it("a sold-out offer named with a fresh client id is refused without costing points, even when they are short", async () => {
    const offer = await offerWithStock(1);
    const buyer = await citizenWith(10);
    expect((await callJson("POST", "/redemptions", { token: buyer.token, body: { offerId: offer.offerId } })).status).toBe(201);
    const late = await citizenWith(5);
    const answer = await callJson("POST", "/redemptions", {
      token: late.token,
      body: { offerId: offer.offerId, redemptionId: `late-${uniqueId()}` },
    });
    expect(answer.status).toBe(409);
    expect(answer.body.code).toBe("out_of_stock");
    expect(await pointsOf(late.userId)).toBe(5);
  });
});
