/**
 * The pure lifecycle rule of a scoring campaign: which of its steps (publish Start, publish End,
 * settle) are due at a moment and when the board must wake up next. `CampaignBoard` runs the
 * steps; keeping the decision here lets it be tested without the runtime.
 */
import { backoffDelay } from "../../shared/backoff.ts";
import { effectiveEndAt, type CampaignTerms } from "../../shared/campaigns.ts";

/** What the board has done so far, stored in its meta table. */
export interface Lifecycle {
  startPublished: boolean;
  endPublished: boolean;
  /** Set by an early end; the campaign stops qualifying purchases from this moment. */
  endedAt: number | null;
  /**
   * When the winner was decided and stored, before any outside write of the settlement; from then
   * on the ranking no longer moves and every retry pays this same winner.
   */
  decidedAt: number | null;
  winnerUserId: string | null;
  winnerTotalMinor: number | null;
  /**
   * Every paid position (0 and the tiers') decided with the winner, stored before any payment;
   * null on boards that decided before tiers existed (they paid position 0 only).
   */
  placings: Placing[] | null;
  /** Set once the winner row, the prize and D1's `settledAt` are all written. */
  settledAt: number | null;
  /** Alarm runs in a row whose steps failed; the board re-arms itself with backoff meanwhile. */
  failedAttempts: number;
}

/** A paid position as settlement decided it; the prize is in the campaign's currency. */
export interface Placing {
  position: number;
  userId: string;
  totalMinor: number;
  prizeMinor: number;
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

/** Longest wait between two attempts of a failing lifecycle step. */
export const MAX_RETRY_DELAY_MS = 10 * 60_000;

export const NEW_LIFECYCLE: Lifecycle = {
  startPublished: false,
  endPublished: false,
  endedAt: null,
  decidedAt: null,
  winnerUserId: null,
  winnerTotalMinor: null,
  placings: null,
  settledAt: null,
  failedAttempts: 0,
};

/** A stored lifecycle, with the fields older boards did not store yet filled in. */
export function withDefaults(stored: Partial<Lifecycle> | undefined): Lifecycle {
  return { ...NEW_LIFECYCLE, ...stored };
}

/** Wait before the next attempt after `failedAttempts` failed runs in a row: 1 s, 2 s, 4 s, … at most 10 min. */
export function retryDelayMs(failedAttempts: number): number {
  return backoffDelay(failedAttempts, { first: 1000, most: MAX_RETRY_DELAY_MS });
}

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
