/**
 * Paces what one socket receives: at most `perSecond` messages in any second. A message offered
 * under a slot (`offerLatest`) replaces the unsent one of that slot — the latest state wins —
 * while `enqueue`d messages (events a client must not miss) all go out, in order, behind the
 * limit. Plain TypeScript with the clock and timer injected, so it is unit-tested on its own.
 */

export interface PacerClock {
  now(): number;
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const SYSTEM_CLOCK: PacerClock = {
  now: () => Date.now(),
  setTimeout: (run, ms) => setTimeout(run, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

const WINDOW_MS = 1_000;
/**
 * Extra spacing beyond the second, so that delivery jitter never lets a client count more than
 * `perSecond` messages in its own one-second window.
 */
const JITTER_MARGIN_MS = 50;

interface Pending {
  slot: string | null;
  text: string;
}

export class SocketPacer {
  private readonly sentAt: number[] = [];
  private pending: Pending[] = [];
  private timer: unknown;

  /** `send` answers false when the socket is gone; the pacer then drops everything. */
  constructor(
    private readonly send: (text: string) => boolean,
    private readonly perSecond: number,
    private readonly clock: PacerClock = SYSTEM_CLOCK,
  ) {}

  /** Sends now if the limit allows, else replaces this slot's unsent message (keeping its place in line). */
  offerLatest(slot: string, text: string): void {
    const waiting = this.pending.find((entry) => entry.slot === slot);
    if (waiting) waiting.text = text;
    else this.pending.push({ slot, text });
    this.pump();
  }

  /** Sends now if the limit allows, else queues it behind the messages already waiting. */
  enqueue(text: string): void {
    this.pending.push({ slot: null, text });
    this.pump();
  }

  /** Messages not sent yet. */
  get waiting(): number {
    return this.pending.length;
  }

  /** The socket closed: forget what waits and stop the timer. */
  close(): void {
    this.pending = [];
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private pump(): void {
    if (this.timer !== undefined) return;
    while (this.pending.length > 0) {
      const now = this.clock.now();
      while (this.sentAt.length > 0 && this.sentAt[0]! <= now - WINDOW_MS - JITTER_MARGIN_MS) this.sentAt.shift();
      if (this.sentAt.length >= this.perSecond) {
        const wait = this.sentAt[0]! + WINDOW_MS + JITTER_MARGIN_MS - now;
        this.timer = this.clock.setTimeout(() => {
          this.timer = undefined;
          this.pump();
        }, wait);
        return;
      }
      const next = this.pending.shift()!;
      if (!this.send(next.text)) {
        this.close();
        return;
      }
      this.sentAt.push(now);
    }
  }
}
