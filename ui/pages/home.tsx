/** `/ui/`: the five systems, links into their pages, and the service's health. */
import { useState } from "preact/hooks";
import { api, useLoad } from "../api.ts";
import { Layout, Notice } from "../layout.tsx";

/** A labelled "open by id" form that navigates to `prefix + id`. */
function OpenById({ label, prefix, name, placeholder }: { label: string; prefix: string; name: string; placeholder: string }) {
  const [id, setId] = useState("");
  return (
    <form class="inline" onSubmit={(e) => {
      e.preventDefault();
      if (id.trim()) location.assign(prefix + encodeURIComponent(id.trim()));
    }}>
      <label for={name}>{label}</label>
      <input id={name} name={name} value={id} onInput={(e) => setId(e.currentTarget.value)} placeholder={placeholder} inputMode="numeric" />
      <button type="submit">Open</button>
    </form>
  );
}

export function HomePage() {
  const health = useLoad(() => api().GET("/health"), [], 15_000);
  const campaigns = useLoad(() => api().GET("/campaigns/active"), []);
  const ads = useLoad(() => api().GET("/ads/campaigns/active"), []);
  return (
    <Layout title="Tally">
      <p>
        Service health:{" "}
        <strong data-testid="health">{health.data?.status === "ok" ? "up" : health.error ? "down" : "checking…"}</strong>
        {health.error && <Notice kind="error">{health.error}</Notice>}
      </p>
      <div class="cards">
        <section class="card" aria-labelledby="h-campaigns">
          <h2 id="h-campaigns">Campaign scoring</h2>
          <p>Live leaderboards of purchase campaigns, winners after settlement.</p>
          {campaigns.error && <Notice kind="error">{campaigns.error}</Notice>}
          <ul>
            {campaigns.data?.campaigns.map((c) => (
              <li key={c.campaignId}><a href={`/ui/campaigns/${c.campaignId}`}>Campaign {c.campaignId}</a> (item {c.itemId}, prize {c.prize.value} {c.prize.currency})</li>
            ))}
          </ul>
          <OpenById label="Campaign id" prefix="/ui/campaigns/" name="campaign-id" placeholder="1" />
        </section>
        <section class="card" aria-labelledby="h-allezon">
          <h2 id="h-allezon">Allezon analytics</h2>
          <p>User tags per minute by action, origin, brand and category; a cookie's profile.</p>
          <p><a href="/ui/analytics">Open the aggregates explorer</a></p>
        </section>
        <section class="card" aria-labelledby="h-ads">
          <h2 id="h-ads">Ad campaigns</h2>
          <p>Spend against daily and total budgets, pacing, impressions, clicks and CTR.</p>
          {ads.error && <Notice kind="error">{ads.error}</Notice>}
          <ul>
            {ads.data?.adCampaigns.map((a) => <li key={a.adCampaignId}><a href={`/ui/ads/${a.adCampaignId}`}>{a.name}</a> ({a.status})</li>)}
          </ul>
          <OpenById label="Ad campaign id" prefix="/ui/ads/" name="ad-id" placeholder="1" />
        </section>
        <section class="card" aria-labelledby="h-incentives">
          <h2 id="h-incentives">Employee incentives</h2>
          <p>The employer dashboard: catalogue, programs' incentives, awards, employees' progress.</p>
          <OpenById label="Employer id" prefix="/ui/employers/" name="employer-id" placeholder="7" />
        </section>
        <section class="card" aria-labelledby="h-connections">
          <h2 id="h-connections">Officer–citizen connections</h2>
          <p>Officers available per zip, connection and reward reports.</p>
          <p><a href="/ui/connections">Open connections</a></p>
        </section>
      </div>
      <p>The HTTP API: <a href="/docs">reference (OpenAPI)</a>, <a href="/openapi.json">openapi.json</a>.</p>
    </Layout>
  );
}
