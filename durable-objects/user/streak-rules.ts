/**
 * The pure rules of incentive streaks: local days, runs of consecutive days, and which rules hold.
 * Everything is computed from the *set* of local days per (employer, event), never from arrival
 * order, so duplicates, redeliveries and late events give the same answer. No runtime imports, so
 * unit tests and benchmarks read it directly.
 */
import { DAY_MS, MINUTE_MS, utcDate } from "../../shared/time.ts";

/** A catalogue rule, as far as evaluation needs it; the event is the one being recorded. */
export type AwardRule = { kind: "streak"; days: number } | { kind: "once" } | { kind: "count"; times: number; withinDays: number };

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

/**
 * What a user has of one (employer, event): the distinct local days, and the local day of each
 * distinct event id (a `count` rule counts events, not days). Both ascending.
 */
export interface History {
  days: readonly number[];
  eventDays: readonly number[];
}

/** How far a user is towards a rule: `current` of `needed` (see `progressOf`). */
export interface RuleProgress {
  current: number;
  needed: number;
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

/** The most events among ascending `eventDays` that fall within `withinDays` consecutive days. */
export function mostEventsWithin(eventDays: readonly number[], withinDays: number): number {
  let most = 0;
  let first = 0;
  for (let last = 0; last < eventDays.length; last++) {
    while (eventDays[last]! - eventDays[first]! >= withinDays) first++;
    most = Math.max(most, last - first + 1);
  }
  return most;
}

/**
 * Whether `rule` holds on a history: a streak anywhere in the days, any day at all, or `times`
 * events within some `withinDays` consecutive days.
 */
export function ruleHolds(rule: AwardRule, history: History): boolean {
  if (rule.kind === "once") return history.days.length > 0;
  if (rule.kind === "count") return mostEventsWithin(history.eventDays, rule.withinDays) >= rule.times;
  return (summarizeDays(history.days)?.longest ?? 0) >= rule.days;
}

/**
 * Where a user stands on a rule, from the latest day of the history backwards: a streak's
 * `current` is the run of consecutive days ending at the latest day (as `GET /users/{id}/streaks`
 * says), a count's the events within the `withinDays` days ending at the latest event's day, a
 * one-off's 1 once the event happened.
 */
export function progressOf(rule: AwardRule, history: History): RuleProgress {
  if (rule.kind === "once") return { current: Math.min(history.days.length, 1), needed: 1 };
  if (rule.kind === "streak") return { current: summarizeDays(history.days)?.current ?? 0, needed: rule.days };
  const latest = history.eventDays[history.eventDays.length - 1];
  const current = latest === undefined ? 0 : history.eventDays.filter((day) => day > latest - rule.withinDays).length;
  return { current, needed: rule.times };
}

/** The part of a history a candidate counts: days from its `sinceDay` on, or all of it. */
export function countedHistory(candidate: Pick<AwardCandidate, "sinceDay">, history: History): History {
  const since = candidate.sinceDay;
  if (since === undefined) return history;
  return { days: history.days.filter((day) => day >= since), eventDays: history.eventDays.filter((day) => day >= since) };
}

/**
 * The candidates whose rule holds on `history` and that were not awarded before. Rules only ever
 * become true as days and events are added, so evaluating on each arrival awards each rule on the
 * first arrival that completes it, whatever the order.
 */
export function newlyEarned(
  candidates: readonly AwardCandidate[],
  history: History,
  awarded: ReadonlySet<string>,
): AwardCandidate[] {
  const earned: AwardCandidate[] = [];
  const seen = new Set(awarded);
  for (const candidate of candidates) {
    if (seen.has(candidate.employerIncentiveId)) continue;
    if (!ruleHolds(candidate.rule, countedHistory(candidate, history))) continue;
    seen.add(candidate.employerIncentiveId);
    earned.push(candidate);
  }
  return earned;
}
