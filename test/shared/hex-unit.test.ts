import { describe, expect, it } from "vitest";
import { toHex } from "../../shared/hmac.ts";
import { tagIdOf } from "../../workers/user-tags/ingest.ts";

describe("toHex", () => {
  it("writes two lower-case digits a byte, from a view or a whole buffer", () => {
    expect(toHex(new Uint8Array([0, 15, 16, 171, 255]))).toBe("000f10abff");
    expect(toHex(new Uint8Array([1, 2, 3]).buffer)).toBe("010203");
    expect(toHex(new Uint8Array(new Uint8Array([9, 10, 11, 12]).buffer, 1, 2))).toBe("0a0b");
    expect(toHex(new Uint8Array())).toBe("");
  });

  it("keeps a stored tag's id: the first 16 bytes of its SHA-256, in hex", async () => {
    const tag = {
      time: "2022-03-03T12:15:00.000Z", cookie: "b9f1e2c4", country: "PL", device: "PC" as const, action: "BUY" as const,
      origin: "ads-campaign-7", product_info: { product_id: 1234, brand_id: "Nike", category_id: "Sneakers", price: 1999 },
    };
    // Computed by the id's code before it used toHex: a resent tag must still count once.
    expect(await tagIdOf(1646309700000, tag)).toBe("795a048051faeda91cda648306a2864d");
  });
});
