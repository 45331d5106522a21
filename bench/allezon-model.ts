/**
 * The pure half of the Allezon load generator: the deterministic tag stream, the queries it asks
 * and the in-memory reference model that says what the server must answer. No Node APIs, so the
 * same code grades a live server (`bench/loadgen.ts`) and a test run in workerd
 * (`test/user-tags/grading-integration.test.ts`).
 */

export const DEVICES = ["PC", "MOBILE", "TV"] as const;
export const ACTIONS = ["VIEW", "BUY"] as const;
export const INT32_MAX = 2_147_483_647;
export const MINUTE = 60_000;
export const KEEP_PER_ACTION = 200;

export type Action = (typeof ACTIONS)[number];

export interface Tag {
  time: string;
  cookie: string;
  country: string;
  device: (typeof DEVICES)[number];
  action: Action;
  origin: string;
  product_info: { product_id: string | number; brand_id: string; category_id: string; price: number };
}

/** What shapes the stream: the seed's cardinalities and how the hot cookies come and go. */
export interface StreamOptions {
  seed: number;
  /** Size of the cookie pool (about 1,000,000 in the seed). */
  cookies: number;
  /** Share of the tags that go to the few hot cookies of the current burst. */
  hotShare: number;
  hotPerBurst: number;
  /** Tags per burst: the hot cookies change after this many. */
  burstTags: number;
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

/** The name of hot cookie `k` of the burst that tag `i` belongs to. */
export function hotCookie(options: StreamOptions, i: number, k: number): string {
  return `hot-${options.seed}-${Math.floor(i / options.burstTags)}-${k}`;
}

/**
 * The tag stream: tag `i` happens at `t0 + i` ms. Most cookies are drawn from the whole pool;
 * `hotShare` of the tags go to a few hot cookies that change every `burstTags` tags, so some
 * profiles outgrow the 200 kept per action and then fall quiet, which lets them be graded.
 * Tags must be drawn in order (`i` = 0, 1, 2…): each draw advances the generator.
 */
export class TagStream {
  private readonly random: () => number;
  private readonly options: StreamOptions;
  private readonly t0: number;

  constructor(options: StreamOptions, t0: number) {
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
    const cookie = hot ? hotCookie(o, i, this.pick(o.hotPerBurst)) : `cookie-${o.seed}-${this.pick(o.cookies)}`;
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
export class Choices {
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

export interface ProfileQuery {
  cookie: string;
  /** As sent: with milliseconds or whole seconds, no `Z`. */
  fromText: string;
  to: number;
  limit: number;
}

export interface AggregateQuery {
  from: number;
  to: number;
  action: Action;
  filters: { origin?: string; brand_id?: string; category_id?: string };
  aggregates: Array<"COUNT" | "SUM_PRICE">;
}

/** UTC without the `Z`, as Allezon's clients write time ranges. */
export const local = (ms: number) => new Date(ms).toISOString().slice(0, -1);

/**
 * The profile query asked after tag `i` (one per 10 tags): half go to that tag's cookie, half to
 * a current hot cookie; half cover the whole run, half a window of up to 30 s around the tag.
 */
export function profileQueryAfter(
  i: number,
  tag: Tag,
  choices: Choices,
  stream: StreamOptions & { t0: number; total: number },
): ProfileQuery {
  const ms = stream.t0 + i;
  const cookie = choices.chance(0.5) ? hotCookie(stream, i, choices.int(stream.hotPerBurst)) : tag.cookie;
  const whole = choices.chance(0.5);
  const a = ms - choices.int(30_000);
  const b = ms + 1 - choices.int(2_000);
  const from = whole ? stream.t0 - MINUTE : Math.min(a, b);
  const to = whole ? stream.t0 + stream.total + MINUTE : Math.max(a, b);
  const fromText = choices.chance(0.5) ? local(from) : local(from).slice(0, 19);
  const limit = choices.chance(0.5) ? KEEP_PER_ACTION : 1 + choices.int(KEEP_PER_ACTION);
  return { cookie, fromText, to, limit };
}

/**
 * The aggregates query asked after tag `i` (one per 1000 tags): 1–10 whole minutes that closed
 * before the tag, so every tag in them is already sent; each filter present half of the time.
 */
export function aggregateQueryAfter(i: number, tag: Tag, choices: Choices, t0: number): AggregateQuery {
  const end = Math.floor((t0 + i) / MINUTE) * MINUTE;
  const minutes = 1 + choices.int(10);
  const filters: AggregateQuery["filters"] = {};
  if (choices.chance(0.5)) filters.origin = tag.origin;
  if (choices.chance(0.5)) filters.brand_id = tag.product_info.brand_id;
  if (choices.chance(0.5)) filters.category_id = tag.product_info.category_id;
  const kinds = [["COUNT"], ["SUM_PRICE"], ["COUNT", "SUM_PRICE"], ["SUM_PRICE", "COUNT"]] as const;
  return {
    from: end - minutes * MINUTE,
    to: end,
    action: ACTIONS[choices.int(2)]!,
    filters,
    aggregates: [...kinds[choices.int(4)]!],
  };
}

/** The query parameters of a profile query (`limit` only when it is not the default). */
export function profileQueryParams(spec: ProfileQuery): { time_range: string; limit?: number } {
  return { time_range: `${spec.fromText}_${local(spec.to)}`, ...(spec.limit === KEEP_PER_ACTION ? {} : { limit: spec.limit }) };
}

/** Path and query string of a profile query. */
export function profilePath(spec: ProfileQuery): string {
  const query = new URLSearchParams(Object.entries(profileQueryParams(spec)).map(([name, value]) => [name, String(value)]));
  return `/user_profiles/${encodeURIComponent(spec.cookie)}?${query}`;
}

/** The query parameters of an aggregates query (`aggregates` repeated, in the asked order). */
export function aggregatesQueryParams(query: AggregateQuery) {
  return {
    time_range: `${local(query.from).slice(0, 19)}_${local(query.to).slice(0, 19)}`,
    action: query.action,
    aggregates: query.aggregates,
    ...query.filters,
  };
}

/** Path and query string of an aggregates query. */
export function aggregatesPath(query: AggregateQuery): string {
  const { aggregates, ...single } = aggregatesQueryParams(query);
  const params = new URLSearchParams(single);
  for (const a of aggregates) params.append("aggregates", a);
  return `/aggregates?${params}`;
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

/** The tag as the server echoes it: time with milliseconds and `Z`. */
function echoed(tag: Tag, ms: number): Tag {
  return { ...tag, time: new Date(ms).toISOString() };
}

/** What the server must answer, built from the tags it acknowledged with 204. */
export class ReferenceModel {
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

  profile(spec: ProfileQuery) {
    const from = Date.parse(`${spec.fromText}Z`);
    const profile = this.profiles.get(spec.cookie) ?? { VIEW: [], BUY: [] };
    const pick = (list: StoredTag[]) =>
      list.filter((t) => t.ms >= from && t.ms < spec.to).reverse().slice(0, spec.limit).map((t) => t.tag);
    return { cookie: spec.cookie, views: pick(profile.VIEW), buys: pick(profile.BUY) };
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

/** Deep equality of JSON values, key order ignored. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
