import { z } from "zod";

/**
 * A seed `Long` id. Requests may send `"42"` or `42`; Tally writes it back as the canonical decimal
 * string `"42"` (so `"007"` and `7` are the same id).
 */
export const idSchema = z
  .union([z.string().regex(/^\d{1,16}$/, "must be a string of decimal digits"), z.number().int().nonnegative()])
  .meta({ description: "Decimal id; a string of digits or a non-negative safe integer", example: "42" })
  .transform((value, ctx) => {
    const n = Number(value);
    if (!Number.isSafeInteger(n)) {
      ctx.addIssue({ code: "custom", message: "must be at most 9007199254740991" });
      return z.NEVER;
    }
    return String(n);
  });

/** An id in a path segment: the same rules as `idSchema`, from text. */
export const idParamSchema = z
  .string()
  .regex(/^\d{1,16}$/, "must be a string of decimal digits")
  .refine((s) => Number.isSafeInteger(Number(s)), "must be at most 9007199254740991")
  .transform((s) => String(Number(s)))
  .meta({ example: "42" });

/** A client-chosen event id (purchaseId, eventId, …): printable, at most 128 characters. */
export const eventIdSchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces")
  .meta({ example: "2f1c7d0e-purchase-1" });

/** Ids written in responses are JSON strings of digits. */
export const idJsonSchema = z.string().meta({ example: "42" });
