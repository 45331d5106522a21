/**
 * Tally's metrics: one Workers Analytics Engine data point per HTTP request and per queue consumer
 * batch, written through this module only, so every point has the same layout and the SQL in
 * docs/operations.md stays true. Writing a data point is fire-and-forget: it never waits and never
 * fails the request or batch it describes.
 *
 * Layout (dataset `tally_metrics`, binding METRICS):
 * - index1: the system (`campaigns`, `allezon`, `ads`, `incentives`, `connections`, `webhooks`, `platform`)
 * - blob1: what the point is: `request`, `batch` or `ad-spend`
 * - blob2: the route pattern (`/campaigns/:campaignId`), the queue name, or the ad campaign id
 * - blob3: the HTTP method; for a batch `ok` or `failed`; for ad spend the currency
 * - double1: the HTTP status (0 for a batch and ad spend)
 * - double2: milliseconds the request or batch took
 * - double3: count: 1 for a request, the batch's messages, the day's charged clicks
 * - double4: a batch's lag (age of its oldest message, seconds); ad spend in minor units
 */
import type { LogSystem } from "../shared/log.ts";

/** One point's values; `lagSeconds` only for a batch. */
export interface MetricPoint {
  system: LogSystem;
  kind: "request" | "batch" | "ad-spend";
  /** Route pattern, queue name or ad campaign id. */
  name: string;
  /** HTTP method, batch outcome or currency. */
  detail: string;
  status?: number;
  ms?: number;
  count?: number;
  /** Lag (batch) or spend in minor units (ad spend). */
  value?: number;
}

/**
 * Writes one data point. A Worker without the binding (a test harness, an old config) writes
 * nothing; a binding that throws is ignored, since a metric must never cost an answer.
 */
export function recordMetric(env: Partial<Pick<Env, "METRICS">>, point: MetricPoint): void {
  try {
    env.METRICS?.writeDataPoint({
      indexes: [point.system],
      blobs: [point.kind, point.name, point.detail],
      doubles: [point.status ?? 0, point.ms ?? 0, point.count ?? 1, point.value ?? 0],
    });
  } catch {
    // Analytics Engine is best effort by design; the logs still have the request.
  }
}
