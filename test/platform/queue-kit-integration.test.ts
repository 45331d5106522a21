import { describe, expect, it } from "vitest";
import type { QueueMessage } from "../../shared/messages.ts";
import { deliver } from "../support/queues.ts";

/** Every queue with a consumer of its own kinds (the dead-letter queue takes anything). */
const QUEUES = [
  "purchase-events",
  "qualified-purchase-events",
  "campaign-lifecycle",
  "incentive-events",
  "incentive-awards",
  "established-connections",
  "user-tags",
];

describe("messages a consumer cannot handle", () => {
  it.each(QUEUES)("on %s are retried, never acked, so they reach the dead letters", async (queue) => {
    const strays = [
      { kind: "no-such-kind", id: "1" },
      null,
      "text",
    ] as unknown as QueueMessage[];
    const result = await deliver(queue, strays, { ids: ["stray-a", "stray-b", "stray-c"], attempts: 3 });
    expect(result.explicitAcks).toEqual([]);
    expect(result.ackAll).toBe(false);
    expect(result.retryMessages.map((retry) => retry.msgId)).toEqual(["stray-a", "stray-b", "stray-c"]);
  });

  it("include a message of the right kind but the wrong shape, while the good ones of the batch go through", async () => {
    const good: QueueMessage = {
      kind: "established-connection",
      requestId: "kit-good",
      citizenId: "1",
      officerId: "2",
      zip: "00-001",
      pointsEach: 5,
      establishedAt: Date.parse("2026-01-01T10:00:00Z"),
    };
    const broken = { ...good, requestId: 42 } as unknown as QueueMessage;
    const result = await deliver("established-connections", [good, broken], { ids: ["kit-good", "kit-broken"], attempts: 1 });
    expect(result.explicitAcks).toEqual(["kit-good"]);
    expect(result.retryMessages.map((retry) => retry.msgId)).toEqual(["kit-broken"]);
  });
});
