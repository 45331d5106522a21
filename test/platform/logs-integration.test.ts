import { afterEach, describe, expect, it, vi } from "vitest";
import type { IncentiveAwardMessage } from "../../shared/messages.ts";
import { attach, createIncentive, expectAllAcked } from "../incentives/helpers.ts";
import { deliver } from "../support/queues.ts";

afterEach(() => {
  vi.restoreAllMocks();
});

/** Everything written to the console's info-level channels during a test, one string per call. */
function infoLines(spies: Array<ReturnType<typeof vi.spyOn>>): string[] {
  return spies.flatMap((spy) => spy.mock.calls.map((args: unknown[]) => args.map(String).join(" ")));
}

describe("info logs", () => {
  it("name a fulfilled award by its ids, never the reward or the user", async () => {
    const incentiveId = await createIncentive({ kind: "once", event: "birth-reported" }, "Report a birth");
    const reward = "Secret-ish reward: a hand-knitted blanket";
    const employerIncentiveId = await attach("7100", "1", incentiveId, reward);
    const userId = "987654321";
    const award: IncentiveAwardMessage = {
      kind: "incentive-award",
      awardId: `award-logs-${employerIncentiveId}`,
      userId,
      employerId: "7100",
      employerIncentiveId,
      incentiveId,
      reward: { description: reward },
      awardedAt: Date.now() - 60_000,
      eventId: "logs-event",
    };
    const spies = [vi.spyOn(console, "log").mockImplementation(() => {}), vi.spyOn(console, "info").mockImplementation(() => {})];
    expectAllAcked(await deliver("incentive-awards", [award]), 1);
    const lines = infoLines(spies);
    expect(lines.some((line) => line.includes(award.awardId))).toBe(true);
    for (const line of lines) {
      expect(line).not.toContain(reward);
      expect(line).not.toContain(userId);
    }
  });
});
