import { describe, expect, it } from "vitest";
import { retryDelayMs } from "../../durable-objects/campaign-board/lifecycle.ts";
import { backoffDelay } from "../../shared/backoff.ts";
import { retryDelaySeconds } from "../../workers/queue-kit.ts";
import { nextRetrySeconds } from "../../workers/webhooks/deliveries.ts";

describe("backoffDelay", () => {
  it("doubles from the first delay up to the ceiling", () => {
    const schedule = { first: 3, most: 20 };
    expect([1, 2, 3, 4, 5, 60].map((failures) => backoffDelay(failures, schedule))).toEqual([3, 6, 12, 20, 20, 20]);
  });

  it("waits the first delay when nothing has failed yet", () => {
    expect(backoffDelay(0, { first: 5, most: 100 })).toBe(5);
    expect(backoffDelay(-1, { first: 5, most: 100 })).toBe(5);
  });
});

// Each caller's schedule, as its documentation states it, through the one helper.
describe("the callers' schedules", () => {
  it("queue messages: 2, 4, 8 s … at most 5 minutes", () => {
    expect([0, 1, 2, 3, 8, 9, 100].map(retryDelaySeconds)).toEqual([2, 2, 4, 8, 256, 300, 300]);
  });

  it("webhook deliveries: 30 s, 1 min, 2 min … at most 12 h, within the 24 h window", () => {
    expect([1, 2, 3, 11, 12].map((attempt) => nextRetrySeconds(attempt, 0))).toEqual([30, 60, 120, 30_720, 43_200]);
    expect(nextRetrySeconds(12, 23 * 3_600_000)).toBe(3_600);
    expect(nextRetrySeconds(3, 24 * 3_600_000)).toBeUndefined();
  });

  it("campaign board steps: 1 s, 2 s, 4 s … at most 10 minutes", () => {
    expect([0, 1, 2, 3, 10, 11].map(retryDelayMs)).toEqual([1_000, 1_000, 2_000, 4_000, 512_000, 600_000]);
  });
});
