import { describe, expect, it } from "vitest";
import { signVoucher } from "../../workers/connections/voucher.ts";
import { adminToken, callJson, tokenFor } from "../support/http.ts";
import { fund, pointsOf } from "./support.ts";
import { uniqueId } from "../support/ids.ts";

async function newOffer(body: Record<string, unknown>) {
  const { status, body: answer } = await callJson("POST", "/offers", { token: await adminToken(), body });
  expect(status, JSON.stringify(answer)).toBe(201);
  return answer.offer as { offerId: string; pointsCost: number; stock: number | null };
}

async function citizen() {
  const userId = uniqueId();
  return { userId, token: await tokenFor(userId, ["citizen"]) };
}

describe("Offers and charities catalogues", () => {
  it("lets an admin add offers, lists them publicly, and treats a resent id as the same offer", async () => {
    const offerId = `coffee-${uniqueId()}`;
    const body = { offerId, retailer: "Corner Cafe", title: "Free coffee", pointsCost: 30, stock: 5 };
    const offer = await newOffer(body);
    expect(offer).toEqual({ ...body, createdAt: expect.any(String) });
    expect(await newOffer(body)).toEqual(offer);
    const changed = await callJson("POST", "/offers", { token: await adminToken(), body: { ...body, pointsCost: 31 } });
    expect(changed.status).toBe(409);

    const unlimited = await newOffer({ retailer: "Bakery", title: "Bagel", pointsCost: 5 });
    expect(unlimited.offerId).toMatch(/.+/);
    expect(unlimited.stock).toBeNull();

    const { status, body: list } = await callJson("GET", "/offers");
    expect(status).toBe(200);
    expect(list.offers).toEqual(expect.arrayContaining([offer, expect.objectContaining({ offerId: unlimited.offerId })]));
  });

  it("refuses bad offers naming each field, and non-admins", async () => {
    const bad = await callJson("POST", "/offers", {
      token: await adminToken(),
      body: { retailer: "", pointsCost: 0, stock: -1 },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.errors.map((e: { path: string }) => e.path).sort()).toEqual(["pointsCost", "retailer", "stock", "title"]);
    const body = { retailer: "R", title: "T", pointsCost: 1 };
    expect((await callJson("POST", "/offers", { body })).status).toBe(401);
    expect((await callJson("POST", "/offers", { token: (await citizen()).token, body })).status).toBe(403);
    expect((await callJson("POST", "/charities", { token: (await citizen()).token, body: { name: "X" } })).status).toBe(403);
    expect((await callJson("POST", "/charities", { token: await adminToken(), body: { name: " " } })).status).toBe(400);
  });

  it("lets an admin add charities, idempotent on charityId", async () => {
    const body = { charityId: `food-bank-${uniqueId()}`, name: "Food Bank" };
    const first = await callJson("POST", "/charities", { token: await adminToken(), body });
    expect(first.status).toBe(201);
    expect(first.body.charity).toEqual({ ...body, pointsDonated: 0, createdAt: expect.any(String) });
    const again = await callJson("POST", "/charities", { token: await adminToken(), body });
    expect(again.body).toEqual(first.body);
    expect((await callJson("POST", "/charities", { token: await adminToken(), body: { ...body, name: "Other" } })).status).toBe(409);
    const { body: list } = await callJson("GET", "/charities");
    expect(list.charities).toContainEqual(first.body.charity);
  });
});

describe("Redemptions and vouchers", () => {
  it("debits the wallet, returns a voucher that verifies, and answers a resend with the same voucher", async () => {
    const offer = await newOffer({ retailer: "Cinema", title: "Ticket", pointsCost: 30 });
    const { userId, token } = await citizen();
    await fund(userId, 100);
    const redemptionId = `r-${uniqueId()}`;
    const first = await callJson("POST", "/redemptions", { token, body: { offerId: offer.offerId, redemptionId } });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ redemptionId, offerId: offer.offerId, userId, points: 30 });
    expect(await pointsOf(userId)).toBe(70);

    const again = await callJson("POST", "/redemptions", { token, body: { offerId: offer.offerId, redemptionId } });
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(await pointsOf(userId)).toBe(70);

    const voucher = await callJson("GET", `/vouchers/${first.body.voucherCode}`);
    expect(voucher.status).toBe(200);
    expect(voucher.body).toEqual({
      valid: true,
      offerId: offer.offerId,
      userId,
      redeemedAt: first.body.redeemedAt,
      expiresAt: expect.any(String),
      usedAt: null,
      redemptionId,
    });

    const otherOffer = await newOffer({ retailer: "Cinema", title: "Popcorn", pointsCost: 5 });
    const reused = await callJson("POST", "/redemptions", { token, body: { offerId: otherOffer.offerId, redemptionId } });
    expect(reused.status).toBe(409);
    expect(await pointsOf(userId)).toBe(70);
  });

  it("spends once when one redemption id is raced for two offers", async () => {
    const cheap = await newOffer({ retailer: "Kiosk", title: "Paper", pointsCost: 10 });
    const dear = await newOffer({ retailer: "Kiosk", title: "Magazine", pointsCost: 30 });
    const { userId, token } = await citizen();
    await fund(userId, 100);
    const redemptionId = `race-${uniqueId()}`;
    const answers = await Promise.all(
      [cheap, dear, cheap, dear].map((offer) =>
        callJson("POST", "/redemptions", { token, body: { offerId: offer.offerId, redemptionId } }),
      ),
    );
    const won = answers.filter((a) => a.status === 201);
    expect(won.length).toBeGreaterThanOrEqual(1);
    expect(new Set(won.map((a) => a.body.offerId)).size).toBe(1);
    expect(answers.filter((a) => a.status === 409)).toHaveLength(4 - won.length);
    const cost = won[0]!.body.offerId === cheap.offerId ? 10 : 30;
    expect(await pointsOf(userId)).toBe(100 - cost);
  });

  it("lets exactly 5 of 20 concurrent redemptions through when the balance covers 5", async () => {
    const offer = await newOffer({ retailer: "Gym", title: "Day pass", pointsCost: 10 });
    const { userId, token } = await citizen();
    await fund(userId, 50);
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => callJson("POST", "/redemptions", { token, body: { offerId: offer.offerId } })),
    );
    const statuses = answers.map((answer) => answer.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(5);
    expect(statuses.filter((s) => s === 409)).toHaveLength(15);
    expect(answers.filter((a) => a.status === 409).every((a) => a.body.code === "insufficient_points")).toBe(true);
    expect(new Set(answers.filter((a) => a.status === 201).map((a) => a.body.voucherCode)).size).toBe(5);
    expect(await pointsOf(userId)).toBe(0);
  });

  it("never sells more than the stock, and gives back the points of a refused redemption", async () => {
    const offer = await newOffer({ retailer: "Museum", title: "Entry", pointsCost: 10, stock: 2 });
    const users = await Promise.all([citizen(), citizen(), citizen(), citizen()]);
    for (const user of users) await fund(user.userId, 10);
    const answers = await Promise.all(
      users.map((user) => callJson("POST", "/redemptions", { token: user.token, body: { offerId: offer.offerId } })),
    );
    expect(answers.filter((a) => a.status === 201)).toHaveLength(2);
    expect(answers.filter((a) => a.status === 409 && a.body.code === "out_of_stock")).toHaveLength(2);
    const balances = await Promise.all(users.map((user) => pointsOf(user.userId)));
    expect(balances.sort()).toEqual([0, 0, 10, 10]);
    const { body } = await callJson("GET", "/offers");
    expect(body.offers.find((o: { offerId: string }) => o.offerId === offer.offerId).stock).toBe(0);
  });

  it("answers 409 when points are short, 404 for an unknown offer, and checks roles and input", async () => {
    const offer = await newOffer({ retailer: "Zoo", title: "Entry", pointsCost: 25 });
    const { userId, token } = await citizen();
    await fund(userId, 24);
    const short = await callJson("POST", "/redemptions", { token, body: { offerId: offer.offerId } });
    expect(short.status).toBe(409);
    expect(short.body.code).toBe("insufficient_points");
    expect(await pointsOf(userId)).toBe(24);

    expect((await callJson("POST", "/redemptions", { token, body: { offerId: "nope" } })).status).toBe(404);
    const invalid = await callJson("POST", "/redemptions", { token, body: { offerId: "" } });
    expect(invalid.status).toBe(400);
    expect(invalid.body.errors[0].path).toBe("offerId");
    const body = { offerId: offer.offerId };
    expect((await callJson("POST", "/redemptions", { body })).status).toBe(401);
    expect((await callJson("POST", "/redemptions", { token: await adminToken(), body })).status).toBe(403);

    const officerId = uniqueId();
    await fund(officerId, 25);
    const byOfficer = await callJson("POST", "/redemptions", { token: await tokenFor(officerId, ["officer"]), body });
    expect(byOfficer.status).toBe(201);
    expect(await pointsOf(officerId)).toBe(0);
  });

  it("says a forged or altered voucher is invalid", async () => {
    const offer = await newOffer({ retailer: "Shop", title: "Discount", pointsCost: 1 });
    const { userId, token } = await citizen();
    await fund(userId, 1);
    const { body } = await callJson("POST", "/redemptions", { token, body: { offerId: offer.offerId } });
    const code = body.voucherCode as string;
    const [payload, tag] = code.split(".") as [string, string];

    const invalid = { valid: false, offerId: null, userId: null, redeemedAt: null, expiresAt: null, usedAt: null, redemptionId: null };
    const claims = JSON.parse(atob(payload.replaceAll("-", "+").replaceAll("_", "/"))) as Record<string, unknown>;
    const toB64 = (text: string) => btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
    const otherUser = toB64(JSON.stringify({ ...claims, u: "999999" }));
    const forgedWithOtherKey = await signVoucher("not-the-secret", {
      redemptionId: "x",
      offerId: offer.offerId,
      userId,
      redeemedAt: Date.now(),
    });
    const flipped = tag.slice(0, -2) + (tag.at(-2) === "A" ? "B" : "A") + tag.at(-1);
    for (const forged of [`${otherUser}.${tag}`, `${payload}.${flipped}`, forgedWithOtherKey, "garbage", `${payload}.`]) {
      const check = await callJson("GET", `/vouchers/${encodeURIComponent(forged)}`);
      expect(check.status, forged).toBe(200);
      expect(check.body, forged).toEqual(invalid);
    }
    expect((await callJson("GET", `/vouchers/${code}`)).body.valid).toBe(true);
  });
});

describe("Donations", () => {
  it("debits the donors and adds to the charity's total, once per donation id", async () => {
    const charityId = `shelter-${uniqueId()}`;
    await callJson("POST", "/charities", { token: await adminToken(), body: { charityId, name: "Shelter" } });
    const alice = await citizen();
    const bob = { userId: uniqueId() };
    const bobToken = await tokenFor(bob.userId, ["officer"]);
    await fund(alice.userId, 40);
    await fund(bob.userId, 15);

    const donationId = `d-${uniqueId()}`;
    const first = await callJson("POST", "/donations", { token: alice.token, body: { charityId, points: 25, donationId } });
    expect(first.status).toBe(201);
    expect(first.body).toEqual({ donationId, charityId, userId: alice.userId, points: 25, donatedAt: expect.any(String) });
    const again = await callJson("POST", "/donations", { token: alice.token, body: { charityId, points: 25, donationId } });
    expect(again.body).toEqual(first.body);
    const changed = await callJson("POST", "/donations", { token: alice.token, body: { charityId, points: 5, donationId } });
    expect(changed.status).toBe(409);
    expect((await callJson("POST", "/donations", { token: bobToken, body: { charityId, points: 15 } })).status).toBe(201);

    const { body } = await callJson("GET", "/charities");
    expect(body.charities.find((c: { charityId: string }) => c.charityId === charityId).pointsDonated).toBe(40);
    expect(await pointsOf(alice.userId)).toBe(15);
    expect(await pointsOf(bob.userId)).toBe(0);

    const short = await callJson("POST", "/donations", { token: bobToken, body: { charityId, points: 1 } });
    expect(short.status).toBe(409);
    expect(short.body.code).toBe("insufficient_points");
    expect((await callJson("POST", "/donations", { token: alice.token, body: { charityId: "nope", points: 1 } })).status).toBe(404);
    const invalid = await callJson("POST", "/donations", { token: alice.token, body: { charityId, points: 0 } });
    expect(invalid.status).toBe(400);
    expect(invalid.body.errors[0].path).toBe("points");
    expect((await callJson("POST", "/donations", { token: await adminToken(), body: { charityId, points: 1 } })).status).toBe(403);
    const after = await callJson("GET", "/charities");
    expect(after.body.charities.find((c: { charityId: string }) => c.charityId === charityId).pointsDonated).toBe(40);
  });
});
