import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { toIso } from "../../shared/time.ts";
import { principalOf, requireRole } from "../http/auth.ts";
import { bearer, createRouter, jsonBody, jsonResponse, problemResponses, rateLimitedResponses } from "../http/router.ts";
import { createCharity, createOffer, donate, listCharities, listOffers, redeemOffer, rewardsReport } from "./rewards.ts";
import {
  charitySchema,
  donationRequestSchema,
  donationSchema,
  newCharitySchema,
  newOfferSchema,
  offerSchema,
  redemptionRequestSchema,
  redemptionSchema,
  rewardsReportQuerySchema,
  rewardsReportSchema,
  voucherCheckSchema,
  voucherUseSchema,
} from "./schemas.ts";
import { countDonationTrophies } from "./trophies.ts";
import { checkVoucher, useVoucher } from "./voucher.ts";

// The offers and charities catalogues, and spending points on them: one router per resource.

/** Mounted at `/offers`. */
export const offerRoutes = createRouter();
/** Mounted at `/charities`. */
export const charityRoutes = createRouter();
/** Mounted at `/redemptions`. */
export const redemptionRoutes = createRouter();
/** Mounted at `/vouchers`. */
export const voucherRoutes = createRouter();
/** Mounted at `/donations`. */
export const donationRoutes = createRouter();
/** The admin report of redemptions and donations, mounted at `/reports` beside the connections report. */
export const rewardReportRoutes = createRouter();

const voucherCodeSchema = z.string().max(2048);
const listQuery = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) });
const adminOnly = requireRole("admin");
const pointHolder = requireRole("citizen", "officer");

offerRoutes.openapi(
  createRoute({
    method: "post",
    path: "/",
    operationId: "createOffer",
    tags: ["rewards"],
    summary: "Add a retailer offer bought with points",
    description: "With a client-chosen `offerId`, the same offer again returns it; different content is 409.",
    security: bearer,
    middleware: [adminOnly],
    request: { body: jsonBody(newOfferSchema) },
    responses: { 201: jsonResponse(z.object({ offer: offerSchema }), "The offer"), ...problemResponses },
  }),
  async (c) => c.json({ offer: await createOffer(c.env.DB, c.req.valid("json")) }, 201),
);

offerRoutes.openapi(
  createRoute({
    method: "get",
    path: "/",
    operationId: "listOffers",
    tags: ["rewards"],
    summary: "The offers catalogue, oldest first, with the stock left",
    security: [],
    request: { query: listQuery },
    responses: { 200: jsonResponse(z.object({ offers: z.array(offerSchema) }), "Offers"), ...problemResponses },
  }),
  async (c) => c.json({ offers: await listOffers(c.env.DB, c.req.valid("query").limit) }, 200),
);

charityRoutes.openapi(
  createRoute({
    method: "post",
    path: "/",
    operationId: "createCharity",
    tags: ["rewards"],
    summary: "Add a charity that points can be donated to",
    security: bearer,
    middleware: [adminOnly],
    request: { body: jsonBody(newCharitySchema) },
    responses: { 201: jsonResponse(z.object({ charity: charitySchema }), "The charity"), ...problemResponses },
  }),
  async (c) => c.json({ charity: await createCharity(c.env.DB, c.req.valid("json")) }, 201),
);

charityRoutes.openapi(
  createRoute({
    method: "get",
    path: "/",
    operationId: "listCharities",
    tags: ["rewards"],
    summary: "The charities, oldest first, with the points donated to each",
    security: [],
    request: { query: listQuery },
    responses: { 200: jsonResponse(z.object({ charities: z.array(charitySchema) }), "Charities"), ...problemResponses },
  }),
  async (c) => c.json({ charities: await listCharities(c.env.DB, c.req.valid("query").limit) }, 200),
);

redemptionRoutes.openapi(
  createRoute({
    method: "post",
    path: "/",
    operationId: "createRedemption",
    tags: ["rewards"],
    summary: "Spend points on an offer and get a signed voucher code",
    description:
      "Debits the caller's wallet by the offer's `pointsCost` (409 `insufficient_points` when short, 409 " +
      "`out_of_stock` when none is left). A resend with the same `redemptionId` returns the same voucher.",
    security: bearer,
    middleware: [pointHolder],
    request: { body: jsonBody(redemptionRequestSchema) },
    responses: { 201: jsonResponse(redemptionSchema, "The redemption and its voucher code"), ...problemResponses, ...rateLimitedResponses },
  }),
  async (c) => {
    const body = c.req.valid("json");
    return c.json(await redeemOffer(c.env, { ...body, userId: principalOf(c).sub }), 201);
  },
);

voucherRoutes.openapi(
  createRoute({
    method: "get",
    path: "/{code}",
    operationId: "getVoucher",
    tags: ["rewards"],
    summary: "Check a voucher code (for retailers)",
    description:
      "A forged, altered or malformed code is `valid: false` with nulls, not an error. `valid` says Tally issued it; " +
      "it can be accepted while `usedAt` is null and `expiresAt` is in the future.",
    security: [],
    request: { params: z.object({ code: voucherCodeSchema }) },
    responses: { 200: jsonResponse(voucherCheckSchema, "Whether Tally issued this code, for what, and its state"), ...problemResponses },
  }),
  async (c) => c.json(await checkVoucher(c.env, c.req.valid("param").code), 200),
);

voucherRoutes.openapi(
  createRoute({
    method: "post",
    path: "/{code}/use",
    operationId: "useVoucher",
    tags: ["rewards"],
    summary: "Accept a voucher at the till, once (the offer's retailer or an admin)",
    description:
      "The retailer's token must carry the `retailerId` claim equal to the offer's `retailer`. The first use answers " +
      "`usedAt`; later ones 409 `already_used` (of two concurrent uses exactly one wins); after `expiresAt`, 410 " +
      "`expired`; a code Tally never issued, 404; another retailer, 403. No body.",
    security: bearer,
    middleware: [requireRole("retailer", "admin")],
    request: { params: z.object({ code: voucherCodeSchema }) },
    responses: {
      200: jsonResponse(voucherUseSchema, "Used now"),
      ...problemResponses,
      409: { ...problemResponses[409], description: "`already_used`: the voucher was used before" },
      410: { ...problemResponses[409], description: "`expired`: more than `VOUCHER_TTL_DAYS` since the redemption" },
    },
  }),
  async (c) => c.json(await useVoucher(c.env, c.req.valid("param").code, principalOf(c)), 200),
);

rewardReportRoutes.openapi(
  createRoute({
    method: "get",
    path: "/rewards",
    operationId: "getRewardsReport",
    tags: ["rewards"],
    summary: "Redemptions and donations (counts and points) by offer, by charity or by UTC day",
    description:
      "`time_range=<from>_<to>` (ISO 8601 UTC, `from` inclusive, `to` exclusive) limits it; default all time. By offer " +
      "the donation counts are 0, by charity the redemption counts; by day both are filled.",
    security: bearer,
    middleware: [adminOnly],
    request: { query: rewardsReportQuerySchema },
    responses: {
      200: jsonResponse(rewardsReportSchema, "By offer or charity: most points first; by day: oldest first"),
      ...problemResponses,
    },
  }),
  async (c) => {
    const { groupBy, time_range: range } = c.req.valid("query");
    const rows = await rewardsReport(c.env.DB, groupBy, range ?? { from: 0, to: Number.MAX_SAFE_INTEGER });
    return c.json({ groupBy, from: range ? toIso(range.from) : null, to: range ? toIso(range.to) : null, rows }, 200);
  },
);

donationRoutes.openapi(
  createRoute({
    method: "post",
    path: "/",
    operationId: "createDonation",
    tags: ["rewards"],
    summary: "Donate points to a charity",
    description: "Debits the caller's wallet (409 `insufficient_points` when short). A resend with the same `donationId` changes nothing.",
    security: bearer,
    middleware: [pointHolder],
    request: { body: jsonBody(donationRequestSchema) },
    responses: { 201: jsonResponse(donationSchema, "The donation"), ...problemResponses, ...rateLimitedResponses },
  }),
  async (c) => {
    const body = c.req.valid("json");
    const donation = await donate(c.env, { ...body, userId: principalOf(c).sub });
    await countDonationTrophies(c.env, donation);
    return c.json(donation, 201);
  },
);
