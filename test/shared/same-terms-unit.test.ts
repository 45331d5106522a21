import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalJson, sameTerms } from "../../shared/same-terms.ts";

/** Plain deep equality of JSON values, key order aside: the reference `sameTerms` must agree with. */
function deepEqual(x: unknown, y: unknown): boolean {
  if (Array.isArray(x) || Array.isArray(y)) {
    return Array.isArray(x) && Array.isArray(y) && x.length === y.length && x.every((member, i) => deepEqual(member, y[i]));
  }
  if (x !== null && y !== null && typeof x === "object" && typeof y === "object") {
    const xs = x as Record<string, unknown>;
    const ys = y as Record<string, unknown>;
    const keys = Object.keys(xs);
    return keys.length === Object.keys(ys).length && keys.every((key) => Object.hasOwn(ys, key) && deepEqual(xs[key], ys[key]));
  }
  return x === y;
}

describe("sameTerms", () => {
  it("holds for the same terms written with keys in another order, at any depth", () => {
    expect(sameTerms({ a: 1, b: { c: [1, { d: "x", e: null }] } }, { b: { c: [1, { e: null, d: "x" }] }, a: 1 })).toBe(true);
  });

  it("treats a member set to undefined as a missing one", () => {
    expect(sameTerms({ a: 1, b: undefined }, { a: 1 })).toBe(true);
    expect(sameTerms({ a: 1, b: null }, { a: 1 })).toBe(false);
  });

  it.each([
    ["another value", { a: 1 }, { a: 2 }],
    ["another type", { a: 1 }, { a: "1" }],
    ["an extra member", { a: 1 }, { a: 1, b: 2 }],
    ["arrays in another order", { a: [1, 2] }, { a: [2, 1] }],
    ["a nested difference", { a: { b: { c: true } } }, { a: { b: { c: false } } }],
    ["an array against an object", [1], { 0: 1 }],
  ])("is false for %s", (_label, a, b) => {
    expect(sameTerms(a, b)).toBe(false);
  });

  it("agrees with deep equality for any JSON value and any reordering of its keys", () => {
    const shuffleKeys = (value: unknown, seed: number): unknown => {
      if (Array.isArray(value)) return value.map((member) => shuffleKeys(member, seed));
      if (value !== null && typeof value === "object") {
        const entries = Object.entries(value);
        const rotated = entries.slice(seed % Math.max(entries.length, 1)).concat(entries.slice(0, seed % Math.max(entries.length, 1)));
        return Object.fromEntries(rotated.reverse().map(([key, member]) => [key, shuffleKeys(member, seed + 1)]));
      }
      return value;
    };
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), fc.nat(), (a, b, seed) => {
        expect(sameTerms(a, shuffleKeys(a, seed))).toBe(true);
        expect(sameTerms(a, b)).toBe(deepEqual(a, b));
      }),
    );
  });

  it("writes canonical JSON that parses back to the value", () => {
    expect(canonicalJson({ b: 1, a: [2, { d: 3, c: 4 }] })).toBe('{"a":[2,{"c":4,"d":3}],"b":1}');
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(JSON.parse(canonicalJson(value))).toEqual(JSON.parse(JSON.stringify(value)));
      }),
    );
  });
});
