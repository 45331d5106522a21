import { z } from "zod";
import { unprocessableIssue } from "./validation.ts";

/**
 * ISO 4217 minor-unit digits of the currencies Tally accepts. A well-formed code missing here is
 * answered 422 (unknown currency), never guessed.
 */
export const CURRENCY_DIGITS: Readonly<Record<string, number>> = {
  AED: 2, ARS: 2, AUD: 2, BGN: 2, BHD: 3, BRL: 2, CAD: 2, CHF: 2, CLP: 0, CNY: 2, COP: 2, CZK: 2,
  DKK: 2, EGP: 2, EUR: 2, GBP: 2, HKD: 2, HUF: 2, IDR: 2, ILS: 2, INR: 2, ISK: 0, JOD: 3, JPY: 0,
  KRW: 0, KWD: 3, MXN: 2, MYR: 2, NOK: 2, NZD: 2, OMR: 3, PEN: 2, PHP: 2, PLN: 2, RON: 2, SAR: 2,
  SEK: 2, SGD: 2, THB: 2, TND: 3, TRY: 2, TWD: 2, UAH: 2, USD: 2, VND: 0, ZAR: 2,
};

/**
 * The largest amount Tally accepts, in minor units (10^12: ten billion EUR, a trillion JPY). It
 * keeps sums exact: Number.MAX_SAFE_INTEGER (2^53 − 1, about 9·10^15) holds over 9000 such amounts.
 */
export const MAX_AMOUNT_MINOR = 1_000_000_000_000;

/** An amount in integer minor units of its currency (cents for EUR, yen for JPY). */
export interface Money {
  minor: number;
  currency: string;
}

/** The wire shape: `{"value":"12.50","currency":"EUR"}`. */
export interface MoneyJson {
  value: string;
  currency: string;
}

export function currencyDigits(currency: string): number | undefined {
  return CURRENCY_DIGITS[currency];
}

/**
 * Parses a decimal string into minor units, or returns an error message. Rejects more fraction
 * digits than the currency has rather than rounding a client's amount silently, and amounts
 * beyond ±MAX_AMOUNT_MINOR.
 */
export function parseMinor(value: string, currency: string): number | string {
  const digits = currencyDigits(currency);
  if (digits === undefined) return `unknown currency ${currency}`;
  const match = /^(-)?(\d+)(?:\.(\d+))?$/.exec(value);
  if (!match) return "must be a decimal number such as \"12.50\"";
  const [, sign, whole, fraction = ""] = match;
  if (fraction.length > digits) return `${currency} has ${digits} fraction digit${digits === 1 ? "" : "s"}`;
  const minor = Number(whole) * 10 ** digits + Number(fraction.padEnd(digits, "0") || "0");
  if (!(minor <= MAX_AMOUNT_MINOR)) return `must be at most ${formatMinor(MAX_AMOUNT_MINOR, currency)} ${currency}`;
  return sign ? -minor : minor;
}

/** Writes minor units with exactly the currency's fraction digits: 1250 EUR → "12.50". */
export function formatMinor(minor: number, currency: string): string {
  const digits = currencyDigits(currency) ?? 2;
  const sign = minor < 0 ? "-" : "";
  const abs = Math.abs(minor);
  if (digits === 0) return `${sign}${abs}`;
  const scale = 10 ** digits;
  const whole = Math.floor(abs / scale);
  const fraction = String(abs % scale).padStart(digits, "0");
  return `${sign}${whole}.${fraction}`;
}

export function toMoneyJson(money: Money): MoneyJson {
  return { value: formatMinor(money.minor, money.currency), currency: money.currency };
}

/** Accepts a decimal string or a JSON number; a number is read through its shortest decimal form. */
function decimalText(value: string | number): string {
  return typeof value === "number" ? (Number.isInteger(value) ? String(value) : String(value)) : value;
}

/**
 * The zod schema of a Money field. Shape errors are 400; an unknown currency is 422 (well-formed
 * but impossible). Output is integer minor units.
 */
export const moneySchema = z
  .object({
    value: z.union([z.string(), z.number().finite()]).meta({ description: "Decimal amount, e.g. \"12.50\"; at most 10^12 minor units (10000000000.00 EUR)" }),
    currency: z.string().regex(/^[A-Z]{3}$/, "must be an ISO 4217 code such as EUR"),
  })
  .transform((input, ctx): Money => {
    if (currencyDigits(input.currency) === undefined) {
      ctx.addIssue(unprocessableIssue(["currency"], `unknown currency ${input.currency}`));
      return z.NEVER;
    }
    const parsed = parseMinor(decimalText(input.value), input.currency);
    if (typeof parsed === "string") {
      ctx.addIssue({ code: "custom", path: ["value"], message: parsed });
      return z.NEVER;
    }
    return { minor: parsed, currency: input.currency };
  });

/** A Money field that must be zero or more. */
export const nonNegativeMoneySchema = moneySchema.refine((m) => m.minor >= 0, {
  message: "must not be negative",
  path: ["value"],
});

/** A Money field that must be more than zero. */
export const positiveMoneySchema = moneySchema.refine((m) => m.minor > 0, {
  message: "must be more than zero",
  path: ["value"],
});

/** The response shape of Money, for OpenAPI. */
export const moneyJsonSchema = z
  .object({ value: z.string(), currency: z.string() })
  .meta({ id: "Money", example: { value: "12.50", currency: "EUR" } });

/**
 * Money or null in a response. A union rather than `moneyJsonSchema.nullable()`: on a named schema
 * the OpenAPI generator renders `.nullable()` as `allOf: [Money, {type: [object, null]}]`, which
 * null never satisfies; the union is `anyOf: [Money, {type: null}]`.
 */
export const nullableMoneyJsonSchema = z.union([moneyJsonSchema, z.null()]);

/** An exchange rate as a decimal string, kept exact: "1.0850". */
export const rateSchema = z
  .union([z.string(), z.number().finite()])
  .transform((v) => decimalText(v))
  .pipe(z.string().regex(/^\d{1,12}(\.\d{1,12})?$/, "must be a positive decimal such as \"1.0850\""))
  .refine((v) => /[1-9]/.test(v), "must be more than zero");

function decimalToFraction(decimal: string): { num: bigint; den: bigint } {
  const [whole, fraction = ""] = decimal.split(".");
  return { num: BigInt(`${whole}${fraction}`), den: 10n ** BigInt(fraction.length) };
}

/** Integer division rounded half to even: ties go to the even neighbour (banker's rounding). */
export function divideHalfEven(numerator: bigint, denominator: bigint): bigint {
  const negative = numerator < 0n !== denominator < 0n;
  const n = numerator < 0n ? -numerator : numerator;
  const d = denominator < 0n ? -denominator : denominator;
  let quotient = n / d;
  const twiceRemainder = (n % d) * 2n;
  if (twiceRemainder > d || (twiceRemainder === d && quotient % 2n === 1n)) quotient += 1n;
  return negative ? -quotient : quotient;
}

/**
 * Converts an amount into `target` currency. `rate` is how many units of `target` one unit of
 * the amount's currency buys; `inverse` says the stored rate goes the other way (target → source).
 * Rounds half-even exactly once, on the final minor unit.
 */
export function convertMoney(amount: Money, target: string, rate: string, inverse = false): Money {
  if (amount.currency === target) return amount;
  const sourceDigits = BigInt(currencyDigits(amount.currency) ?? 2);
  const targetDigits = BigInt(currencyDigits(target) ?? 2);
  const { num, den } = decimalToFraction(rate);
  const [rateNum, rateDen] = inverse ? [den, num] : [num, den];
  const numerator = BigInt(amount.minor) * rateNum * 10n ** targetDigits;
  const denominator = rateDen * 10n ** sourceDigits;
  return { minor: Number(divideHalfEven(numerator, denominator)), currency: target };
}
