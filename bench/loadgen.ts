/**
 * The Allezon load generator and grader, after the course harness: an open-loop stream of user
 * tags at `--rate` for `--duration` seconds, deterministic for `--seed`, with one profile query per
 * 10 tags and one aggregates query per 1000 tags, each carrying the expected answer of an
 * in-memory reference model in its body (the server's debug mode). Then `GET /health` at the same
 * rate for the baseline. Prints a progress bar on stderr and, at the end, a table and JSON.
 *
 *   npm run loadgen -- --rate 1000 --duration 60 --seed 1 [--url http://localhost:8787]
 *
 * Without `--url`, it uses http://localhost:8787 when something answers there, else (or with
 * `--fresh`) starts Tally itself under wrangler dev on fresh state.
 */
import { parseArgs } from "node:util";
import { startServer, type RunningServer } from "./support/server.ts";

const DEVICES = ["PC", "MOBILE", "TV"] as const;
const ACTIONS = ["VIEW", "BUY"] as const;
const INT32_MAX = 2_147_483_647;
const MINUTE = 60_000;
const KEEP_PER_ACTION = 200;
/** The server takes debug bodies up to 1 MiB; a larger expected answer is compared here only. */
const MAX_DEBUG_BODY = 1_000_000;

type Action = (typeof ACTIONS)[number];

interface Options {
  url: string | undefined;
  rate: number;
  duration: number;
  seed: number;
  cookies: number;
  hotShare: number;
  hotPerBurst: number;
  burstTags: number;
  profileLagSeconds: number;
  aggregateLagSeconds: number;
  healthDuration: number;
  start: number | undefined;
  /** Start Tally on fresh state even when something answers at the default URL. */
  fresh: boolean;
}

interface Tag {
  time: string;
  cookie: string;
  country: string;
  device: string;
  action: Action;
  origin: string;
  product_info: { product_id: string | number; brand_id: string; category_id: string; price: number };
}

/** mulberry32: small, fast and the same everywhere, so a seed always gives the same stream. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * The tag stream: tag `i` happens at `t0 + i` ms. Most cookies are drawn from the whole pool;
 * `hotShare` of the tags go to a few hot cookies that change every `burstTags` tags, so some
 * profiles outgrow the 200 kept per action and then fall quiet, which lets them be graded.
 */
class TagStream {
  private readonly random: () => number;
  private readonly options: Options;
  private readonly t0: number;

  constructor(options: Options, t0: number) {
    this.options = options;
    this.t0 = t0;
    this.random = prng(options.seed);
  }

  private pick(n: number): number {
    return Math.floor(this.random() * n);
  }

  tag(i: number): Tag {
    const o = this.options;
    const hot = this.random() < o.hotShare;
    const cookie = hot
      ? `hot-${o.seed}-${Math.floor(i / o.burstTags)}-${this.pick(o.hotPerBurst)}`
      : `cookie-${o.seed}-${this.pick(o.cookies)}`;
    const ms = this.t0 + i;
    const iso = new Date(ms).toISOString();
    const productId = this.pick(100_000);
    return {
      // Whole seconds go out without milliseconds half of the time: the server must accept both.
      time: ms % 1000 === 0 && this.random() < 0.5 ? iso.replace(".000Z", "Z") : iso,
      cookie,
      country: `country-${this.pick(100)}`,
      device: DEVICES[this.pick(3)]!,
      action: this.random() < 0.7 ? "VIEW" : "BUY",
      origin: `origin-${this.pick(1000)}`,
      product_info: {
        product_id: this.random() < 0.5 ? productId : String(productId),
        brand_id: `brand-${this.pick(250)}`,
        category_id: `category-${this.pick(67)}`,
        price: this.pick(INT32_MAX + 1),
      },
    };
  }

}

/** Choices of the queries, from a generator of their own so the tag stream never depends on them. */
class Choices {
  private readonly random: () => number;

  constructor(seed: number) {
    this.random = prng(seed ^ 0x9e3779b9);
  }

  int(n: number): number {
    return Math.floor(this.random() * n);
  }

  chance(p: number): boolean {
    return this.random() < p;
  }
}

/** The tag as the server echoes it: time with milliseconds and `Z`. */
function echoed(tag: Tag, ms: number): Tag {
  return { ...tag, time: new Date(ms).toISOString() };
}

interface StoredTag {
  ms: number;
  tag: Tag;
}

interface MinuteEntry {
  action: Action;
  origin: string;
  brand: string;
  category: string;
  price: number;
}

/** What the server must answer, built from the tags it acknowledged with 204. */
class ReferenceModel {
  readonly profiles = new Map<string, { VIEW: StoredTag[]; BUY: StoredTag[] }>();
  readonly minutes = new Map<number, MinuteEntry[]>();

  add(ms: number, tag: Tag): void {
    let profile = this.profiles.get(tag.cookie);
    if (!profile) this.profiles.set(tag.cookie, (profile = { VIEW: [], BUY: [] }));
    const list = profile[tag.action];
    // Acks come back almost in event-time order; insert from the end to keep the list sorted.
    let at = list.length;
    while (at > 0 && list[at - 1]!.ms > ms) at--;
    list.splice(at, 0, { ms, tag: echoed(tag, ms) });
    if (list.length > KEEP_PER_ACTION) list.shift();
    const minute = Math.floor(ms / MINUTE) * MINUTE;
    let entries = this.minutes.get(minute);
    if (!entries) this.minutes.set(minute, (entries = []));
    const info = tag.product_info;
    entries.push({ action: tag.action, origin: tag.origin, brand: info.brand_id, category: info.category_id, price: info.price });
  }

  profile(cookie: string, from: number, to: number, limit: number) {
    const profile = this.profiles.get(cookie) ?? { VIEW: [], BUY: [] };
    const pick = (list: StoredTag[]) =>
      list.filter((t) => t.ms >= from && t.ms < to).reverse().slice(0, limit).map((t) => t.tag);
    return { cookie, views: pick(profile.VIEW), buys: pick(profile.BUY) };
  }

  aggregates(query: AggregateQuery) {
    const filters = (["origin", "brand_id", "category_id"] as const).filter((f) => query.filters[f] !== undefined);
    const columns = ["1m_bucket", "action", ...filters, ...query.aggregates.map((a) => (a === "COUNT" ? "count" : "sum_price"))];
    const rows: string[][] = [];
    for (let minute = query.from; minute < query.to; minute += MINUTE) {
      let count = 0;
      let sum = 0;
      for (const e of this.minutes.get(minute) ?? []) {
        if (e.action !== query.action) continue;
        if (query.filters.origin !== undefined && e.origin !== query.filters.origin) continue;
        if (query.filters.brand_id !== undefined && e.brand !== query.filters.brand_id) continue;
        if (query.filters.category_id !== undefined && e.category !== query.filters.category_id) continue;
        count++;
        sum += e.price;
      }
      rows.push([
        new Date(minute).toISOString().slice(0, 19),
        query.action,
        ...filters.map((f) => query.filters[f]!),
        ...query.aggregates.map((a) => String(a === "COUNT" ? count : sum)),
      ]);
    }
    return { columns, rows };
  }
}

interface ProfileQuery {
  cookie: string;
  /** As sent: with milliseconds or whole seconds, no `Z`. */
  fromText: string;
  to: number;
  limit: number;
}

interface AggregateQuery {
  from: number;
  to: number;
  action: Action;
  filters: { origin?: string; brand_id?: string; category_id?: string };
  aggregates: Array<"COUNT" | "SUM_PRICE">;
}

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

/** Deep equality of JSON values, key order ignored. */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

async function timed(url: string, init: RequestInit): Promise<{ ms: number; status: number | undefined; text: string }> {
  const started = performance.now();
  try {
    const response = await fetch(url, init);
    const text = await response.text();
    return { ms: performance.now() - started, status: response.status, text };
  } catch {
    return { ms: performance.now() - started, status: undefined, text: "" };
  }
}

const local = (ms: number) => new Date(ms).toISOString().slice(0, -1);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function progress(label: string, fraction: number, detail: string): void {
  const width = 30;
  const done = Math.round(Math.min(1, fraction) * width);
  const line = `${label} [${"#".repeat(done)}${"-".repeat(width - done)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${detail}`;
  if (process.stderr.isTTY) process.stderr.write(`\r${line}\x1b[K`);
  else process.stderr.write(`${line}\n`);
}

/** Runs the graded stream, then the /health baseline at the same rate; returns the summary. */
export async function runLoad(options: Options, url: string) {
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
      timed(`${url}/user_tags`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(tag) }).then((r) => {
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
    const expected = model.profile(spec.cookie, Date.parse(`${spec.fromText}Z`), spec.to, spec.limit);
    const body = JSON.stringify(expected);
    const withBody = body.length <= MAX_DEBUG_BODY;
    if (!withBody) oversizedBodies++;
    const query = `time_range=${spec.fromText}_${local(spec.to)}${spec.limit === KEEP_PER_ACTION ? "" : `&limit=${spec.limit}`}`;
    track(
      timed(`${url}/user_profiles/${encodeURIComponent(spec.cookie)}?${query}`, {
        method: "POST",
        ...(withBody ? { headers: { "content-type": "application/json" }, body } : {}),
      }).then((r) => {
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
    const params = new URLSearchParams({ time_range: `${local(query.from).slice(0, 19)}_${local(query.to).slice(0, 19)}`, action: query.action });
    for (const a of query.aggregates) params.append("aggregates", a);
    for (const [name, value] of Object.entries(query.filters)) params.set(name, value);
    track(
      timed(`${url}/aggregates?${params}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(expected) }).then(
        (r) => {
          aggregates.record(r.ms, r.status);
          if (r.status !== 200) return;
          if (sameJson(JSON.parse(r.text), expected)) aggregates.matched++;
          else aggregates.mismatched++;
        },
      ),
    );
  };

  const started = performance.now();
  let sent = 0;
  let lastProgress = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * options.rate) + 1);
    for (; sent < due; sent++) {
      const tag = sendTag(sent);
      const ms = t0 + sent;
      if (sent % 10 === 9) {
        // Half the profile queries go to this tag's cookie, half to one of the current hot cookies.
        const cookie = choices.chance(0.5) ? `hot-${options.seed}-${Math.floor(sent / options.burstTags)}-${choices.int(options.hotPerBurst)}` : tag.cookie;
        // Either the whole run, or a window of up to 30 s around this tag.
        const whole = choices.chance(0.5);
        const a = ms - choices.int(30_000);
        const b = ms + 1 - choices.int(2_000);
        const from = whole ? t0 - MINUTE : Math.min(a, b);
        const to = whole ? t0 + total + MINUTE : Math.max(a, b);
        const fromText = choices.chance(0.5) ? local(from) : local(from).slice(0, 19);
        const limit = choices.chance(0.5) ? KEEP_PER_ACTION : 1 + choices.int(KEEP_PER_ACTION);
        later(options.profileLagSeconds, () => profileQuery({ cookie, fromText, to, limit }));
      }
      if (sent % 1000 === 999) {
        // Only buckets that closed before this tag: every tag in them is already sent.
        const end = Math.floor(ms / MINUTE) * MINUTE;
        const minutes = 1 + choices.int(10);
        const filters: AggregateQuery["filters"] = {};
        if (choices.chance(0.5)) filters.origin = tag.origin;
        if (choices.chance(0.5)) filters.brand_id = tag.product_info.brand_id;
        if (choices.chance(0.5)) filters.category_id = tag.product_info.category_id;
        const kinds = [["COUNT"], ["SUM_PRICE"], ["COUNT", "SUM_PRICE"], ["SUM_PRICE", "COUNT"]] as const;
        const query: AggregateQuery = {
          from: end - minutes * MINUTE,
          to: end,
          action: ACTIONS[choices.int(2)]!,
          filters,
          aggregates: [...kinds[choices.int(4)]!],
        };
        later(options.aggregateLagSeconds, () => aggregateQuery(query));
      }
    }
    const now = performance.now();
    if (now - lastProgress > 500) {
      lastProgress = now;
      const elapsed = (now - started) / 1000;
      progress("tags", sent / total, `${elapsed.toFixed(0)}/${options.duration}s sent ${sent} in flight ${pending.size}`);
    }
    await sleep(1);
  }
  const sendSeconds = (performance.now() - started) / 1000;
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
  let healthSent = 0;
  while (healthSent < healthTotal) {
    const due = Math.min(healthTotal, Math.floor(((performance.now() - healthStarted) / 1000) * options.rate) + 1);
    for (; healthSent < due; healthSent++) track(timed(`${url}/health`, {}).then((r) => health.record(r.ms, r.status)));
    progress("health", healthSent / healthTotal, `in flight ${pending.size}`);
    await sleep(1);
  }
  await Promise.all(pending);
  const healthSeconds = (performance.now() - healthStarted) / 1000;
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
    acknowledgedTags: tags.latencies.length - tags.non2xx - tags.errors,
    oversizedDebugBodies: oversizedBodies,
    endpoints: [tagSummary, profiles.summary(sendSeconds), aggregates.summary(sendSeconds), healthSummary],
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
      start: { type: "string" },
      fresh: { type: "boolean", default: false },
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
    start: values.start ? Date.parse(values.start) : undefined,
    fresh: values.fresh,
  };
}

async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) })).ok;
  } catch {
    return false;
  }
}

if (import.meta.main) {
  const options = readOptions();
  let server: RunningServer | undefined;
  let url = options.url ?? "http://localhost:8787";
  if (!options.url && (options.fresh || !(await answers(url)))) {
    process.stderr.write("starting Tally under wrangler dev on fresh state…\n");
    server = await startServer();
    url = server.url;
  }
  try {
    const result = await runLoad(options, url);
    console.table(result.endpoints);
    console.log(
      `tags/s ${result.tagsPerSecond} (target ${options.rate}), /health at the same rate ${result.healthPerSecond}/s, ratio ${result.ratio}`,
    );
    console.log(JSON.stringify(result));
  } finally {
    await server?.stop();
  }
}
