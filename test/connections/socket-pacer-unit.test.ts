import { describe, expect, it } from "vitest";
import { SocketPacer, type PacerClock } from "../../durable-objects/socket-pacer.ts";

/** A clock the test moves by hand; timers fire when it passes their time. */
class ManualClock implements PacerClock {
  private at = 0;
  private timers: Array<{ due: number; run: () => void }> = [];

  now(): number {
    return this.at;
  }

  setTimeout(run: () => void, ms: number): unknown {
    const timer = { due: this.at + ms, run };
    this.timers.push(timer);
    return timer;
  }

  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((timer) => timer !== handle);
  }

  advance(ms: number): void {
    const end = this.at + ms;
    for (;;) {
      const next = this.timers.filter((timer) => timer.due <= end).sort((a, b) => a.due - b.due)[0];
      if (!next) break;
      this.timers = this.timers.filter((timer) => timer !== next);
      this.at = next.due;
      next.run();
    }
    this.at = end;
  }
}

function pacer(perSecond = 5) {
  const clock = new ManualClock();
  const sent: Array<{ at: number; text: string }> = [];
  const box = new SocketPacer((text) => (sent.push({ at: clock.now(), text }), true), perSecond, clock);
  return { clock, sent, box };
}

describe("SocketPacer", () => {
  it("sends at once under the limit, then holds the rest until the oldest send is a second old", () => {
    const { clock, sent, box } = pacer();
    for (let i = 0; i < 7; i++) box.enqueue(`event ${i}`);
    expect(sent.map((s) => s.text)).toEqual(["event 0", "event 1", "event 2", "event 3", "event 4"]);
    clock.advance(999);
    expect(sent).toHaveLength(5);
    clock.advance(100);
    expect(sent.map((s) => s.text)).toEqual(["event 0", "event 1", "event 2", "event 3", "event 4", "event 5", "event 6"]);
    expect(box.waiting).toBe(0);
  });

  it("keeps only the latest message of a slot, in the slot's place in line, and never drops queued events", () => {
    const { clock, sent, box } = pacer(1);
    box.offerLatest("officers", "list 1");
    box.offerLatest("officers", "list 2");
    box.enqueue("connection accepted");
    box.offerLatest("officers", "list 3");
    box.enqueue("trophy");
    expect(sent.map((s) => s.text)).toEqual(["list 1"]);
    clock.advance(5_000);
    expect(sent.map((s) => s.text)).toEqual(["list 1", "list 3", "connection accepted", "trophy"]);
  });

  it("never lets more than perSecond messages into any one-second window", () => {
    const { clock, sent, box } = pacer(5);
    for (let i = 0; i < 200; i++) {
      box.offerLatest("officers", `list ${i}`);
      if (i % 17 === 0) box.enqueue(`event ${i}`);
      clock.advance(7);
    }
    clock.advance(5_000);
    for (let i = 5; i < sent.length; i++) expect(sent[i]!.at - sent[i - 5]!.at).toBeGreaterThanOrEqual(1_000);
    expect(sent.filter((s) => s.text.startsWith("list")).at(-1)?.text).toBe("list 199");
    expect(sent.filter((s) => s.text.startsWith("event"))).toHaveLength(12);
  });

  it("drops what waits once the socket is gone", () => {
    const { clock, box } = pacer(1);
    let open = true;
    const sent: string[] = [];
    const closing = new SocketPacer((text) => open && (sent.push(text), true), 1, clock);
    closing.enqueue("a");
    closing.enqueue("b");
    open = false;
    clock.advance(2_000);
    expect(sent).toEqual(["a"]);
    expect(closing.waiting).toBe(0);
    box.close();
  });
});
