import { describe, expect, it } from "vitest";
import { chunk, D1_MAX_BOUND_PARAMETERS, d1Chunks } from "../../shared/db/chunks.ts";

describe("chunk", () => {
  it("splits in order into parts of at most the size, and nothing into nothing", () => {
    expect(chunk([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(chunk([], 3)).toEqual([]);
    expect(() => chunk([1], 0)).toThrow(RangeError);
  });
});

describe("d1Chunks", () => {
  it.each([
    [28, 4, 0],
    [100, 6, 0],
    [150, 1, 1],
    [1000, 1, 0],
    [101, 7, 0],
  ])("keeps %i rows of %i parameters plus %i fixed under D1's limit, losing none", (rows, perRow, fixed) => {
    const items = Array.from({ length: rows }, (_, i) => i);
    const parts = d1Chunks(items, perRow, fixed);
    for (const part of parts) expect(part.length * perRow + fixed).toBeLessThanOrEqual(D1_MAX_BOUND_PARAMETERS);
    expect(parts.flat()).toEqual(items);
    // As few statements as the limit allows.
    expect(parts.length).toBe(Math.ceil(rows / Math.floor((D1_MAX_BOUND_PARAMETERS - fixed) / perRow)));
  });

  it("refuses rows that cannot fit one statement", () => {
    expect(() => d1Chunks([1], 60, 50)).toThrow(RangeError);
  });
});
