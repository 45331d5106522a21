/**
 * `/ui/connections`: officers available around a place, live over the citizen socket `/nearby/{zip}`, and, for an
 * admin, the connection and reward reports as charts.
 */
import { useEffect, useState } from "preact/hooks";
import type { components } from "../../client/index.ts";
import { api, useLoad } from "../api.ts";
import { Chart } from "../chart.tsx";
import { Layout, Notice } from "../layout.tsx";
import { LiveState, useSocket } from "../live.tsx";
import { hasRole, useSession } from "../session.ts";

type RewardRow = components["schemas"]["RewardsReport"]["rows"][number];

/** An officer as the citizen socket lists them (docs/sockets.md). */
interface NearbyOfficer {
  officerId: string;
  displayName: string | null;
  distanceMeters: number;
}

type NearbyMessage =
  | { type: "officers"; officers: NearbyOfficer[] }
  | ({ type: "officer-nearby" } & NearbyOfficer)
  | { type: "error"; code: string; detail: string }
  | { type: "connection" | "trophy" };

const officerName = (o: NearbyOfficer) => o.displayName ? `${o.displayName} (officer ${o.officerId})` : `Officer ${o.officerId}`;

function OfficersNearby() {
  const session = useSession();
  const citizen = hasRole(session, "citizen");
  const [form, setForm] = useState({ zip: "10001", lat: "40.7506", lng: "-73.9972", radius: "1000" });
  const [watching, setWatching] = useState<typeof form | null>(null);
  const [officers, setOfficers] = useState<NearbyOfficer[] | null>(null);
  const [close, setClose] = useState<NearbyOfficer[]>([]);
  const [problem, setProblem] = useState<string | null>(null);
  const zip = watching && citizen ? watching.zip : null;
  const live = useSocket(zip ? `/nearby/${encodeURIComponent(zip)}` : null, session.token, (raw) => {
    const message = raw as NearbyMessage;
    if (message.type === "officers") setOfficers(message.officers);
    if (message.type === "officer-nearby") setClose((list) => [...list.filter((o) => o.officerId !== message.officerId), message]);
    if (message.type === "error") setProblem(`${message.code}: ${message.detail}`);
  }, '{"type":"ping"}');
  // A new zip is a new socket and a new episode: forget the last one's officers.
  useEffect(() => {
    setOfficers(null);
    setClose([]);
  }, [zip, session.token]);
  // The location goes out when the socket opens (again, after a drop) and whenever the form is submitted.
  useEffect(() => {
    if (!watching || live.state.kind !== "open") return;
    setProblem(null);
    live.send({ type: "location", lat: Number(watching.lat), lng: Number(watching.lng), radius: Number(watching.radius) });
  }, [watching, live.state.kind]);
  const set = (key: keyof typeof form) => (e: { currentTarget: HTMLInputElement }) => setForm({ ...form, [key]: e.currentTarget.value });
  return (
    <section aria-labelledby="h-nearby">
      <h2 id="h-nearby">Officers available nearby (live)</h2>
      {!citizen && (
        <Notice kind="info">
          Needs a citizen token: the live list comes over the citizen socket /nearby/{"{zip}"}, which only citizens may open
          (e.g. npm run token -- --sub 42 --roles citizen).
        </Notice>
      )}
      <form class="grid" aria-label="Where to look" onSubmit={(e) => {
        e.preventDefault();
        setWatching({ ...form });
      }}>
        <label for="nb-zip">Zip code</label>
        <input id="nb-zip" required value={form.zip} onInput={set("zip")} />
        <label for="nb-lat">Latitude</label>
        <input id="nb-lat" required inputMode="decimal" value={form.lat} onInput={set("lat")} />
        <label for="nb-lng">Longitude</label>
        <input id="nb-lng" required inputMode="decimal" value={form.lng} onInput={set("lng")} />
        <label for="nb-radius">Radius (m, up to 10000)</label>
        <input id="nb-radius" type="number" min={1} max={10000} value={form.radius} onInput={set("radius")} />
        <button type="submit" disabled={!citizen}>Watch</button>
      </form>
      {zip && <LiveState state={live.state} open={`Live: officers available in zip ${zip}`} what="the list below" />}
      {problem && <Notice kind="error">{problem}</Notice>}
      {zip && officers && (
        officers.length === 0 ? <p role="status">No officer available within {watching?.radius} m right now.</p> : (
          <ul role="status" data-testid="officers">
            {officers.map((o) => <li key={o.officerId}>{officerName(o)}: {o.distanceMeters} m away</li>)}
          </ul>
        )
      )}
      {zip && close.length > 0 && <p role="status" data-testid="officer-nearby">Within 200 m: {close.map(officerName).join(", ")}.</p>}
    </section>
  );
}

function Reports() {
  const [groupBy, setGroupBy] = useState<"day" | "zip">("day");
  const [rewardsBy, setRewardsBy] = useState<"day" | "offer" | "charity">("day");
  const connections = useLoad(() => api().GET("/reports/connections", { params: { query: { groupBy } } }), [groupBy]);
  const rewards = useLoad(() => api().GET("/reports/rewards", { params: { query: { groupBy: rewardsBy } } }), [rewardsBy]);
  const rows = connections.data?.rows ?? [];
  const keyOf = (row: (typeof rows)[number]) => ("zip" in row ? row.zip : row.day);
  // Charts are named by the answer on screen, not the select: the last answer stays up while the next loads.
  const shownBy = rows[0] && "zip" in rows[0] ? "zip" : "day";
  const rewardRows = rewards.data?.rows ?? [];
  const rewardKey = (row: RewardRow) => ("day" in row ? row.day : "offerId" in row ? row.offerId : row.charityId);
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
            <Chart title={`Connections per ${shownBy}`} xLabel={shownBy} categories={rows.map(keyOf)} x={rows.map((_, i) => i)}
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
        {rewards.error && <Notice kind="error">{rewards.error}</Notice>}
        {rewards.data && (
          <Chart testId="rewards-chart" title={`Points redeemed and donated per ${rewards.data.groupBy}`} xLabel={rewards.data.groupBy} categories={rewardRows.map(rewardKey)} x={rewardRows.map((_, i) => i)}
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
