/**
 * `/ui/ads/{id}`: today's spend against the daily budget through the UTC day with the even-pacing
 * line, spend against the total budget, impressions/clicks/CTR per minute, hour or day, and for an
 * admin pause, resume, stop and edit.
 */
import { useState } from "preact/hooks";
import type { components } from "../../client/index.ts";
import { act, api, money, useLoad, utc } from "../api.ts";
import { Chart } from "../chart.tsx";
import { Layout, Notice } from "../layout.tsx";
import { hasRole, useSession } from "../session.ts";

type View = components["schemas"]["AdCampaignView"];
type Granularity = "minute" | "hour" | "day";

const MINUTE = 60_000;
const DAY = 86_400_000;
/** How far back each granularity's chart looks. */
const SPAN: Record<Granularity, number> = { minute: 60 * MINUTE, hour: DAY, day: 30 * DAY };

/** `<from>_<to>` on whole minutes, `to` just after the current minute so it is included. */
function minuteRange(from: number, to: number): string {
  const floor = (ms: number) => new Date(Math.floor(ms / MINUTE) * MINUTE).toISOString().slice(0, 19);
  return `${floor(from)}_${floor(to + MINUTE)}`;
}

const seconds = (iso: string) => Date.parse(iso) / 1000;

function SpendToday({ id, view }: { id: string; view: View }) {
  const dayStart = Math.floor(Date.now() / DAY) * DAY;
  const perf = useLoad(
    () => api().GET("/ads/campaigns/{id}/performance", { params: { path: { id }, query: { time_range: minuteRange(dayStart, Date.now()), granularity: "minute" } } }),
    [id, view.spentToday.value],
  );
  if (perf.error) return <Notice kind="error">{perf.error}</Notice>;
  if (!perf.data) return <p>Loading today's spend…</p>;
  const budget = view.dailyBudget ? Number(view.dailyBudget.value) : null;
  // Points: the day's start and end, every minute with activity, and now.
  const now = Date.now();
  // A bucket's spend counts from its end, or from now while its minute is still running.
  const times = [...new Set([dayStart, ...perf.data.buckets.map((b) => Math.min(Date.parse(b.start) + MINUTE, now)), now, dayStart + DAY])].sort((a, b) => a - b);
  const spent = times.map((t) => {
    if (t > now) return null;
    const sum = perf.data!.buckets.filter((b) => Math.min(Date.parse(b.start) + MINUTE, now) <= t).reduce((s, b) => s + Number(b.spend.value), 0);
    return Math.round(sum * 1000) / 1000;
  });
  return (
    <Chart
      title={`Spend today (${view.spentToday.currency}, cumulative, UTC day)`}
      testId="spend-today"
      x={times.map((t) => t / 1000)}
      series={[
        { label: "Spent", values: spent, color: "#1f77b4" },
        ...(budget !== null ? [
          { label: "Even pacing", values: times.map((t) => Math.round(budget * ((t - dayStart) / DAY) * 100) / 100), color: "#2ca02c", dash: [6, 4] },
          { label: "Daily budget", values: times.map(() => budget), color: "#d62728", dash: [2, 3] },
        ] : []),
      ]}
    />
  );
}

function Performance({ id }: { id: string }) {
  const [granularity, setGranularity] = useState<Granularity>("hour");
  const perf = useLoad(() => {
    const now = Date.now();
    return api().GET("/ads/campaigns/{id}/performance", { params: { path: { id }, query: { time_range: minuteRange(now - SPAN[granularity], now), granularity } } });
  }, [id, granularity]);
  const buckets = perf.data?.buckets ?? [];
  const x = buckets.map((b) => seconds(b.start));
  return (
    <section aria-labelledby="h-perf">
      <h2 id="h-perf">Impressions, clicks and CTR</h2>
      <label for="granularity">Per</label>{" "}
      <select id="granularity" value={granularity} onChange={(e) => setGranularity(e.currentTarget.value as Granularity)}>
        <option value="minute">minute (last hour)</option>
        <option value="hour">hour (last 24 hours)</option>
        <option value="day">day (last 30 days)</option>
      </select>
      {perf.error && <Notice kind="error">{perf.error}</Notice>}
      {perf.data && (
        <>
          <p>
            In this range: {perf.data.totals.impressions} impressions, {perf.data.totals.clicks} clicks ({perf.data.totals.chargedClicks} charged),
            CTR {(Number(perf.data.totals.ctr) * 100).toFixed(2)} %, spend {money(perf.data.totals.spend)}.
          </p>
          <div class="charts">
            <Chart title={`Impressions and clicks per ${granularity}`} x={x} series={[
              { label: "Impressions", values: buckets.map((b) => b.impressions), color: "#1f77b4" },
              { label: "Clicks", values: buckets.map((b) => b.clicks), color: "#ff7f0e" },
            ]} />
            <Chart title={`CTR per ${granularity} (%)`} x={x} series={[
              { label: "CTR %", values: buckets.map((b) => Math.round(Number(b.ctr) * 10_000) / 100), color: "#9467bd" },
            ]} />
          </div>
        </>
      )}
    </section>
  );
}

function AdminControls({ id, view, changed }: { id: string; view: View; changed: () => void }) {
  const [problem, setProblem] = useState<string | null>(null);
  const [form, setForm] = useState({ name: view.name, cpc: view.cpc.value, daily: view.dailyBudget?.value ?? "", total: view.totalBudget.value, pacing: view.pacing });
  const currency = view.cpc.currency;
  const run = async (call: Promise<{ response: Response; error?: unknown }>) => {
    setProblem(await act(call));
    changed();
  };
  const path = { params: { path: { id } } };
  const final = view.status === "ended";
  return (
    <section aria-labelledby="h-admin">
      <h2 id="h-admin">Manage (admin)</h2>
      {problem && <Notice kind="error">{problem}</Notice>}
      <div class="buttons">
        <button type="button" disabled={final || view.status === "paused"} onClick={() => run(api().POST("/ads/campaigns/{id}/pause", path))}>Pause</button>
        <button type="button" disabled={final || view.status !== "paused"} onClick={() => run(api().POST("/ads/campaigns/{id}/resume", path))}>Resume</button>
        <button type="button" class="danger" disabled={final} onClick={() => run(api().POST("/ads/campaigns/{id}/stop", path))}>Stop for good</button>
      </div>
      <form class="grid" onSubmit={(e) => {
        e.preventDefault();
        run(api().PATCH("/ads/campaigns/{id}", { ...path, body: {
          name: form.name,
          cpc: { value: form.cpc, currency },
          dailyBudget: form.daily.trim() ? { value: form.daily, currency } : null,
          totalBudget: { value: form.total, currency },
          pacing: form.pacing,
        } }));
      }}>
        <label for="ad-name">Name</label>
        <input id="ad-name" value={form.name} onInput={(e) => setForm({ ...form, name: e.currentTarget.value })} disabled={final} />
        <label for="ad-cpc">Cost per click ({currency})</label>
        <input id="ad-cpc" inputMode="decimal" value={form.cpc} onInput={(e) => setForm({ ...form, cpc: e.currentTarget.value })} disabled={final} />
        <label for="ad-daily">Daily budget ({currency}, empty: none)</label>
        <input id="ad-daily" inputMode="decimal" value={form.daily} onInput={(e) => setForm({ ...form, daily: e.currentTarget.value })} disabled={final} />
        <label for="ad-total">Total budget ({currency})</label>
        <input id="ad-total" inputMode="decimal" value={form.total} onInput={(e) => setForm({ ...form, total: e.currentTarget.value })} disabled={final} />
        <label for="ad-pacing">Pacing</label>
        <select id="ad-pacing" value={form.pacing} onChange={(e) => setForm({ ...form, pacing: e.currentTarget.value as View["pacing"] })} disabled={final}>
          <option value="asap">as soon as possible</option>
          <option value="even">even through the day</option>
        </select>
        <button type="submit" disabled={final}>Save changes</button>
      </form>
    </section>
  );
}

export function AdsPage({ id }: { id: string }) {
  const session = useSession();
  const ad = useLoad(() => api().GET("/ads/campaigns/{id}", { params: { path: { id } } }), [id], 10_000);
  const view = ad.data?.adCampaign;
  const totalShare = view ? Number(view.spentTotal.value) / Number(view.totalBudget.value) : 0;
  return (
    <Layout title={view ? `Ad campaign ${view.name}` : `Ad campaign ${id}`}>
      {ad.error && <Notice kind="error">{ad.error}</Notice>}
      {view && (
        <>
          <dl class="facts">
            <dt>Status</dt><dd data-testid="ad-status">{view.status}</dd>
            <dt>Advertiser</dt><dd>{view.advertiserId}</dd>
            <dt>Cost per click</dt><dd>{money(view.cpc)}</dd>
            <dt>Pacing</dt><dd>{view.pacing}</dd>
            <dt>Spent today</dt><dd data-testid="spent-today">{money(view.spentToday)} of {view.dailyBudget ? money(view.dailyBudget) : "no daily budget"}</dd>
            <dt>Runs</dt><dd>{utc(view.startDateTime)} – {view.endDateTime ? utc(view.endDateTime) : "open-ended"}</dd>
          </dl>
          <p>
            <label for="total-spend">Spent in all: {money(view.spentTotal)} of {money(view.totalBudget)} ({(totalShare * 100).toFixed(1)} %)</label>
            <progress id="total-spend" max={1} value={Math.min(1, totalShare)} />
          </p>
          <SpendToday id={id} view={view} />
          <Performance id={id} />
          {hasRole(session, "admin") ? <AdminControls key={view.status} id={id} view={view} changed={ad.reload} />
            : <p>Sign in with an admin token to pause, resume, stop or edit this campaign.</p>}
        </>
      )}
    </Layout>
  );
}
