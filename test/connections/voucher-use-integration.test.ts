import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { DAY_MS, toIso, utcDate } from "../../shared/time.ts";
import { signVoucher } from "../../workers/connections/voucher.ts";
import { utcDaysAhead } from "../support/clock.ts";
import { adminToken, callJson, tokenFor } from "../support/http.ts";
import { fund } from "./support.ts";
import { uniqueId } from "../support/ids.ts";

const TTL_DAYS = Number(env.VOUCHER_TTL_DAYS);

const retailerToken = (retailerId: string) => tokenFor(uniqueId(), ["retailer"], { retailerId });

async function newOffer(retailer: string, pointsCost = 10): Promise<string> {
  const offerId = `w-offer-${uniqueId()}`;
  const { status } = await callJson("POST", "/offers", { token: await adminToken(), body: { offerId, retailer, title: "Seat", pointsCost } });
  expect(status).toBe(201);
  return offerId;
}

/** A citizen buys the offer; returns the redemption. */
async function redeem(offerId: string, points = 10): Promise<{ redemptionId: string; voucherCode: string; redeemedAt: string }> {
  const userId = uniqueId();
  await fund(userId, points);
  const { status, body } = await callJson("POST", "/redemptions", { token: await tokenFor(userId, ["citizen"]), body: { offerId } });
  expect(status, JSON.stringify(body)).toBe(201);
  return body;
}

const use = async (code: string, token?: string) => callJson("POST", `/vouchers/${encodeURIComponent(code)}/use`, token ? { token } : {});

/** Moves a stored redemption (or donation) to the instant `at`, as if it had been made then. */
async function moveRedemption(redemptionId: string, at: number): Promise<void> {
  await env.DB.prepare("UPDATE redemptions SET redeemed_at = ?1 WHERE redemption_id = ?2").bind(at, redemptionId).run();
}

async function moveDonation(donationId: string, at: number): Promise<void> {
  await env.DB.prepare("UPDATE donations SET donated_at = ?1 WHERE donation_id = ?2").bind(at, donationId).run();
}

describe("Voucher use", () => {
  it("lets the offer's retailer use a voucher once; the check shows when it expires and when it was used", async () => {
    const retailer = `w-retailer-${uniqueId()}`;
    const redemption = await redeem(await newOffer(retailer));
    const before = await callJson("GET", `/vouchers/${redemption.voucherCode}`);
    expect(before.body).toMatchObject({ valid: true, redeemedAt: redemption.redeemedAt, usedAt: null });
    expect(Date.parse(before.body.expiresAt) - Date.parse(redemption.redeemedAt)).toBe(TTL_DAYS * DAY_MS);

    const token = await retailerToken(retailer);
    const first = await use(redemption.voucherCode, token);
    expect(first.status).toBe(200);
    expect(Math.abs(Date.parse(first.body.usedAt) - Date.now())).toBeLessThan(60_000);

    const second = await use(redemption.voucherCode, token);
    expect(second.status).toBe(409);
    expect(second.body.code).toBe("already_used");
    const after = await callJson("GET", `/vouchers/${redemption.voucherCode}`);
    expect(after.body).toMatchObject({ valid: true, usedAt: first.body.usedAt });
  });

  it("answers 410 after VOUCHER_TTL_DAYS, and still accepts a voucher one day short of it", async () => {
    const retailer = `w-retailer-${uniqueId()}`;
    const offerId = await newOffer(retailer);
    const token = await retailerToken(retailer);
    const old = await redeem(offerId);
    await moveRedemption(old.redemptionId, Date.now() - TTL_DAYS * DAY_MS - 60_000);
    const expired = await use(old.voucherCode, token);
    expect(expired.status).toBe(410);
    expect(expired.body.code).toBe("expired");
    const check = await callJson("GET", `/vouchers/${old.voucherCode}`);
    expect(Date.parse(check.body.expiresAt)).toBeLessThanOrEqual(Date.now());
    expect(check.body.usedAt).toBeNull();

    const recent = await redeem(offerId);
    await moveRedemption(recent.redemptionId, Date.now() - (TTL_DAYS - 1) * DAY_MS);
    expect((await use(recent.voucherCode, token)).status).toBe(200);
  });

  it("answers 404 to a code Tally never issued, 403 to another retailer or a citizen, and lets an admin use it", async () => {
    const retailer = `w-retailer-${uniqueId()}`;
    const offerId = await newOffer(retailer);
    const redemption = await redeem(offerId);
    const token = await retailerToken(retailer);

    const [payload, tag] = redemption.voucherCode.split(".") as [string, string];
    const flipped = tag.slice(0, -2) + (tag.at(-2) === "A" ? "B" : "A") + tag.at(-1);
    // Signed with the real secret, but for a redemption that was never stored (a refused one).
    const neverStored = await signVoucher(env.VOUCHER_SECRET, { redemptionId: `nope-${uniqueId()}`, offerId, userId: "5", redeemedAt: Date.now() });
    for (const forged of [`${payload}.${flipped}`, "garbage", neverStored]) {
      const answer = await use(forged, token);
      expect(answer.status, forged).toBe(404);
      expect((await callJson("GET", `/vouchers/${encodeURIComponent(forged)}`)).body.valid, forged).toBe(false);
    }

    expect((await use(redemption.voucherCode, await retailerToken(`w-retailer-${uniqueId()}`))).status).toBe(403);
    expect((await use(redemption.voucherCode, await tokenFor(uniqueId(), ["retailer"]))).status).toBe(403);
    expect((await use(redemption.voucherCode, await tokenFor(uniqueId(), ["citizen"]))).status).toBe(403);
    expect((await use(redemption.voucherCode)).status).toBe(401);
    expect((await callJson("GET", `/vouchers/${redemption.voucherCode}`)).body.usedAt).toBeNull();

    expect((await use(redemption.voucherCode, await adminToken())).status).toBe(200);
    expect((await use(redemption.voucherCode, token)).body.code).toBe("already_used");
  });

  it("lets exactly one of 10 concurrent uses win", async () => {
    const retailer = `w-retailer-${uniqueId()}`;
    const redemption = await redeem(await newOffer(retailer));
    const token = await retailerToken(retailer);
    const answers = await Promise.all(Array.from({ length: 10 }, () => use(redemption.voucherCode, token)));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 409 && a.body.code === "already_used")).toHaveLength(9);
  });
});

describe("Rewards report", () => {
  it("sums redemptions and donations by offer, by charity and by UTC day, within the time range", async () => {
    const admin = await adminToken();
    const cheap = await newOffer(`w-retailer-${uniqueId()}`, 10);
    const dear = await newOffer(`w-retailer-${uniqueId()}`, 30);
    const charityId = `w-charity-${uniqueId()}`;
    expect((await callJson("POST", "/charities", { token: admin, body: { charityId, name: "Food Bank" } })).status).toBe(201);

    // Two UTC days long past, far from the other tests' rows: day A gets 2 cheap + 1 dear, day B 1 cheap and 2 donations.
    const dayA = utcDaysAhead(-40, "12:00:00.000");
    const dayB = utcDaysAhead(-39, "08:30:00.000");
    for (const r of [await redeem(cheap), await redeem(cheap), await redeem(dear, 30)]) await moveRedemption(r.redemptionId, dayA);
    await moveRedemption((await redeem(cheap)).redemptionId, dayB);
    const donor = uniqueId();
    await fund(donor, 100);
    for (const points of [7, 8]) {
      const { body } = await callJson("POST", "/donations", { token: await tokenFor(donor, ["citizen"]), body: { charityId, points } });
      await moveDonation(body.donationId, dayB + 1000);
    }

    const range = `${toIso(utcDaysAhead(-40))}_${toIso(utcDaysAhead(-38))}`;
    const report = (groupBy: string) => callJson("GET", `/reports/rewards?groupBy=${groupBy}&time_range=${range}`, { token: admin });

    const byOffer = await report("offer");
    expect(byOffer.status).toBe(200);
    expect(byOffer.body).toMatchObject({ groupBy: "offer", from: toIso(utcDaysAhead(-40)), to: toIso(utcDaysAhead(-38)) });
    // Most points first, then by id: both have 30 points.
    expect(byOffer.body.rows).toEqual(
      [
        { offerId: cheap, redemptions: 3, pointsRedeemed: 30, donations: 0, pointsDonated: 0 },
        { offerId: dear, redemptions: 1, pointsRedeemed: 30, donations: 0, pointsDonated: 0 },
      ].sort((a, b) => (a.offerId < b.offerId ? -1 : 1)),
    );

    const byCharity = await report("charity");
    expect(byCharity.body.rows).toEqual([{ charityId, redemptions: 0, pointsRedeemed: 0, donations: 2, pointsDonated: 15 }]);

    const byDay = await report("day");
    expect(byDay.body.rows).toEqual([
      { day: utcDate(dayA), redemptions: 3, pointsRedeemed: 50, donations: 0, pointsDonated: 0 },
      { day: utcDate(dayB), redemptions: 1, pointsRedeemed: 10, donations: 2, pointsDonated: 15 },
    ]);

    // `to` is exclusive: day B alone holds the donations, a range ending where it starts has none.
    const before = await callJson("GET", `/reports/rewards?groupBy=charity&time_range=${toIso(utcDaysAhead(-40))}_${toIso(utcDaysAhead(-39))}`, { token: admin });
    expect(before.body.rows).toEqual([]);
    const all = await callJson("GET", "/reports/rewards?groupBy=offer", { token: admin });
    expect(all.body).toMatchObject({ from: null, to: null });
    expect(all.body.rows).toContainEqual({ offerId: dear, redemptions: 1, pointsRedeemed: 30, donations: 0, pointsDonated: 0 });
  });

  it("is admin-only and refuses a bad groupBy or range naming the field", async () => {
    expect((await callJson("GET", "/reports/rewards", { token: await tokenFor(uniqueId(), ["citizen"]) })).status).toBe(403);
    const bad = await callJson("GET", "/reports/rewards?groupBy=zip", { token: await adminToken() });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].path).toBe("query.groupBy");
    const backwards = await callJson("GET", "/reports/rewards?time_range=2026-02-01T00:00:00Z_2026-01-01T00:00:00Z", { token: await adminToken() });
    expect(backwards.status).toBe(422);
  });
});
