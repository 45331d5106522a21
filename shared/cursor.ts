/**
 * The one page-cursor codec. A cursor is the last row's position in a list's order (for example an
 * award's `[awardedAt, awardId]`), written as base64url JSON: opaque to clients, stable while rows
 * arrive, and checked against the list's position schema by the route's query schema.
 */
import { z } from "zod";
import { fromBase64Url, toBase64Url } from "./base64url.ts";

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/** The longest cursor a route accepts; the ones written here are far shorter. */
const MAX_CURSOR_LENGTH = 500;

/** The cursor of a page that ends at `position` (any JSON value), for `nextCursor`. */
export function encodeCursor(position: unknown): string {
  return toBase64Url(utf8.encode(JSON.stringify(position)));
}

/** The JSON value a cursor holds, or undefined when the text is not one `encodeCursor` wrote. */
export function decodeCursor(cursor: string): unknown {
  const bytes = fromBase64Url(cursor);
  if (bytes === undefined) return undefined;
  try {
    return JSON.parse(strictUtf8.decode(bytes)) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * A `cursor` query parameter decoded to a position of `position`'s shape. In a route's query schema
 * a cursor this server did not write (not base64url JSON, or a position of another shape) fails
 * validation: 400 naming `query.cursor`.
 *
 * @example
 * query: z.object({ cursor: cursorSchema(z.tuple([z.number().int(), z.string()])).optional() })
 */
export function cursorSchema<T extends z.ZodType>(position: T) {
  return z
    .string()
    .max(MAX_CURSOR_LENGTH)
    .transform((text, ctx): z.output<T> => {
      const decoded = decodeCursor(text);
      const parsed = decoded === undefined ? undefined : position.safeParse(decoded);
      if (!parsed?.success) {
        ctx.addIssue({ code: "custom", message: "must be a nextCursor this endpoint gave" });
        return z.NEVER;
      }
      return parsed.data;
    });
}
