/**
 * The Allezon load generator and grader, after the course harness: after `--warmup` seconds (default
 * 5) of ungraded tags at the same rate, on other cookies a day earlier, an open-loop stream of user
 * tags at `--rate` for `--duration` seconds, deterministic for `--seed`, with one profile query per
 * 10 tags and one aggregates query per 1000 tags, each carrying the expected answer of an
 * in-memory reference model in its body (the server's debug mode). Then `GET /health` at the same
 * rate for the baseline, and closed loop (10 s, 32 connections) for the server's ceiling. Prints a progress bar on stderr and, at the end, a table and JSON.
 *
 *   npm run loadgen -- --rate 1000 --duration 60 --seed 1 [--warmup 5] [--mode serve|dev | --url http://localhost:8787] [--port N]
 *
 * Without `--url`, it starts Tally itself on fresh state: the production-like server (`npm run
 * serve`) by default, `wrangler dev` with `--mode dev`. It says how long the run will take before it
 * starts and ends with one verdict line naming the graded conditions that held and those that did not.
 */
import { parseArgs } from "node:util";
import { monitorEventLoopDelay } from "node:perf_hooks";
import {
  aggregateQueryAfter,
  aggregatesQueryParams,
  Choices,
  MINUTE,
  profileQueryParams,
  profileQueryAfter,
  ReferenceModel,
  sameJson,
  TagStream,
  type AggregateQuery,
  type ProfileQuery,
  type StreamOptions,
} from "./allezon-model.ts";
import { tallyClient } from "../client/index.ts";
import { benchServer } from "./support/server.ts";
import { loadHealth } from "./support/load.ts";

/** The server takes debug bodies up to 1 MiB; a larger expected answer is compared here only. */
const MAX_DEBUG_BODY = 1_000_000;

interface Options extends StreamOptions {
  url: string | undefined;
  rate: number;
  duration: number;
  profileLagSeconds: number;
  aggregateLagSeconds: number;
  healthDuration: number;
  warmupSeconds: number;
  start: number | undefined;
}

/** The closed-loop `/health` measurement at the end of a run (autocannon), as `npm run bench` takes it. */
const CLOSED_LOOP_SECONDS = 10;
const CLOSED_LOOP_CONNECTIONS = 32;

/** What the grader holds a run to (tags and profiles answered within it, at p99). */
const P99_LIMIT_MS = 200;

/** Latencies and outcomes of one endpoint. */
class EndpointStats {
  readonly latencies: number[] = [];
  non2xx = 0;
  errors = 0;
  overTimeout = 0;
  matched = 0;
  mismatched = 0;
  skipped = 0;
  readonly failures: Record<string, number> = {};

  readonly name: string;
  readonly timeoutMs: number;

  constructor(name: string, timeoutMs: number) {
    this.name = name;
    this.timeoutMs = timeoutMs;
  }

  record(ms: number, status: number | undefined): void {
    this.latencies.push(ms);
    if (ms > this.timeoutMs) this.overTimeout++;
    if (status === undefined) this.errors++;
    else if (status < 200 || status > 299) {
      this.non2xx++;
      this.failures[status] = (this.failures[status] ?? 0) + 1;
    }
  }

  summary(seconds: number) {
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const at = (q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : 0);
    const graded = this.matched + this.mismatched;
    return {
      endpoint: this.name,
      requests: sorted.length,
      perSecond: Number((sorted.length / seconds).toFixed(1)),
      p50Ms: Number(at(0.5).toFixed(1)),
      p99Ms: Number(at(0.99).toFixed(1)),
      maxMs: Number((sorted.at(-1) ?? 0).toFixed(1)),
      overTimeout: this.overTimeout,
      non2xx: this.non2xx,
      errors: this.errors,
      exactPercent: graded ? Number(((100 * this.matched) / graded).toFixed(2)) : null,
      graded,
      skipped: this.skipped,
      failures: JSON.stringify(this.failures),
    };
  }
}

/** Times one request; `send` answers with its status and body text. A network failure has no status. */
async function timed(send: () => Promise<{ status: number; text: string }>): Promise<{ ms: number; status: number | undefined; text: string }> {
  const started = performance.now();
  try {
    const answer = await send();
    return { ms: performance.now() - started, ...answer };
  } catch {
    return { ms: performance.now() - started, status: undefined, text: "" };
  }
}

/** A typed-client call, for `timed`; the body is read as text, for the caller to parse once. */
const typed = (call: () => Promise<{ response: Response; data?: unknown }>) => async () => {
  const { response, data } = await call();
  return { status: response.status, text: typeof data === "string" ? data : "" };
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Open loop: calls `send(i)` for i = 0…total-1 at `rate` per second of wall time (late calls catch
 * up at once, never wait on answers), with a progress line at most twice a second; resolves with
 * the seconds it took to send them all.
 */
async function atRate(label: string, total: number, rate: number, send: (i: number) => void, detail: () => string): Promise<number> {
  const started = performance.now();
  let lastProgress = 0;
  for (let sent = 0; sent < total; ) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate) + 1);
    for (; sent < due; sent++) send(sent);
    const now = performance.now();
    if (now - lastProgress > 500 || sent === total) {
      lastProgress = now;
      progress(label, sent / total, `${((now - started) / 1000).toFixed(0)} s, sent ${sent}, ${detail()}`);
    }
    await sleep(1);
  }
  if (process.stderr.isTTY) process.stderr.write("\n");
  return (performance.now() - started) / 1000;
}

function progress(label: string, fraction: number, detail: string): void {
  const width = 30;
  const done = Math.round(Math.min(1, fraction) * width);
  const line = `${label} [${"#".repeat(done)}${"-".repeat(width - done)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${detail}`;
  if (process.stderr.isTTY) process.stderr.write(`\r${line}\x1b[K`);
  else process.stderr.write(`${line}\n`);
}

/** Runs the graded stream, then the /health baseline at the same rate; returns the summary. */
export async function runLoad(options: Options, url: string) {
  const api = tallyClient(url);
  const t0 = options.start ?? Math.floor(Date.now() / MINUTE) * MINUTE;
  const total = Math.round(options.rate * options.duration);
  const stream = new TagStream(options, t0);
  const choices = new Choices(options.seed);
  const model = new ReferenceModel();
  const tags = new EndpointStats("POST /user_tags", 200);
  const profiles = new EndpointStats("POST /user_profiles", 200);
  const aggregates = new EndpointStats("POST /aggregates", 60_000);
  /** When each cookie's latest tag was answered: the 10 s of visibility run from the 204. */
  const lastSettled = new Map<string, number>();
  const inFlight = new Map<string, number>();
  const doubtful = new Set<string>();
  const doubtfulMinutes = new Set<number>();
  const pending = new Set<Promise<void>>();
  let oversizedBodies = 0;
  const track = (work: Promise<void>) => {
    pending.add(work);
    void work.finally(() => pending.delete(work));
  };

  const sendTag = (i: number) => {
    const tag = stream.tag(i);
    const ms = t0 + i;
    inFlight.set(tag.cookie, (inFlight.get(tag.cookie) ?? 0) + 1);
    track(
      timed(typed(() => api.POST("/user_tags", { body: tag, parseAs: "text" }))).then((r) => {
        tags.record(r.ms, r.status);
        inFlight.set(tag.cookie, inFlight.get(tag.cookie)! - 1);
        lastSettled.set(tag.cookie, performance.now());
        if (r.status === 204) model.add(ms, tag);
        else {
          // Not acknowledged, so maybe stored, maybe not: answers that depend on it cannot be graded.
          doubtful.add(tag.cookie);
          doubtfulMinutes.add(Math.floor(ms / MINUTE) * MINUTE);
        }
      }),
    );
    return tag;
  };

  const isQuiet = (cookie: string) =>
    (inFlight.get(cookie) ?? 0) === 0 && performance.now() - (lastSettled.get(cookie) ?? 0) >= options.profileLagSeconds * 1000;

  let scheduled = 0;
  const later = (seconds: number, run: () => void) => {
    scheduled++;
    setTimeout(() => {
      scheduled--;
      run();
    }, seconds * 1000);
  };

  const profileQuery = (spec: ProfileQuery, attempt = 0): void => {
    if (!isQuiet(spec.cookie)) {
      // Still receiving tags (a hot cookie in its burst): ask once it has been quiet for the lag.
      if (attempt < 30) later(1, () => profileQuery(spec, attempt + 1));
      else profiles.skipped++;
      return;
    }
    if (doubtful.has(spec.cookie)) {
      profiles.skipped++;
      return;
    }
    const expected = model.profile(spec);
    const body = JSON.stringify(expected);
    const withBody = body.length <= MAX_DEBUG_BODY;
    if (!withBody) oversizedBodies++;
    track(
      timed(
        typed(() =>
          api.POST("/user_profiles/{cookie}", {
            params: { path: { cookie: spec.cookie }, query: profileQueryParams(spec) },
            // The expected answer as the debug body (documented, optional), unless it is over the server's limit.
            ...(withBody ? { body: expected, bodySerializer: () => body } : {}),
            parseAs: "text",
          }),
        ),
      ).then((r) => {
        profiles.record(r.ms, r.status);
        if (r.status !== 200) return;
        if (sameJson(JSON.parse(r.text), expected)) profiles.matched++;
        else profiles.mismatched++;
      }),
    );
  };

  const aggregateQuery = (query: AggregateQuery): void => {
    for (let minute = query.from; minute < query.to; minute += MINUTE) {
      if (doubtfulMinutes.has(minute)) {
        aggregates.skipped++;
        return;
      }
    }
    const expected = model.aggregates(query);
    track(
      timed(
        typed(() => api.POST("/aggregates", { params: { query: aggregatesQueryParams(query) }, body: expected, parseAs: "text" })),
      ).then(
        (r) => {
          aggregates.record(r.ms, r.status);
          if (r.status !== 200) return;
          if (sameJson(JSON.parse(r.text), expected)) aggregates.matched++;
          else aggregates.mismatched++;
        },
      ),
    );
  };

  // Warm-up, not graded: the same rate for `--warmup` seconds, from other cookies a day before the
  // graded stream, so no graded query sees them. The server compiles its code and opens its profile
  // shards here, as a server that sustains the rate has long done; the table reports these tags apart.
  const warmup = new EndpointStats("POST /user_tags (warm-up)", 200);
  const warmStream = new TagStream({ ...options, seed: options.seed + 1_000_000 }, t0 - 24 * 60 * MINUTE);
  const warmTotal = Math.round(options.rate * options.warmupSeconds);
  const warmStarted = performance.now();
  await atRate("warm-up", warmTotal, options.rate, (i) => {
    const tag = warmStream.tag(i);
    track(timed(typed(() => api.POST("/user_tags", { body: tag, parseAs: "text" }))).then((r) => warmup.record(r.ms, r.status)));
  }, () => `in flight ${pending.size}`);
  await Promise.all(pending);
  const warmSeconds = (performance.now() - warmStarted) / 1000;

  // The generator's own stalls count in every latency it measures: recorded, so a run can tell them apart.
  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  loopDelay.enable();
  const cpuBefore = process.cpuUsage();
  const sendSeconds = await atRate("tags", total, options.rate, (i) => {
    const tag = sendTag(i);
    if (i % 10 === 9) {
      const spec = profileQueryAfter(i, tag, choices, { ...options, t0, total });
      later(options.profileLagSeconds, () => profileQuery(spec));
    }
    if (i % 1000 === 999) {
      const query = aggregateQueryAfter(i, tag, choices, t0);
      later(options.aggregateLagSeconds, () => aggregateQuery(query));
    }
  }, () => `in flight ${pending.size}`);
  loopDelay.disable();
  const cpu = process.cpuUsage(cpuBefore);
  const generator = {
    cpuShare: Number(((cpu.user + cpu.system) / 1e6 / sendSeconds).toFixed(2)),
    eventLoopDelayP99Ms: Number((loopDelay.percentile(99) / 1e6).toFixed(1)),
    eventLoopDelayMaxMs: Number((loopDelay.max / 1e6).toFixed(1)),
  };
  // Queries fire up to their lag after the last tag (profiles of busy cookies a little later).
  const waitStarted = performance.now();
  const hardStop = waitStarted + (Math.max(options.aggregateLagSeconds, options.profileLagSeconds + 30) + 90) * 1000;
  while ((scheduled > 0 || pending.size > 0) && performance.now() < hardStop) {
    const waited = (performance.now() - waitStarted) / 1000;
    progress("queries", waited / Math.max(options.aggregateLagSeconds, options.profileLagSeconds, 1), `${scheduled} delayed queries to go, ${pending.size} in flight`);
    await sleep(250);
  }
  if (process.stderr.isTTY) process.stderr.write("\n");

  const health = new EndpointStats("GET /health", 200);
  const healthTotal = Math.round(options.rate * options.healthDuration);
  const healthStarted = performance.now();
  await atRate("health", healthTotal, options.rate, () => {
    track(timed(typed(() => api.GET("/health", { parseAs: "text" }))).then((r) => health.record(r.ms, r.status)));
  }, () => `in flight ${pending.size}`);
  await Promise.all(pending);
  const healthSeconds = (performance.now() - healthStarted) / 1000;
  // The same server's ceiling on its cheapest request, closed loop, to set the tag rate against.
  progress("health, closed loop", 0, `${CLOSED_LOOP_SECONDS} s, ${CLOSED_LOOP_CONNECTIONS} connections`);
  const closedLoop = await loadHealth(url, CLOSED_LOOP_SECONDS, CLOSED_LOOP_CONNECTIONS);
  if (process.stderr.isTTY) process.stderr.write("\n");

  const tagSummary = tags.summary(sendSeconds);
  const healthSummary = health.summary(healthSeconds);
  const tagsPerSecond = (tags.latencies.length - tags.non2xx - tags.errors) / sendSeconds;
  const healthPerSecond = (health.latencies.length - health.non2xx - health.errors) / healthSeconds;
  return {
    options: { ...options, url, t0: new Date(t0).toISOString() },
    tagsPerSecond: Number(tagsPerSecond.toFixed(1)),
    healthPerSecond: Number(healthPerSecond.toFixed(1)),
    ratio: healthPerSecond > 0 ? Number((tagsPerSecond / healthPerSecond).toFixed(3)) : null,
    /** `GET /health` closed loop on the same server at the end of the run, and the graded tag rate against it. */
    healthClosedLoopPerSecond: closedLoop.requestsPerSecond,
    tagsToClosedLoopHealth: closedLoop.requestsPerSecond > 0 ? Number((tagsPerSecond / closedLoop.requestsPerSecond).toFixed(3)) : null,
    acknowledgedTags: tags.latencies.length - tags.non2xx - tags.errors,
    oversizedDebugBodies: oversizedBodies,
    /** The load generator while it sent tags: its CPU (1 = one core) and its event loop's delay. */
    generator,
    endpoints: [tagSummary, profiles.summary(sendSeconds), aggregates.summary(sendSeconds), healthSummary, ...(warmTotal > 0 ? [warmup.summary(warmSeconds)] : [])],
  };
}

function readOptions(): Options {
  const { values } = parseArgs({
    options: {
      url: { type: "string" },
      rate: { type: "string", default: "1000" },
      duration: { type: "string", default: "60" },
      seed: { type: "string", default: "1" },
      cookies: { type: "string", default: "1000000" },
      "hot-share": { type: "string", default: "0.1" },
      "hot-per-burst": { type: "string", default: "2" },
      "burst-tags": { type: "string" },
      "profile-lag": { type: "string", default: "10" },
      "aggregate-lag": { type: "string", default: "60" },
      "health-duration": { type: "string" },
      warmup: { type: "string", default: "5" },
      start: { type: "string" },
      // Read by benchServer. `--fresh` is what every run without --url does; kept for recorded commands.
      mode: { type: "string" },
      port: { type: "string" },
      fresh: { type: "boolean" },
    },
  });
  const duration = Number(values.duration);
  return {
    url: values.url,
    rate: Number(values.rate),
    duration,
    seed: Number(values.seed),
    cookies: Number(values.cookies),
    hotShare: Number(values["hot-share"]),
    hotPerBurst: Number(values["hot-per-burst"]),
    // Hot cookies change every 10 s of stream by default, so they fall quiet and can be graded.
    burstTags: values["burst-tags"] ? Number(values["burst-tags"]) : Math.max(1, Math.round(Number(values.rate) * 10)),
    profileLagSeconds: Number(values["profile-lag"]),
    aggregateLagSeconds: Number(values["aggregate-lag"]),
    healthDuration: values["health-duration"] ? Number(values["health-duration"]) : Math.min(duration, 30),
    warmupSeconds: Number(values.warmup),
    start: values.start ? Date.parse(values.start) : undefined,
  };
}

type Result = Awaited<ReturnType<typeof runLoad>>;

type EndpointSummary = ReturnType<EndpointStats["summary"]>;

function exactness(label: string, stats: EndpointSummary): { held: boolean | null; text: string } {
  if (stats.graded === 0) return { held: null, text: `${label} n/a (none graded)` };
  return { held: stats.exactPercent === 100, text: `${label} ${stats.exactPercent}% of ${stats.graded}` };
}

function fastEnough(label: string, stats: EndpointSummary): { held: boolean | null; text: string } {
  if (stats.requests === 0) return { held: null, text: `${label} p99 n/a (none sent)` };
  const held = stats.p99Ms < P99_LIMIT_MS;
  return { held, text: `${label} p99 ${stats.p99Ms} ms ${held ? "<" : "≥"} ${P99_LIMIT_MS}` };
}

/** One line: PASS when every graded condition held, with each condition's figures. */
export function verdict(result: Result, options: Options): string {
  const [tags, profiles, aggregates] = result.endpoints;
  const total = Math.round(options.rate * options.duration);
  const conditions: Array<{ held: boolean | null; text: string }> = [
    { held: result.acknowledgedTags === total, text: `tags acked ${result.acknowledgedTags}/${total}` },
    exactness("exact profiles", profiles!),
    exactness("exact aggregates", aggregates!),
    fastEnough("tags", tags!),
    fastEnough("profiles", profiles!),
  ];
  const failed = conditions.filter((c) => c.held === false);
  const head = `verdict: ${failed.length === 0 ? "PASS" : "FAIL"} at ${options.rate} tags/s`;
  if (failed.length === 0) return `${head} — ${conditions.map((c) => c.text).join(", ")}`;
  const held = conditions.filter((c) => c.held !== false);
  return `${head} — failed: ${failed.map((c) => c.text).join(", ")}; held: ${held.map((c) => c.text).join(", ") || "none"}`;
}

if (import.meta.main) {
  const options = readOptions();
  // Tags, then the delayed queries (the aggregates' lag, or a busy cookie's profile up to 30 s
  // more), then /health at the same rate.
  const waitSeconds = Math.max(options.aggregateLagSeconds, options.profileLagSeconds);
  const expected = options.warmupSeconds + options.duration + waitSeconds + options.healthDuration + CLOSED_LOOP_SECONDS;
  process.stderr.write(
    `loadgen: ${options.rate} tags/s for ${options.duration} s; the run takes about ${expected} s ` +
      `(${options.warmupSeconds} s of warm-up tags, ${options.duration} s of graded tags, ${waitSeconds} s for the delayed queries, ${options.healthDuration} s of /health)` +
      `${options.url ? "" : ", after the server starts (up to a minute)"}.\n`,
  );
  const server = await benchServer(8788);
  if (server.mode !== "url") process.stderr.write(`loadgen: Tally started on fresh state (${server.mode === "serve" ? "production-like server" : "wrangler dev"}) at ${server.url}\n`);
  try {
    const result = await runLoad(options, server.url);
    console.table(result.endpoints);
    console.log(
      `tags/s ${result.tagsPerSecond} (target ${options.rate}), /health at the same rate ${result.healthPerSecond}/s, ratio ${result.ratio}; ` +
        `/health closed loop ${result.healthClosedLoopPerSecond}/s (tags ÷ that ${result.tagsToClosedLoopHealth}); ` +
        `generator ${result.generator.cpuShare} of a core, event-loop delay p99 ${result.generator.eventLoopDelayP99Ms} ms, max ${result.generator.eventLoopDelayMaxMs} ms`,
    );
    console.log(JSON.stringify({ ...result, mode: server.mode }));
    console.log(verdict(result, options));
  } finally {
    await server.stop();
  }
}
