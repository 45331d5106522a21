/**
 * `/ui/status` (admin): what `GET /admin/status` says, refreshed every few seconds — each queue's latest
 * batch and lag, its dead letters with a button that re-drives them (`POST /admin/dead-letters/redrive`),
 * settlements waiting on a retry, webhook deliveries failing, and the version answering.
 */
import { useState } from "preact/hooks";
import { act, api, useLoad, utc } from "../api.ts";
import { Layout, Notice } from "../layout.tsx";
import { hasRole, useSession } from "../session.ts";

/** How often the page asks again. */
const REFRESH_MS = 5_000;

/** Dead letters record their queue by producer binding: the queue name upper-cased, `_` for `-`. */
const bindingOf = (queue: string) => queue.toUpperCase().replaceAll("-", "_");

function lag(seconds: number | null): string {
  if (seconds === null) return "–";
  return seconds < 120 ? `${seconds} s` : `${Math.round(seconds / 60)} min`;
}

function Status() {
  const status = useLoad(() => api().GET("/admin/status"), [], REFRESH_MS);
  const [outcome, setOutcome] = useState<{ kind: "error" | "info"; text: string } | null>(null);
  const [busy, setBusy] = useState<string | null>(null);

  /** Re-drives every pending dead letter of `queue` (the existing redrive, by ids). */
  async function redrive(queue: string) {
    setBusy(queue);
    setOutcome(null);
    const letters = await api().GET("/admin/dead-letters", { params: { query: { limit: 1000 } } });
    const ids = (letters.data?.deadLetters ?? []).filter((letter) => letter.queue === bindingOf(queue)).map((letter) => letter.deadLetterId);
    const problem = letters.response.ok
      ? ids.length === 0 ? null : await act(api().POST("/admin/dead-letters/redrive", { body: { deadLetterIds: ids } }))
      : `Could not list the dead letters (${letters.response.status}).`;
    setOutcome(problem ? { kind: "error", text: problem } : { kind: "info", text: `Re-drove ${ids.length} dead letter(s) to ${queue}.` });
    setBusy(null);
    status.reload();
  }

  if (status.error) return <Notice kind="error">{status.error}</Notice>;
  const data = status.data;
  if (!data) return <p role="status">Loading…</p>;
  return (
    <>
      <section aria-labelledby="h-queues">
        <h2 id="h-queues">Queues</h2>
        <p>
          Lag is the age of the oldest message in the consumer's latest batch; it grows while a consumer keeps failing.
          Refreshes every {REFRESH_MS / 1000} s.
        </p>
        <table data-testid="queues">
          <thead>
            <tr><th scope="col">Queue</th><th scope="col">Latest batch</th><th scope="col">Lag</th><th scope="col">Dead letters</th></tr>
          </thead>
          <tbody>
            {data.queues.map((q) => (
              <tr key={q.queue}>
                <th scope="row">{q.queue}</th>
                <td>{utc(q.lastBatchAt)}</td>
                <td>{lag(q.maxLagSeconds)}</td>
                <td>
                  {q.deadLetters}{" "}
                  {q.deadLetters > 0 && (
                    <button type="button" disabled={busy !== null} onClick={() => void redrive(q.queue)} aria-label={`Re-drive the dead letters of ${q.queue}`}>
                      Re-drive
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {outcome && <Notice kind={outcome.kind}>{outcome.text}</Notice>}
      </section>
      <section aria-labelledby="h-retries">
        <h2 id="h-retries">Retries</h2>
        <ul>
          <li data-testid="settlements-pending">Settlements waiting on a retry: {data.settlementsPending}</li>
          <li data-testid="webhooks-failing">Webhook deliveries failing: {data.webhookDeliveriesFailing}</li>
          <li>Version: <code>{data.version}</code></li>
        </ul>
      </section>
    </>
  );
}

export function StatusPage() {
  const session = useSession();
  return (
    <Layout title="Status">
      {hasRole(session, "admin") ? <Status /> : <Notice kind="info">Sign in with an admin token to see the status of queues and retries.</Notice>}
    </Layout>
  );
}
