import { env } from "cloudflare:workers";
import { beforeEach } from "vitest";

/*
 * `TEST_CLOCK_OFFSET_DAYS=400 npm test` (or `npm run test:clock -- 400`) runs the suite as if it were that many
 * days later, to prove no test depends on today's date. The Worker, its Durable Objects and the tests share one
 * workerd isolate, so replacing the global `Date` here moves "now" for all of them. A test that pins the clock
 * with `vi.useFakeTimers` still works: fake timers wrap whatever `Date` they find and put it back afterwards.
 * Not moved: workerd's own clock, which decides when a Durable Object alarm fires by itself; tests fire alarms
 * with `runDurableObjectAlarm`.
 */

const DAY_MS = 86_400_000;
const REGISTRY = Symbol.for("tally.test.clock-offset");

interface Clocks {
  native: DateConstructor;
  shifted: DateConstructor;
}

const days = Number(env.TEST_CLOCK_OFFSET_DAYS || "0");
if (!Number.isInteger(days)) throw new Error(`TEST_CLOCK_OFFSET_DAYS must be a whole number of days, not ${env.TEST_CLOCK_OFFSET_DAYS}`);

const registry = globalThis as typeof globalThis & { [REGISTRY]?: Clocks };

/** Builds a `Date` whose "now" (`Date.now()`, `new Date()`) is `offsetMs` later; every other use is unchanged. */
function shiftedDate(native: DateConstructor, offsetMs: number): DateConstructor {
  class ShiftedDate extends native {
    constructor(...args: unknown[]) {
      if (args.length === 0) super(native.now() + offsetMs);
      else super(...(args as [number]));
    }

    static override now(): number {
      return native.now() + offsetMs;
    }

    // Dates made before the swap, or by workerd itself, are still Dates.
    static override [Symbol.hasInstance](value: unknown): boolean {
      return value instanceof native;
    }
  }
  return ShiftedDate as unknown as DateConstructor;
}

if (days !== 0) {
  // Setup files run once per test file, possibly in the same isolate: shift once, never twice.
  registry[REGISTRY] ??= { native: Date, shifted: shiftedDate(Date, days * DAY_MS) };
  const clocks = registry[REGISTRY];
  const install = () => {
    if (globalThis.Date === clocks.native) globalThis.Date = clocks.shifted;
  };
  install();
  // `vi.useRealTimers()` after a bare `vi.setSystemTime()` restores the native Date: shift it again.
  beforeEach(install);
}
