/**
 * `/ui/campaigns/{id}`: the live top 100 over `/records/live/{id}` (with the signed-in user's row
 * highlighted and their own position even outside the top), the phase and time left, and the
 * winners with their tiers once the campaign has settled.
 */
import { useState } from "preact/hooks";
import type { components } from "../../client/index.ts";
import { api, money, useLoad, utc } from "../api.ts";
import { Layout, Notice } from "../layout.tsx";
import { LiveState, useNow, useSocket, type SocketState } from "../live.tsx";
import { useSession } from "../session.ts";

type Row = Omit<components["schemas"]["CampaignRecord"], "campaignId">;
type Campaign = components["schemas"]["Campaign"];

interface Live {
  top: Row[] | null;
  asOf: string | null;
  own: Row | null;
  state: SocketState;
}

/** The live socket's top 100 and, for a signed-in user, their own record (docs/sockets.md). */
function useLive(campaignId: string, token: string | null, enabled: boolean): Live {
  const [board, setBoard] = useState<Omit<Live, "state">>({ top: null, asOf: null, own: null });
  const { state } = useSocket(enabled ? `/records/live/${encodeURIComponent(campaignId)}` : null, token, (message) => {
    const m = message as { type: string; positions?: Row[]; asOf?: string } & Row;
    if (m.type === "top") setBoard((b) => ({ ...b, top: m.positions ?? [], asOf: m.asOf ?? null }));
    if (m.type === "position") {
      const { userId, displayName, position, total } = m;
      setBoard((b) => ({ ...b, own: { userId, displayName, position, total } }));
    }
  }, "ping");
  return { ...board, state };
}

function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const [d, h, m] = [Math.floor(s / 86_400), Math.floor((s % 86_400) / 3600), Math.floor((s % 3600) / 60)];
  return [d && `${d} d`, (d || h) && `${h} h`, `${m} min`, `${s % 60} s`].filter(Boolean).join(" ");
}

function Phase({ campaign, now }: { campaign: Campaign; now: number }) {
  const start = Date.parse(campaign.startDateTime);
  const end = Date.parse(campaign.endDateTime);
  const text = campaign.status === "scheduled" ? `Starts in ${duration(start - now)}`
    : campaign.status === "active" ? `Ends in ${duration(end - now)}`
    : campaign.status === "ended" ? "Ended: the winners are being decided"
    : "Settled: the winners are final";
  return (
    <dl class="facts">
      <dt>Phase</dt><dd data-testid="phase">{campaign.status}</dd>
      <dt>Time</dt><dd>{text}</dd>
      <dt>Item</dt><dd>{campaign.itemId}</dd>
      <dt>Runs</dt><dd>{utc(campaign.startDateTime)} – {utc(campaign.endDateTime)}</dd>
      <dt>Prize (position 0)</dt><dd>{money(campaign.prize)}</dd>
      {campaign.prizes?.map((tier) => (
        <>
          <dt>Positions {tier.fromPosition}–{tier.toPosition}</dt>
          <dd>{money(tier.prize)}</dd>
        </>
      ))}
    </dl>
  );
}

function Winners({ campaignId, status }: { campaignId: string; status: Campaign["status"] }) {
  const winners = useLoad(
    () => status === "settled" ? api().GET("/campaigns/{campaignId}/winners", { params: { path: { campaignId } } }) : null,
    [campaignId, status === "settled"],
  );
  if (status !== "settled") return null;
  if (winners.error) return <Notice kind="error">{winners.error}</Notice>;
  if (!winners.data) return <p>Loading the winners…</p>;
  return (
    <section aria-labelledby="h-winners">
      <h2 id="h-winners">Winners</h2>
      <p>Decided {utc(winners.data.decidedAt)}.</p>
      {winners.data.winners.length === 0 ? <p>No purchases qualified: no winner.</p> : (
        <table data-testid="winners">
          <thead><tr><th scope="col">Position</th><th scope="col">User</th><th scope="col">Total</th><th scope="col">Prize</th></tr></thead>
          <tbody>
            {winners.data.winners.map((w) => (
              <tr key={w.userId}><td>{w.position}</td><td>{w.displayName ?? w.userId}</td><td>{money(w.total)}</td><td>{money(w.prize)}</td></tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function CampaignPage({ id }: { id: string }) {
  const session = useSession();
  const now = useNow(1000);
  const campaign = useLoad(() => api().GET("/campaigns/{campaignId}", { params: { path: { campaignId: id } } }), [id], 15_000);
  const live = useLive(id, session.token, campaign.data !== undefined);
  const me = session.claims?.sub;
  // The own position before the socket reports it, and for a token whose socket has not said yet.
  const mine = useLoad(
    () => me ? api().GET("/records/position/{campaignId}/{userId}", { params: { path: { campaignId: id, userId: me } } }) : null,
    [id, me, session.token],
  );
  const own = live.own ?? mine.data?.record ?? null;
  const inTop = live.top?.some((row) => row.userId === me) ?? false;
  return (
    <Layout title={`Campaign ${id}`}>
      {campaign.error && <Notice kind="error">{campaign.error}</Notice>}
      {campaign.data && <Phase campaign={campaign.data.campaign} now={now} />}
      {campaign.data && <Winners campaignId={id} status={campaign.data.campaign.status} />}
      <section aria-labelledby="h-top">
        <h2 id="h-top">Leaderboard (top 100, live)</h2>
        <LiveState state={live.state} open={`Live${live.asOf ? `, as of ${utc(live.asOf)}` : ""}`} what="the board below" />
        {me && own && !inTop && (
          <p data-testid="own-position">Your position: <strong>{own.position}</strong> with {money(own.total)} (outside the top 100).</p>
        )}
        {me && own && inTop && <p data-testid="own-position">Your position: <strong>{own.position}</strong> with {money(own.total)}.</p>}
        {me && !own && mine.status === 404 && <p>You ({me}) have no purchases in this campaign yet.</p>}
        {!me && <p>Sign in to see your own position.</p>}
        {live.top && live.top.length === 0 && <p>No qualifying purchases yet.</p>}
        {live.top && live.top.length > 0 && (
          <div class="scroll">
            <table data-testid="leaderboard">
              <thead><tr><th scope="col">Position</th><th scope="col">Name</th><th scope="col">User id</th><th scope="col">Total</th></tr></thead>
              <tbody>
                {live.top.map((row) => (
                  <tr key={row.userId} class={row.userId === me ? "me" : undefined} aria-current={row.userId === me ? "true" : undefined}>
                    <td>{row.position}</td>
                    <td>{row.displayName ?? "–"}{row.userId === me ? " (you)" : ""}</td>
                    <td>{row.userId}</td>
                    <td>{money(row.total)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </Layout>
  );
}
