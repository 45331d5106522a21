import { createRoute } from "@hono/zod-openapi";
import { z } from "zod";
import { toIso } from "../../shared/time.ts";
import { principalOf, requireRole } from "../http/auth.ts";
import { bearer, createRouter, jsonBody, jsonResponse, problemResponses, rateLimitedResponses } from "../http/router.ts";
import { createCharity, createOffer, donate, listCharities, listOffers, redeemOffer } from "./rewards.ts";
import {
  charitySchema,
  donationRequestSchema,
  donationSchema,
  newCharitySchema,
  newOfferSchema,
  offerSchema,
  redemptionRequestSchema,
  redemptionSchema,
  voucherCheckSchema,
} from "./schemas.ts";
import { countDonationTrophies } from "./trophies.ts";
import { verifyVoucher } from "./voucher.ts";

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
    description: "A forged, altered or malformed code is `valid: false` with nulls, not an error.",
    security: [],
    request: { params: z.object({ code: z.string().max(2048) }) },
    responses: { 200: jsonResponse(voucherCheckSchema, "Whether Tally issued this code, and for what"), ...problemResponses },
  }),
  async (c) => {
    const claims = await verifyVoucher(c.env.VOUCHER_SECRET, c.req.valid("param").code);
    if (!claims) return c.json({ valid: false, offerId: null, userId: null, redeemedAt: null, redemptionId: null }, 200);
    return c.json(
      {
        valid: true,
        offerId: claims.offerId,
        userId: claims.userId,
        redeemedAt: toIso(claims.redeemedAt),
        redemptionId: claims.redemptionId,
      },
      200,
    );
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
