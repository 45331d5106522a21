/**
 * The pure rules of incentive streaks: local days, runs of consecutive days, and which rules hold.
 * Everything is computed from the *set* of local days per (employer, event), never from arrival
 * order, so duplicates, redeliveries and late events give the same answer. No runtime imports, so
 * unit tests and benchmarks read it directly.
 */
import { DAY_MS, MINUTE_MS, utcDate } from "../../shared/time.ts";

/** A catalogue rule, as far as evaluation needs it; the event is the one being recorded. */
export type AwardRule = { kind: "streak"; days: number } | { kind: "once" };

/** An employer incentive that applies to the event being recorded. */
export interface AwardCandidate {
  employerIncentiveId: string;
  incentiveId: string;
  rule: AwardRule;
  reward: { description: string };
  /** Only days from this day number count (attached with `countFrom: "attach"`); absent counts every day. */
  sinceDay?: number;
}

/** One incentive event, reduced to what the streak store needs. */
export interface Activity {
  eventId: string;
  employerId: string;
  event: string;
  /** Days since 1970-01-01 in the user's local time (see `localDayOf`). */
  localDay: number;
  /** The employer's active incentives for this event. */
  candidates: AwardCandidate[];
}

/** An award the store made; `confirmed` once the consumer has stored and published it. */
export interface StoredAward {
  employerIncentiveId: string;
  employerId: string;
  incentiveId: string;
  reward: { description: string };
  eventId: string;
  awardedAt: number;
}

export interface StreakSummary {
  current: number;
  longest: number;
  /** The latest local day with the event, as a day number. */
  lastDay: number;
}

export interface StreakView {
  employerId: string;
  event: string;
  current: number;
  longest: number;
  lastDay: string;
}

/**
 * The local calendar day of an instant, as days since 1970-01-01: UTC shifted by the user's
 * offset, so 23:30Z at +60 is already the next day.
 */
export function localDayOf(timestamp: number, utcOffsetMinutes = 0): number {
  return Math.floor((timestamp + utcOffsetMinutes * MINUTE_MS) / DAY_MS);
}

/** A day number written as `2026-01-05`. */
export function isoDay(day: number): string {
  return utcDate(day * DAY_MS);
}

/** Distinct days, ascending: the canonical form every other function reads. */
export function distinctSortedDays(days: Iterable<number>): number[] {
  return [...new Set(days)].sort((a, b) => a - b);
}

/**
 * Current and longest run of consecutive days in ascending distinct `days`; undefined when empty.
 * `current` is the run that ends at the last day, however long ago that was.
 */
export function summarizeDays(days: readonly number[]): StreakSummary | undefined {
  if (days.length === 0) return undefined;
  let longest = 1;
  let run = 1;
  for (let i = 1; i < days.length; i++) {
    run = days[i] === days[i - 1]! + 1 ? run + 1 : 1;
    if (run > longest) longest = run;
  }
  return { current: run, longest, lastDay: days[days.length - 1]! };
}

/** Whether `rule` holds on ascending distinct `days`: a streak anywhere in the set, or any day at all. */
export function ruleHolds(rule: AwardRule, days: readonly number[]): boolean {
  if (rule.kind === "once") return days.length > 0;
  return (summarizeDays(days)?.longest ?? 0) >= rule.days;
}

/**
 * The candidates whose rule holds on `days` and that were not awarded before. Rules only ever
 * become true as days are added, so evaluating on each arrival awards each rule on the first
 * arrival that completes it, whatever the order.
 */
export function newlyEarned(
  candidates: readonly AwardCandidate[],
  days: readonly number[],
  awarded: ReadonlySet<string>,
): AwardCandidate[] {
  const earned: AwardCandidate[] = [];
  const seen = new Set(awarded);
  for (const candidate of candidates) {
    if (seen.has(candidate.employerIncentiveId)) continue;
    const counted = candidate.sinceDay === undefined ? days : days.filter((day) => day >= candidate.sinceDay!);
    if (!ruleHolds(candidate.rule, counted)) continue;
    seen.add(candidate.employerIncentiveId);
    earned.push(candidate);
  }
  return earned;
}
