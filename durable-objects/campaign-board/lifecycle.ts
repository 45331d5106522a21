/**
 * The pure lifecycle rule of a scoring campaign: which of its steps (publish Start, publish End,
 * settle) are due at a moment and when the board must wake up next. `CampaignBoard` runs the
 * steps; keeping the decision here lets it be tested without the runtime.
 */
import { effectiveEndAt, type CampaignTerms } from "../../shared/campaigns.ts";

/** What the board has done so far, stored in its meta table. */
export interface Lifecycle {
  startPublished: boolean;
  endPublished: boolean;
  /** Set by an early end; the campaign stops qualifying purchases from this moment. */
  endedAt: number | null;
  settledAt: number | null;
  winnerUserId: string | null;
}

export type LifecycleStep = "start" | "end" | "settle";

export interface LifecyclePlan {
  /** Steps to run now, in this order. */
  due: LifecycleStep[];
  /** When the board must wake next once the due steps have run; null when nothing is left. */
  wakeAt: number | null;
}

/** Used when `SETTLE_DELAY_SECONDS` is unset or not a non-negative number. */
export const DEFAULT_SETTLE_DELAY_MS = 60_000;

export const NEW_LIFECYCLE: Lifecycle = { startPublished: false, endPublished: false, endedAt: null, settledAt: null, winnerUserId: null };

/** `SETTLE_DELAY_SECONDS` as milliseconds, or the default when it is unset or not a non-negative number. */
export function settleDelayMs(setting: string | undefined): number {
  const seconds = Number(setting ?? Number.NaN);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : DEFAULT_SETTLE_DELAY_MS;
}

/**
 * The steps due at `now` and the next wake-up. Start is due from `startAt`, End from the
 * effective end (an early end counts), settlement `delayMs` after the end once End is published.
 */
export function planLifecycle(terms: CampaignTerms, lifecycle: Lifecycle, now: number, delayMs: number): LifecyclePlan {
  const endAt = effectiveEndAt({ endAt: terms.endAt, endedAt: lifecycle.endedAt });
  const settleAt = endAt + delayMs;
  const due: LifecycleStep[] = [];
  let started = lifecycle.startPublished;
  let ended = lifecycle.endPublished;
  let settled = lifecycle.settledAt !== null;
  if (!started && now >= terms.startAt) {
    due.push("start");
    started = true;
  }
  if (!ended && now >= endAt) {
    due.push("end");
    ended = true;
  }
  if (ended && !settled && now >= settleAt) {
    due.push("settle");
    settled = true;
  }
  let wakeAt: number | null = null;
  if (!started) wakeAt = terms.startAt;
  else if (!ended) wakeAt = endAt;
  else if (!settled) wakeAt = settleAt;
  return { due, wakeAt };
}
