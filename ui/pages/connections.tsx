/**
 * `/ui/connections`: officers available around a place (refreshed every 5 s while watching) and, for an
 * admin, the connection and reward reports as charts.
 */
import { useState } from "preact/hooks";
import { api, getUntyped, useLoad } from "../api.ts";
import { Chart } from "../chart.tsx";
import { Layout, Notice } from "../layout.tsx";
import { hasRole, useSession } from "../session.ts";

/** API.md §5's rewards report; typed here until `GET /reports/rewards` is in the generated client. */
interface RewardsReport {
  groupBy: "offer" | "charity" | "day";
  rows: ({ offerId?: string; charityId?: string; day?: string } & { redemptions: number; pointsRedeemed: number; donations: number; pointsDonated: number })[];
}

function OfficersNearby() {
  const session = useSession();
  const [form, setForm] = useState({ zip: "10001", lat: "40.7506", lng: "-73.9972", radius: "1000" });
  const [watching, setWatching] = useState<typeof form | null>(null);
  const officers = useLoad(
    () => watching ? api().GET("/officers/nearby", { params: { query: { zip: watching.zip, lat: Number(watching.lat), lng: Number(watching.lng), radius: Number(watching.radius) } } }) : null,
    [watching, session.token],
    watching ? 5000 : undefined,
  );
  const set = (key: keyof typeof form) => (e: { currentTarget: HTMLInputElement }) => setForm({ ...form, [key]: e.currentTarget.value });
  return (
    <section aria-labelledby="h-nearby">
      <h2 id="h-nearby">Officers available nearby (live)</h2>
      {!hasRole(session, "citizen") && <Notice kind="info">Needs a citizen token: officers' availability is shown to citizens.</Notice>}
      <form class="grid" aria-label="Where to look" onSubmit={(e) => {
        e.preventDefault();
        setWatching({ ...form });
      }}>
        <label for="nb-zip">Zip codes (comma-separated)</label>
        <input id="nb-zip" required value={form.zip} onInput={set("zip")} />
        <label for="nb-lat">Latitude</label>
        <input id="nb-lat" required inputMode="decimal" value={form.lat} onInput={set("lat")} />
        <label for="nb-lng">Longitude</label>
        <input id="nb-lng" required inputMode="decimal" value={form.lng} onInput={set("lng")} />
        <label for="nb-radius">Radius (m, up to 10000)</label>
        <input id="nb-radius" type="number" min={1} max={10000} value={form.radius} onInput={set("radius")} />
        <button type="submit">Watch</button>
      </form>
      {officers.error && <Notice kind="error">{officers.error}</Notice>}
      {watching && officers.data && (
        officers.data.officers.length === 0 ? <p role="status">No officer available within {watching.radius} m right now (refreshed every 5 s).</p> : (
          <ul role="status" data-testid="officers">
            {officers.data.officers.map((o) => <li key={o.officerId}>Officer {o.officerId} (zip {o.zip}): {o.distanceMeters} m away</li>)}
          </ul>
        )
      )}
    </section>
  );
}

function Reports() {
  const [groupBy, setGroupBy] = useState<"day" | "zip">("day");
  const [rewardsBy, setRewardsBy] = useState<"day" | "offer" | "charity">("day");
  const connections = useLoad(() => api().GET("/reports/connections", { params: { query: { groupBy } } }), [groupBy]);
  const rewards = useLoad(() => getUntyped<RewardsReport>(`/reports/rewards?groupBy=${rewardsBy}`), [rewardsBy]);
  const rows = connections.data?.rows ?? [];
  const keyOf = (row: (typeof rows)[number]) => ("zip" in row ? row.zip : row.day);
  const rewardRows = rewards.data?.rows ?? [];
  const rewardKey = (row: RewardsReport["rows"][number]) => row.day ?? row.offerId ?? row.charityId ?? "";
  return (
    <>
      <section aria-labelledby="h-conn-report">
        <h2 id="h-conn-report">Connections</h2>
        <label for="conn-group">Group by</label>{" "}
        <select id="conn-group" value={groupBy} onChange={(e) => setGroupBy(e.currentTarget.value as "day" | "zip")}>
          <option value="day">day</option>
          <option value="zip">zip</option>
        </select>
        {connections.error && <Notice kind="error">{connections.error}</Notice>}
        {connections.data && (
          <>
            <p>{connections.data.total} established connections in all.</p>
            <Chart title={`Connections per ${groupBy}`} xLabel={groupBy} categories={rows.map(keyOf)} x={rows.map((_, i) => i)}
              series={[{ label: "Connections", values: rows.map((r) => r.connections), color: "#1f77b4", bars: true }]} />
          </>
        )}
      </section>
      <section aria-labelledby="h-rewards-report">
        <h2 id="h-rewards-report">Rewards</h2>
        <label for="rewards-group">Group by</label>{" "}
        <select id="rewards-group" value={rewardsBy} onChange={(e) => setRewardsBy(e.currentTarget.value as "day" | "offer" | "charity")}>
          <option value="day">day</option>
          <option value="offer">offer</option>
          <option value="charity">charity</option>
        </select>
        {rewards.status === 404 ? <Notice kind="info">The rewards report is not available on this server yet (GET /reports/rewards answered 404).</Notice>
          : rewards.error ? <Notice kind="error">{rewards.error}</Notice> : null}
        {rewards.data && (
          <Chart title={`Points redeemed and donated per ${rewardsBy}`} xLabel={rewardsBy} categories={rewardRows.map(rewardKey)} x={rewardRows.map((_, i) => i)}
            series={[
              { label: "Points redeemed", values: rewardRows.map((r) => r.pointsRedeemed), color: "#ff7f0e", bars: true },
              { label: "Points donated", values: rewardRows.map((r) => r.pointsDonated), color: "#2ca02c" },
            ]} />
        )}
      </section>
    </>
  );
}

export function ConnectionsPage() {
  const session = useSession();
  return (
    <Layout title="Officer–citizen connections">
      <OfficersNearby />
      {hasRole(session, "admin") ? <Reports /> : <Notice kind="info">Sign in with an admin token to see the connection and reward reports.</Notice>}
    </Layout>
  );
}
