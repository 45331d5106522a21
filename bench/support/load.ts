/**
 * HTTP load on loopback with autocannon, always beside a `GET /health` baseline measured in the
 * same run: the load generator shares the machine's cores with the server, so only ratios mean
 * anything.
 */
import autocannon from "autocannon";
import { parseArgs } from "node:util";
import { sign } from "hono/jwt";
import { BENCH_VARS } from "./server.ts";

export type LoadResult = {
  name: string;
  requestsPerSecond: number;
  /** Requests completed in the whole run. */
  requests: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
};

export interface LoadOptions {
  name: string;
  url: string;
  method?: "GET" | "POST" | "PUT";
  /** Fixed headers, or headers made per request (to spread load over callers a per-caller rate limit counts). */
  headers?: Record<string, string> | (() => Record<string, string>);
  /** A fixed body, or one made per request (for distinct event ids). */
  body?: string | (() => string);
  connections?: number;
  durationSeconds?: number;
}

export async function load(options: LoadOptions): Promise<LoadResult> {
  const makeBody = typeof options.body === "function" ? options.body : undefined;
  const makeHeaders = typeof options.headers === "function" ? options.headers : undefined;
  const fixedHeaders = typeof options.headers === "function" ? {} : options.headers;
  const result = await autocannon({
    url: options.url,
    method: options.method ?? "GET",
    headers: { ...(options.body ? { "content-type": "application/json" } : {}), ...fixedHeaders },
    body: typeof options.body === "string" ? options.body : undefined,
    connections: options.connections ?? 32,
    duration: options.durationSeconds ?? 10,
    requests:
      makeBody || makeHeaders
        ? [
            {
              setupRequest: (request) => ({
                ...request,
                ...(makeBody ? { body: makeBody() } : {}),
                ...(makeHeaders ? { headers: { ...request.headers, ...makeHeaders() } } : {}),
              }),
            },
          ]
        : undefined,
  });
  return {
    name: options.name,
    requestsPerSecond: result.requests.average,
    requests: result.requests.total,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

/** Throughput and p99 of `subject` against the baseline: throughput ratio ≥ 1 means as fast as /health. */
export function ratio(subject: LoadResult, baseline: LoadResult) {
  return {
    name: subject.name,
    throughputRatio: Number((subject.requestsPerSecond / baseline.requestsPerSecond).toFixed(3)),
    p99Ratio: Number((subject.p99Ms / Math.max(baseline.p99Ms, 0.001)).toFixed(3)),
  };
}

/** The mean of two runs of one measure: a baseline taken before and after, since a shared machine's load drifts. */
export function meanOf(name: string, a: LoadResult, b: LoadResult): LoadResult {
  const mean = (x: number, y: number) => Number(((x + y) / 2).toFixed(2));
  return {
    name,
    requestsPerSecond: mean(a.requestsPerSecond, b.requestsPerSecond),
    requests: a.requests + b.requests,
    p50Ms: mean(a.p50Ms, b.p50Ms),
    p99Ms: mean(a.p99Ms, b.p99Ms),
    non2xx: a.non2xx + b.non2xx,
    errors: a.errors + b.errors,
  };
}

/** Measures `GET /health` under the same settings, as the baseline of a run. */
export function loadHealth(url: string, durationSeconds = 10, connections = 32): Promise<LoadResult> {
  return load({ name: "GET /health", url: `${url}/health`, durationSeconds, connections });
}

/** Seconds each measured load runs: `--duration N` from the command line (a quick check), else the bench's own. */
export function benchSeconds(fallback: number): number {
  const { values } = parseArgs({ strict: false, options: { duration: { type: "string" } } });
  return typeof values.duration === "string" ? Number(values.duration) : fallback;
}

/** A token the bench server accepts. */
export function benchToken(sub: string, roles: string[], extra: Record<string, unknown> = {}): Promise<string> {
  return sign({ sub, roles, exp: Math.floor(Date.now() / 1000) + 3600, ...extra }, BENCH_VARS.JWT_SECRET, "HS256");
}

export function printTable(rows: Array<Record<string, unknown>>): void {
  console.table(rows);
}
