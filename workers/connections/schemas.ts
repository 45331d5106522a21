/**
 * Request and response schemas of the connections and rewards API. The same schemas
 * validate requests and generate /openapi.json.
 */
import { z } from "zod";
import {
  DEFAULT_RADIUS_METERS,
  latitudeSchema,
  longitudeSchema,
  MAX_RADIUS_METERS,
} from "../../durable-objects/zip-area/socket-messages.ts";
import { eventIdSchema, idJsonSchema, idSchema } from "../../shared/ids.ts";
import { isoTimeRangeSchema } from "../../shared/time.ts";

export const MAX_ZIPS_PER_SEARCH = 10;

const ZIP = /^[A-Za-z0-9][A-Za-z0-9-]{1,10}[A-Za-z0-9]$/;
const ZIP_MESSAGE = "must be a postal code of 3 to 12 letters, digits and inner hyphens (10001, 10001-1234)";

/** A zip (postal) code; upper-cased so `sw1a` and `SW1A` are one area. */
export const zipSchema = z
  .string()
  .regex(ZIP, ZIP_MESSAGE)
  .transform((zip) => zip.toUpperCase())
  .meta({ example: "10001" });

/** A catalogue or event id chosen by a client: printable ASCII, or a non-negative integer. */
export const clientIdSchema = z
  .union([eventIdSchema, z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)])
  .transform(String)
  .meta({ example: "offer-coffee-1" });

/** A client id in a path segment. */
export const clientIdParamSchema = eventIdSchema;

const coordinates = { lat: latitudeSchema, lng: longitudeSchema };

// ---- Presence and nearby -------------------------------------------------------------------

export const nearbyQuerySchema = z.object({
  zip: z
    .string()
    .transform((text) => text.split(","))
    .pipe(z.array(zipSchema).min(1).max(MAX_ZIPS_PER_SEARCH, `at most ${MAX_ZIPS_PER_SEARCH} zips`))
    .transform((zips) => [...new Set(zips)])
    .meta({ description: "Comma-separated zip codes to search", example: "10001,10002" }),
  lat: z.coerce.number().pipe(latitudeSchema),
  lng: z.coerce.number().pipe(longitudeSchema),
  radius: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_RADIUS_METERS, `at most ${MAX_RADIUS_METERS} m`)
    .default(DEFAULT_RADIUS_METERS)
    .meta({ description: "Meters; default 1000, at most 10000" }),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

export const nearbyResponseSchema = z.object({
  officers: z.array(
    z.object({
      officerId: idJsonSchema,
      displayName: z.string().nullable().meta({ description: "null when the officer has none" }),
      zip: z.string(),
      distanceMeters: z.number().meta({ description: "Rounded to 10 m", example: 80 }),
    }),
  ),
});

// ---- Connections ---------------------------------------------------------------------------

export const connectionRequestSchema = z
  .object({
    requestId: eventIdSchema.optional().meta({ description: "Optional; assigned by the server when missing" }),
    officerId: idSchema,
    zip: zipSchema,
    ...coordinates,
  })
  .meta({ id: "ConnectionRequest" });

export const connectionStatusSchema = z.enum(["pending", "accepted", "declined", "expired"]);

export const connectionSchema = z
  .object({
    requestId: z.string(),
    citizenId: idJsonSchema,
    officerId: idJsonSchema,
    zip: z.string(),
    status: connectionStatusSchema,
    createdAt: z.string(),
  })
  .meta({ id: "Connection" });

export const reportQuerySchema = z.object({
  time_range: isoTimeRangeSchema.optional().meta({ description: "Default: all time" }),
  groupBy: z.enum(["zip", "day"]).default("zip"),
});

export const reportResponseSchema = z.object({
  groupBy: z.enum(["zip", "day"]),
  from: z.string().nullable(),
  to: z.string().nullable(),
  total: z.number().int(),
  rows: z.array(
    z.union([
      z.object({ zip: z.string(), connections: z.number().int() }),
      z.object({ day: z.string(), connections: z.number().int() }),
    ]),
  ),
});

// ---- Offers, charities, redemptions, donations ---------------------------------------------

const pointsSchema = z.number().int().min(1).max(1_000_000_000);

export const newOfferSchema = z
  .object({
    offerId: clientIdSchema.optional(),
    retailer: z
      .string()
      .trim()
      .min(1)
      .max(200)
      .meta({ description: "The retailer's id: a retailer token whose `retailerId` claim equals it may use this offer's vouchers" }),
    title: z.string().trim().min(1).max(500),
    pointsCost: pointsSchema,
    stock: z.number().int().min(0).max(1_000_000_000).optional().meta({ description: "Omit for unlimited" }),
  })
  .meta({ id: "NewOffer" });

export const offerSchema = z
  .object({
    offerId: z.string(),
    retailer: z.string(),
    title: z.string(),
    pointsCost: z.number().int(),
    stock: z.number().int().nullable().meta({ description: "Left to redeem; null is unlimited" }),
    createdAt: z.string(),
  })
  .meta({ id: "Offer" });

export const newCharitySchema = z
  .object({ charityId: clientIdSchema.optional(), name: z.string().trim().min(1).max(200) })
  .meta({ id: "NewCharity" });

export const charitySchema = z
  .object({ charityId: z.string(), name: z.string(), pointsDonated: z.number().int(), createdAt: z.string() })
  .meta({ id: "Charity" });

export const redemptionRequestSchema = z
  .object({ offerId: clientIdSchema, redemptionId: clientIdSchema.optional() })
  .meta({ id: "RedemptionRequest" });

export const redemptionSchema = z
  .object({
    redemptionId: z.string(),
    voucherCode: z.string(),
    offerId: z.string(),
    userId: idJsonSchema,
    points: z.number().int(),
    redeemedAt: z.string(),
  })
  .meta({ id: "Redemption" });

export const donationRequestSchema = z
  .object({ charityId: clientIdSchema, points: pointsSchema, donationId: clientIdSchema.optional() })
  .meta({ id: "DonationRequest" });

export const donationSchema = z
  .object({
    donationId: z.string(),
    charityId: z.string(),
    userId: idJsonSchema,
    points: z.number().int(),
    donatedAt: z.string(),
  })
  .meta({ id: "Donation" });

export const voucherCheckSchema = z
  .object({
    valid: z.boolean(),
    offerId: z.string().nullable(),
    userId: z.string().nullable(),
    redeemedAt: z.string().nullable(),
    expiresAt: z.string().nullable().meta({ description: "`VOUCHER_TTL_DAYS` (default 90) after `redeemedAt`" }),
    usedAt: z.string().nullable().meta({ description: "When a retailer accepted it; null while unused" }),
    redemptionId: z.string().nullable(),
  })
  .meta({ id: "VoucherCheck" });

export const voucherUseSchema = z.object({ usedAt: z.string() }).meta({ id: "VoucherUse" });

export const rewardsReportQuerySchema = z.object({
  time_range: reportQuerySchema.shape.time_range,
  groupBy: z.enum(["offer", "charity", "day"]).default("offer"),
});

const rewardCounts = {
  redemptions: z.number().int(),
  pointsRedeemed: z.number().int(),
  donations: z.number().int(),
  pointsDonated: z.number().int(),
};

export const rewardsReportSchema = z
  .object({
    groupBy: z.enum(["offer", "charity", "day"]),
    from: z.string().nullable(),
    to: z.string().nullable(),
    rows: z.array(
      z.union([
        z.object({ offerId: z.string(), ...rewardCounts }),
        z.object({ charityId: z.string(), ...rewardCounts }),
        z.object({ day: z.string(), ...rewardCounts }),
      ]),
    ),
  })
  .meta({ id: "RewardsReport" });
