/**
 * The one exponential backoff: queue retries, webhook retries, a campaign board's alarm retries and
 * a waiting sender's polls each give their own first delay and ceiling, in their own unit.
 */

/** A doubling schedule: `first` after the first failure, twice as long after each next one, never more than `most`. */
export interface Backoff {
  first: number;
  most: number;
}

/**
 * The delay after `failures` failures in a row under `schedule`: `first`, `2 × first`, `4 × first` …
 * at most `most`. Zero or fewer failures count as one, so the delay is never shorter than `first`.
 *
 * @example
 * backoffDelay(3, { first: 30, most: 43_200 }); // 120
 */
export function backoffDelay(failures: number, schedule: Backoff): number {
  return Math.min(schedule.most, schedule.first * 2 ** Math.max(0, failures - 1));
}
