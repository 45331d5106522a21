import { describe, expect, it } from "vitest";
import { retryDelaySeconds } from "../../workers/queue-kit.ts";

describe("retryDelaySeconds", () => {
  it("doubles from 2 s with each failed attempt and stops at 5 minutes", () => {
    expect([0, 1, 2, 3, 4, 5].map(retryDelaySeconds)).toEqual([2, 2, 4, 8, 16, 32]);
    expect(retryDelaySeconds(8)).toBe(256);
    expect(retryDelaySeconds(9)).toBe(300);
    expect(retryDelaySeconds(40)).toBe(300);
  });
});
