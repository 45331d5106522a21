import { describe, expect, it } from "vitest";
import { convertMoney, divideHalfEven, formatMinor, MAX_AMOUNT_MINOR, moneySchema, parseMinor } from "../../shared/money.ts";

describe("money", () => {
  it("parses decimal strings into minor units of the currency", () => {
    expect(parseMinor("12.50", "EUR")).toBe(1250);
    expect(parseMinor("12.5", "EUR")).toBe(1250);
    expect(parseMinor("12", "EUR")).toBe(1200);
    expect(parseMinor("1500", "JPY")).toBe(1500);
    expect(parseMinor("1.234", "BHD")).toBe(1234);
  });

  it("refuses more fraction digits than the currency has instead of rounding", () => {
    expect(parseMinor("12.505", "EUR")).toMatch(/2 fraction digits/);
    expect(parseMinor("10.5", "JPY")).toMatch(/0 fraction digits/);
    expect(parseMinor("abc", "EUR")).toMatch(/decimal/);
  });

  it("refuses amounts above 10^12 minor units, whose sums could leave the exact integers", () => {
    expect(parseMinor("10000000000.00", "EUR")).toBe(MAX_AMOUNT_MINOR);
    expect(parseMinor("10000000000.01", "EUR")).toMatch(/at most 10000000000.00 EUR/);
    expect(parseMinor("1000000000001", "JPY")).toMatch(/at most/);
    expect(parseMinor("9".repeat(400), "EUR")).toMatch(/at most/);
    expect(Number.isSafeInteger(9000 * MAX_AMOUNT_MINOR)).toBe(true);
  });

  it("writes exactly the currency's fraction digits", () => {
    expect(formatMinor(1250, "EUR")).toBe("12.50");
    expect(formatMinor(5, "EUR")).toBe("0.05");
    expect(formatMinor(1500, "JPY")).toBe("1500");
    expect(formatMinor(1234, "BHD")).toBe("1.234");
    expect(formatMinor(-5, "EUR")).toBe("-0.05");
  });

  it("rounds half to even", () => {
    expect(divideHalfEven(5n, 2n)).toBe(2n);
    expect(divideHalfEven(7n, 2n)).toBe(4n);
    expect(divideHalfEven(11n, 4n)).toBe(3n);
    expect(divideHalfEven(-5n, 2n)).toBe(-2n);
  });

  it("converts with a rate and rounds once, half-even", () => {
    // 10.00 USD at 1 USD = 0.9215 EUR → 9.215 EUR → 9.22 (half to even: 921.5 → 922)
    expect(convertMoney({ minor: 1000, currency: "USD" }, "EUR", "0.9215")).toEqual({ minor: 922, currency: "EUR" });
    // 10.00 USD at 0.9225 → 922.5 → 922 (even)
    expect(convertMoney({ minor: 1000, currency: "USD" }, "EUR", "0.9225")).toEqual({ minor: 922, currency: "EUR" });
    // Inverse: the stored pair is EUR→USD 1.25, so 10.00 USD = 8.00 EUR.
    expect(convertMoney({ minor: 1000, currency: "USD" }, "EUR", "1.25", true)).toEqual({ minor: 800, currency: "EUR" });
    // Across minor-unit sizes: 1000 JPY at 1 JPY = 0.0061 EUR → 6.10 EUR.
    expect(convertMoney({ minor: 1000, currency: "JPY" }, "EUR", "0.0061")).toEqual({ minor: 610, currency: "EUR" });
  });

  it("validates money on input: shape 400, unknown currency flagged separately", () => {
    expect(moneySchema.safeParse({ value: "1.00", currency: "EUR" }).data).toEqual({ minor: 100, currency: "EUR" });
    expect(moneySchema.safeParse({ value: 1.5, currency: "EUR" }).data).toEqual({ minor: 150, currency: "EUR" });
    const unknown = moneySchema.safeParse({ value: "1.00", currency: "XXX" });
    expect(unknown.success).toBe(false);
    expect(unknown.error?.issues[0]?.path).toEqual(["currency"]);
    expect(moneySchema.safeParse({ value: "1.00", currency: "eur" }).success).toBe(false);
  });
});
