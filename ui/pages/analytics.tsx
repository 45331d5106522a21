/**
 * `/ui/analytics`: Allezon's aggregates explorer (a granularity, a range, an action, optional
 * origin/brand/category filters → count and sum_price per minute, hour or day) and a profile
 * lookup by cookie.
 */
import { useState } from "preact/hooks";
import type { components, paths } from "../../client/index.ts";
import { api, refusal } from "../api.ts";
import { Chart } from "../chart.tsx";
import { Layout, Notice } from "../layout.tsx";

type Aggregates = components["schemas"]["Aggregates"];
type Profile = components["schemas"]["UserProfile"];
type Tag = components["schemas"]["UserTag"];
type Granularity = NonNullable<paths["/aggregates"]["post"]["parameters"]["query"]["granularity"]>;

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Per granularity: the bucket, the widest range the API takes, and the range shown first. */
const GRANULARITY: Record<Granularity, { bucket: number; most: string; defaultSpan: number }> = {
  minute: { bucket: MINUTE, most: "at most 10 minutes", defaultSpan: 10 * MINUTE },
  hour: { bucket: HOUR, most: "whole hours, at most 31 days", defaultSpan: DAY },
  day: { bucket: DAY, most: "whole UTC days, at most 400 days", defaultSpan: 30 * DAY },
};

/** A `datetime-local` value (UTC) for `ms`, to the minute. */
const local = (ms: number) => new Date(Math.floor(ms / MINUTE) * MINUTE).toISOString().slice(0, 16);

/** The default range of a granularity: its span, ending at the end of the current bucket (so it includes now). */
function defaultRange(granularity: Granularity, now = Date.now()): { from: string; to: string } {
  const { bucket, defaultSpan } = GRANULARITY[granularity];
  // Minutes end at the current minute (it is still open); hours and days at the end of the current one.
  const to = granularity === "minute" ? Math.floor(now / bucket) * bucket : Math.ceil((now + 1) / bucket) * bucket;
  return { from: local(to - defaultSpan), to: local(to) };
}

function AggregatesExplorer() {
  const [form, setForm] = useState({
    granularity: "minute" as Granularity,
    ...defaultRange("minute"),
    action: "VIEW" as "VIEW" | "BUY",
    origin: "",
    brand: "",
    category: "",
  });
  const [result, setResult] = useState<{ query: string; granularity: Granularity; answer: Aggregates } | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const set = (key: keyof typeof form) => (e: { currentTarget: HTMLInputElement | HTMLSelectElement }) => setForm({ ...form, [key]: e.currentTarget.value });
  const setGranularity = (e: { currentTarget: HTMLSelectElement }) => {
    const granularity = e.currentTarget.value as Granularity;
    setForm({ ...form, granularity, ...defaultRange(granularity) });
  };
  const submit = async (e: Event) => {
    e.preventDefault();
    const from = Date.parse(`${form.from}Z`);
    const to = Date.parse(`${form.to}Z`);
    const text = (ms: number) => new Date(ms).toISOString().slice(0, 19);
    const query = {
      time_range: `${text(from)}_${text(to)}`,
      action: form.action,
      aggregates: ["COUNT", "SUM_PRICE"] as ("COUNT" | "SUM_PRICE")[],
      ...(form.origin ? { origin: form.origin } : {}),
      ...(form.brand ? { brand_id: form.brand } : {}),
      ...(form.category ? { category_id: form.category } : {}),
      // Minute is the API's default; leaving it out keeps Allezon's own query shape.
      ...(form.granularity === "minute" ? {} : { granularity: form.granularity }),
    };
    try {
      const { data, error, response } = await api().POST("/aggregates", { params: { query } });
      setProblem(data ? null : refusal(response, error));
      setResult(data ? { query: new URLSearchParams(response.url.split("?")[1]).toString(), granularity: form.granularity, answer: data } : null);
    } catch (failure) {
      setProblem(`Tally did not answer: ${String(failure)}`);
    }
  };
  const rows = result?.answer.rows ?? [];
  const column = (name: string) => result?.answer.columns.indexOf(name) ?? -1;
  return (
    <section aria-labelledby="h-aggregates">
      <h2 id="h-aggregates">Aggregates per minute, hour or day</h2>
      <form class="grid" onSubmit={submit} aria-label="Aggregates query">
        <label for="agg-granularity">Granularity</label>
        <select id="agg-granularity" value={form.granularity} onChange={setGranularity} aria-describedby="agg-range-hint">
          <option value="minute">minute</option>
          <option value="hour">hour</option>
          <option value="day">day</option>
        </select>
        <label for="agg-from">From (UTC)</label>
        <input id="agg-from" type="datetime-local" required value={form.from} onInput={set("from")} aria-describedby="agg-range-hint" />
        <label for="agg-to">To (UTC, exclusive)</label>
        <input id="agg-to" type="datetime-local" required value={form.to} onInput={set("to")} aria-describedby="agg-range-hint" />
        <p id="agg-range-hint" class="span">Range for {form.granularity} buckets: {GRANULARITY[form.granularity].most}.</p>
        <label for="agg-action">Action</label>
        <select id="agg-action" value={form.action} onChange={set("action")}>
          <option value="VIEW">VIEW</option>
          <option value="BUY">BUY</option>
        </select>
        <label for="agg-origin">Origin (optional)</label>
        <input id="agg-origin" value={form.origin} onInput={set("origin")} />
        <label for="agg-brand">Brand id (optional)</label>
        <input id="agg-brand" value={form.brand} onInput={set("brand")} />
        <label for="agg-category">Category id (optional)</label>
        <input id="agg-category" value={form.category} onInput={set("category")} />
        <button type="submit">Show</button>
      </form>
      {problem && <Notice kind="error">{problem}</Notice>}
      {result && (
        <div data-testid="aggregates" data-query={result.query}>
          <Chart
            title={`${form.action} count and sum_price per ${result.granularity}`}
            testId="aggregates-chart"
            x={rows.map((row) => Date.parse(`${row[0]}Z`) / 1000)}
            series={[
              { label: "count", values: rows.map((row) => Number(row[column("count")])), color: "#1f77b4", bars: true },
              { label: "sum_price", values: rows.map((row) => Number(row[column("sum_price")])), color: "#ff7f0e", right: true },
            ]}
          />
        </div>
      )}
    </section>
  );
}

function TagTable({ caption, tags }: { caption: string; tags: Tag[] }) {
  if (tags.length === 0) return <p>No {caption.toLowerCase()} in this range.</p>;
  return (
    <div class="scroll">
      <table>
        <caption>{caption}</caption>
        <thead><tr><th scope="col">Time (UTC)</th><th scope="col">Origin</th><th scope="col">Product</th><th scope="col">Brand</th><th scope="col">Category</th><th scope="col">Price</th><th scope="col">Device</th><th scope="col">Country</th></tr></thead>
        <tbody>
          {tags.map((t, i) => (
            <tr key={i}><td>{t.time}</td><td>{t.origin}</td><td>{String(t.product_info.product_id)}</td><td>{t.product_info.brand_id}</td><td>{t.product_info.category_id}</td><td>{t.product_info.price}</td><td>{t.device}</td><td>{t.country}</td></tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function ProfileLookup() {
  const [cookie, setCookie] = useState("");
  const [profile, setProfile] = useState<Profile | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    // The last 24 hours up to the next minute; the profile keeps the newest 200 of each action.
    const to = Math.ceil(Date.now() / MINUTE) * MINUTE + MINUTE;
    const text = (ms: number) => new Date(ms).toISOString().slice(0, 19);
    try {
      const { data, error, response } = await api().POST("/user_profiles/{cookie}", {
        params: { path: { cookie }, query: { time_range: `${text(to - 86_400_000)}_${text(to)}`, limit: 200 } },
      });
      setProblem(data ? null : refusal(response, error));
      setProfile(data ?? null);
    } catch (failure) {
      setProblem(`Tally did not answer: ${String(failure)}`);
    }
  };
  return (
    <section aria-labelledby="h-profile">
      <h2 id="h-profile">Profile by cookie (last 24 hours)</h2>
      <form class="inline" onSubmit={submit} aria-label="Profile lookup">
        <label for="cookie">Cookie</label>
        <input id="cookie" required maxLength={256} value={cookie} onInput={(e) => setCookie(e.currentTarget.value)} />
        <button type="submit">Look up</button>
      </form>
      {problem && <Notice kind="error">{problem}</Notice>}
      {profile && (
        <div data-testid="profile">
          <TagTable caption="Views" tags={profile.views} />
          <TagTable caption="Buys" tags={profile.buys} />
        </div>
      )}
    </section>
  );
}

export function AnalyticsPage() {
  return (
    <Layout title="Allezon analytics">
      <AggregatesExplorer />
      <ProfileLookup />
    </Layout>
  );
}
