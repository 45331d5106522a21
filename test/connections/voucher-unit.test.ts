import { describe, expect, it } from "vitest";
import { signVoucher, verifyVoucher } from "../../workers/connections/voucher.ts";

const SECRET = "unit-secret";
const CLAIMS = { redemptionId: "r-1", offerId: "coffee", userId: "42", redeemedAt: Date.parse("2026-11-22T10:15:00.000Z") };

describe("Voucher codes", () => {
  it("verify to the claims they were signed with", async () => {
    const code = await signVoucher(SECRET, CLAIMS);
    expect(code).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(await verifyVoucher(SECRET, code)).toEqual(CLAIMS);
  });

  it("are invalid when the payload, the tag or the key differ", async () => {
    const code = await signVoucher(SECRET, CLAIMS);
    const [payload, tag] = code.split(".") as [string, string];
    const other = await signVoucher(SECRET, { ...CLAIMS, userId: "43" });
    const [otherPayload] = other.split(".") as [string];
    expect(await verifyVoucher(SECRET, `${otherPayload}.${tag}`)).toBeUndefined();
    const flipped = (tag[0] === "A" ? "B" : "A") + tag.slice(1);
    expect(await verifyVoucher(SECRET, `${payload}.${flipped}`)).toBeUndefined();
    expect(await verifyVoucher("another-secret", code)).toBeUndefined();
  });

  it("are invalid when malformed", async () => {
    for (const code of ["", "abc", "a.b", "a.b.c", `${"x".repeat(10)}.${"#".repeat(43)}`]) {
      expect(await verifyVoucher(SECRET, code)).toBeUndefined();
    }
  });
});
