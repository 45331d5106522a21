import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { QueueMessage } from "../../shared/messages.ts";
import { acceptTag } from "../../workers/user-tags/ingest.ts";
import { sendCoalesced } from "../../workers/queue-kit.ts";

/** Tags as `POST /user_tags` queues them, for distinct cookies. */
async function tags(count: number, prefix: string): Promise<QueueMessage[]> {
  return Promise.all(
    Array.from({ length: count }, (_, i) =>
      acceptTag({
        time: Date.now() - 1000,
        cookie: `${prefix}-${i}`,
        country: "PL",
        device: "PC",
        action: "VIEW",
        origin: "coalesce-test",
        product_info: { product_id: i, brand_id: "b", category_id: "c", price: 100 },
      }),
    ),
  );
}

/**
 * The real USER_TAGS binding, with each `sendBatch` recorded and handed on to `sendBatch(real, …)`
 * (by default the real one). Each test makes a binding of its own: pending batches are kept per binding.
 */
function recordedQueue(sendBatch: (real: Queue, messages: MessageSendRequest[]) => Promise<unknown> = (real, messages) => real.sendBatch(messages)) {
  const batches: QueueMessage[][] = [];
  const queue = new Proxy(env.USER_TAGS, {
    get: (target, key) => {
      if (key === "sendBatch") {
        return (messages: MessageSendRequest<QueueMessage>[]) => {
          batches.push(messages.map((message) => message.body));
          return sendBatch(target, messages);
        };
      }
      const value = Reflect.get(target, key);
      return typeof value === "function" ? value.bind(target) : value;
    },
  }) as Queue<QueueMessage>;
  return { queue, batches };
}

const keptAlive: Promise<unknown>[] = [];
const waitUntil = (promise: Promise<unknown>) => void keptAlive.push(promise);

afterEach(() => {
  vi.useRealTimers();
});

describe("sendCoalesced", () => {
  it("sends messages handed over together in one sendBatch, and each caller resolves once it is accepted", async () => {
    const { queue, batches } = recordedQueue();
    const messages = await tags(10, "together");
    await Promise.all(messages.map((message) => sendCoalesced(queue, message, waitUntil)));
    expect(batches).toEqual([messages]);

    // A message handed over after that batch went starts the next one.
    const [later] = await tags(1, "later");
    await sendCoalesced(queue, later!, waitUntil);
    expect(batches).toEqual([messages, [later]]);
  });

  it("fails every caller of a batch the queue refuses, and the next batch goes out anew", async () => {
    let refuse = true;
    const { queue, batches } = recordedQueue((real, messages) =>
      refuse ? Promise.reject(new Error("queue unavailable")) : real.sendBatch(messages),
    );
    const messages = await tags(3, "refused");
    const outcomes = await Promise.allSettled(messages.map((message) => sendCoalesced(queue, message, waitUntil)));
    expect(outcomes.map((outcome) => outcome.status)).toEqual(["rejected", "rejected", "rejected"]);
    expect(outcomes.map((outcome) => (outcome as PromiseRejectedResult).reason.message)).toEqual(Array(3).fill("queue unavailable"));

    refuse = false;
    await sendCoalesced(queue, messages[0]!, waitUntil);
    expect(batches).toHaveLength(2);
  });

  it("gives up after 30 s on a batch that never settles, so a request fails (and its client resends) rather than hangs", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "Date"] });
    const { queue } = recordedQueue(() => new Promise(() => {}));
    const [message] = await tags(1, "hung");
    const waiting = sendCoalesced(queue, message!, waitUntil);
    const outcome = waiting.then(
      () => "resolved",
      (error: Error) => error.message,
    );
    await vi.advanceTimersByTimeAsync(29_000);
    expect(await Promise.race([outcome, Promise.resolve("still waiting")])).toBe("still waiting");
    await vi.advanceTimersByTimeAsync(2_000);
    expect(await outcome).toMatch(/did not settle within 30000 ms/);
  });
});
