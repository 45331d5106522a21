import { DAY_MS } from "../../shared/time.ts";
import type { TagRollups } from "./tag-rollups.ts";

/** The action a rollup object counts: every aggregates query names exactly one. */
export type RollupAction = "VIEW" | "BUY";

/** One hour's new tags of one (origin, brand, category), as an hour shard sends them. */
export interface RollupDeltaRow {
  origin: string;
  brandId: string;
  categoryId: string;
  count: number;
  sumPrice: number;
}

/**
 * A batch of new counts from one hour shard, applied at most once: `source` names the shard and
 * its generation, `seq` grows by one per flush, and a rollup ignores a seq it has already passed.
 */
export interface RollupDelta {
  source: string;
  seq: number;
  /** Start of the hour (epoch ms) every row belongs to. */
  hour: number;
  rows: RollupDeltaRow[];
}

/** A filter over one rollup object: `[from, to)` in epoch ms (whole hours) and any of the three dimensions. */
export interface RollupQuery {
  from: number;
  to: number;
  origin?: string | undefined;
  brandId?: string | undefined;
  categoryId?: string | undefined;
}

/** Exact totals of one hour bucket; hours with no tag are absent. */
export interface HourTotal {
  hour: number;
  count: number;
  sumPrice: number;
}

/** The start of the UTC day holding `ms`: rollups keep one object per day and action. */
export function rollupDayOf(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

/** The rollup object's name, e.g. `rollups:2022-03-01:VIEW`. */
export function rollupName(dayStart: number, action: RollupAction): string {
  return `rollups:${new Date(dayStart).toISOString().slice(0, 10)}:${action}`;
}

/** The object holding the hour totals of `action` on the UTC day starting at `dayStart`. */
export function tagRollupsStub(env: Env, dayStart: number, action: RollupAction): DurableObjectStub<TagRollups> {
  return env.TAG_ROLLUPS.getByName(rollupName(dayStart, action));
}
