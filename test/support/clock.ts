import { DAY_MS } from "../../shared/time.ts";

/**
 * The moment `time` (UTC, `hh:mm:ss.sss`) on the day `days` days after today, for `vi.setSystemTime`.
 * Pin the clock ahead of now, never at a fixed date: workerd keeps a Durable Object's alarms by its own
 * clock, so an alarm scheduled from a pinned clock that is already past would fire by itself mid-test.
 */
export function utcDaysAhead(days: number, time = "00:00:00.000"): number {
  const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
  return today + days * DAY_MS + Date.parse(`1970-01-01T${time}Z`);
}
