import { describe, expect, it } from "vitest";
import {
  DEFAULT_SETTLE_DELAY_MS,
  MAX_RETRY_DELAY_MS,
  NEW_LIFECYCLE,
  planLifecycle,
  retryDelayMs,
  settleDelayMs,
  withDefaults,
  type Lifecycle,
} from "../../durable-objects/campaign-board/lifecycle.ts";
import type { CampaignTerms } from "../../shared/campaigns.ts";

const START = Date.parse("2026-03-01T00:00:00.000Z");
const END = Date.parse("2026-03-31T00:00:00.000Z");
const DELAY = 60_000;
const terms: CampaignTerms = { campaignId: "1", itemId: "7", prize: { minor: 5000, currency: "EUR" }, startAt: START, endAt: END };
const state = (patch: Partial<Lifecycle> = {}): Lifecycle => ({ ...NEW_LIFECYCLE, ...patch });

describe("planLifecycle", () => {
  it("waits for the start before anything is due", () => {
    expect(planLifecycle(terms, state(), START - 1, DELAY)).toEqual({ due: [], wakeAt: START });
  });

  it("publishes Start at the start and then waits for the end", () => {
    expect(planLifecycle(terms, state(), START, DELAY)).toEqual({ due: ["start"], wakeAt: END });
    expect(planLifecycle(terms, state({ startPublished: true }), START + 1, DELAY)).toEqual({ due: [], wakeAt: END });
  });

  it("publishes End at the end and settles only the delay later", () => {
    const started = state({ startPublished: true });
    expect(planLifecycle(terms, started, END, DELAY)).toEqual({ due: ["end"], wakeAt: END + DELAY });
    const ended = state({ startPublished: true, endPublished: true });
    expect(planLifecycle(terms, ended, END + DELAY - 1, DELAY)).toEqual({ due: [], wakeAt: END + DELAY });
    expect(planLifecycle(terms, ended, END + DELAY, DELAY)).toEqual({ due: ["settle"], wakeAt: null });
  });

  it("counts an early end as the end, for End and for settlement", () => {
    const early = START + 1000;
    const endedEarly = state({ startPublished: true, endedAt: early });
    expect(planLifecycle(terms, endedEarly, early, DELAY)).toEqual({ due: ["end"], wakeAt: early + DELAY });
    expect(planLifecycle(terms, endedEarly, early - 1, DELAY)).toEqual({ due: [], wakeAt: early });
  });

  it("runs every overdue step in order when the board wakes late, settling at once without a delay", () => {
    expect(planLifecycle(terms, state(), END + DELAY, DELAY).due).toEqual(["start", "end", "settle"]);
    expect(planLifecycle(terms, state(), END, 0).due).toEqual(["start", "end", "settle"]);
  });

  it("has nothing left after settlement", () => {
    const settled = state({ startPublished: true, endPublished: true, settledAt: END + DELAY });
    expect(planLifecycle(terms, settled, END + 10 * DELAY, DELAY)).toEqual({ due: [], wakeAt: null });
  });
});

describe("settleDelayMs", () => {
  it("reads seconds and falls back to the default for anything that is not a non-negative number", () => {
    expect(settleDelayMs("0")).toBe(0);
    expect(settleDelayMs("90")).toBe(90_000);
    expect(settleDelayMs(undefined)).toBe(DEFAULT_SETTLE_DELAY_MS);
    expect(settleDelayMs("-1")).toBe(DEFAULT_SETTLE_DELAY_MS);
    expect(settleDelayMs("soon")).toBe(DEFAULT_SETTLE_DELAY_MS);
  });
});

describe("retryDelayMs", () => {
  it("doubles from one second and stops growing at the maximum", () => {
    expect([1, 2, 3, 4].map(retryDelayMs)).toEqual([1000, 2000, 4000, 8000]);
    expect(retryDelayMs(30)).toBe(MAX_RETRY_DELAY_MS);
    expect(retryDelayMs(10_000)).toBe(MAX_RETRY_DELAY_MS);
  });
});

describe("withDefaults", () => {
  it("reads a lifecycle stored before the decided winner was kept as not yet decided", () => {
    const stored = { startPublished: true, endPublished: true, endedAt: null, settledAt: null, winnerUserId: null };
    expect(withDefaults(stored)).toEqual({ ...NEW_LIFECYCLE, ...stored, decidedAt: null, failedAttempts: 0 });
  });
});
