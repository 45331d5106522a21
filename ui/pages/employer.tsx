/**
 * `/ui/employers/{id}`: seed 004's employer incentive dashboard — the catalogue, the incentives attached
 * to the employer's programs (attach with `countFrom`, detach), awards, and employees' progress.
 */
import { useState } from "preact/hooks";
import type { components } from "../../client/index.ts";
import { act, api, useLoad, utc } from "../api.ts";
import { Layout, Notice } from "../layout.tsx";
import { useSession } from "../session.ts";

type Incentive = components["schemas"]["Incentive"];

function ruleText(rule: Incentive["rule"]): string {
  if (rule.kind === "streak") return `${rule.event} on ${rule.days} days in a row`;
  if (rule.kind === "once") return `${rule.event} once`;
  const counted = rule as { event: string; times?: number; withinDays?: number };
  return `${counted.event} ${counted.times ?? "?"} times within ${counted.withinDays ?? "?"} days`;
}

function AttachForm({ employerId, catalogue, attached }: { employerId: string; catalogue: Incentive[]; attached: () => void }) {
  const [form, setForm] = useState({ programId: "1", incentiveId: catalogue[0]?.incentiveId ?? "", reward: "", countFrom: "history" as "history" | "attach" });
  const [message, setMessage] = useState<{ kind: "error" | "info"; text: string } | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    const problem = await act(api().POST("/employers/{employerId}/programs/{programId}/incentives", {
      params: { path: { employerId, programId: form.programId } },
      body: { incentiveId: form.incentiveId, reward: { description: form.reward }, countFrom: form.countFrom },
    }));
    setMessage(problem ? { kind: "error", text: problem } : { kind: "info", text: `Attached to program ${form.programId}.` });
    if (!problem) attached();
  };
  return (
    <form class="grid" onSubmit={submit} aria-labelledby="h-attach">
      <h3 id="h-attach" class="span">Attach an incentive to a program</h3>
      <label for="att-program">Program id</label>
      <input id="att-program" required inputMode="numeric" value={form.programId} onInput={(e) => setForm({ ...form, programId: e.currentTarget.value })} />
      <label for="att-incentive">Incentive</label>
      <select id="att-incentive" required value={form.incentiveId} onChange={(e) => setForm({ ...form, incentiveId: e.currentTarget.value })}>
        {catalogue.map((i) => <option key={i.incentiveId} value={i.incentiveId}>{i.incentiveId}: {i.name}</option>)}
      </select>
      <label for="att-reward">Reward</label>
      <input id="att-reward" required maxLength={500} value={form.reward} onInput={(e) => setForm({ ...form, reward: e.currentTarget.value })} placeholder="e.g. a day off" />
      <label for="att-count">Days that count</label>
      <select id="att-count" value={form.countFrom} onChange={(e) => setForm({ ...form, countFrom: e.currentTarget.value as "history" | "attach" })}>
        <option value="history">history: days logged before the attach count too</option>
        <option value="attach">attach: only from the day of the attach</option>
      </select>
      <button type="submit">Attach</button>
      {message && <div class="span"><Notice kind={message.kind}>{message.text}</Notice></div>}
    </form>
  );
}

export function EmployerPage({ id }: { id: string }) {
  const session = useSession();
  const signedIn = session.token !== null;
  const catalogue = useLoad(() => api().GET("/incentives"), []);
  const attached = useLoad(() => signedIn ? api().GET("/employers/{employerId}/incentives", { params: { path: { employerId: id } } }) : null, [id, session.token]);
  const awards = useLoad(() => signedIn ? api().GET("/employers/{employerId}/awards", { params: { path: { employerId: id }, query: { limit: 50 } } }) : null, [id, session.token]);
  const progress = useLoad(() => signedIn ? api().GET("/employers/{employerId}/progress", { params: { path: { employerId: id }, query: { limit: 50 } } }) : null, [id, session.token]);
  const [detachProblem, setDetachProblem] = useState<string | null>(null);
  const incentives = catalogue.data?.incentives ?? [];
  const nameOf = (incentiveId: string) => incentives.find((i) => i.incentiveId === incentiveId)?.name ?? incentiveId;
  // Progress names the attachment; people know it by its incentive and program.
  const attachmentName = (employerIncentiveId: string) => {
    const a = attached.data?.employerIncentives.find((e) => e.employerIncentiveId === employerIncentiveId);
    return a ? `${a.incentive.name} (program ${a.programId})` : `attachment ${employerIncentiveId}`;
  };
  return (
    <Layout title={`Employer ${id}: incentives`}>
      <section aria-labelledby="h-catalogue">
        <h2 id="h-catalogue">Catalogue</h2>
        {catalogue.error && <Notice kind="error">{catalogue.error}</Notice>}
        <div class="scroll">
          <table>
            <thead><tr><th scope="col">Id</th><th scope="col">Name</th><th scope="col">Rule</th><th scope="col">Active</th></tr></thead>
            <tbody>
              {incentives.map((i) => <tr key={i.incentiveId}><td>{i.incentiveId}</td><td>{i.name}<br /><small>{i.description}</small></td><td>{ruleText(i.rule)}</td><td>{i.active ? "yes" : "no"}</td></tr>)}
            </tbody>
          </table>
        </div>
      </section>
      {!signedIn && <Notice kind="info">Sign in with this employer's token (role employer, employerId {id}) or an admin token to manage its programs.</Notice>}
      {signedIn && (
        <>
          <section aria-labelledby="h-attached">
            <h2 id="h-attached">Programs' incentives</h2>
            {attached.error && <Notice kind="error">{attached.error}</Notice>}
            {detachProblem && <Notice kind="error">{detachProblem}</Notice>}
            <div class="scroll">
              <table data-testid="attached">
                <thead><tr><th scope="col">Program</th><th scope="col">Incentive</th><th scope="col">Reward</th><th scope="col">State</th><th scope="col"><span class="sr-only">Action</span></th></tr></thead>
                <tbody>
                  {attached.data?.employerIncentives.map((a) => (
                    <tr key={a.employerIncentiveId}>
                      <td>{a.programId}</td>
                      <td>{a.incentive.name} ({a.incentiveId})</td>
                      <td>{a.reward.description}</td>
                      <td>{a.detachedAt ? `detached ${utc(a.detachedAt)}` : "attached"}</td>
                      <td>{!a.detachedAt && (
                        <button type="button" aria-label={`Detach ${a.incentive.name} from program ${a.programId}`} onClick={async () => {
                          setDetachProblem(await act(api().DELETE("/employers/{employerId}/programs/{programId}/incentives/{employerIncentiveId}", {
                            params: { path: { employerId: id, programId: a.programId, employerIncentiveId: a.employerIncentiveId } },
                          })));
                          attached.reload();
                        }}>Detach</button>
                      )}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            {incentives.length > 0 && <AttachForm employerId={id} catalogue={incentives} attached={() => { attached.reload(); progress.reload(); }} />}
          </section>
          <section aria-labelledby="h-awards">
            <h2 id="h-awards">Awards</h2>
            {awards.error && <Notice kind="error">{awards.error}</Notice>}
            {awards.data?.awards.length === 0 && <p>No awards yet.</p>}
            {awards.data && awards.data.awards.length > 0 && (
              <div class="scroll">
                <table>
                  <thead><tr><th scope="col">When (UTC)</th><th scope="col">Employee</th><th scope="col">Incentive</th><th scope="col">Reward</th><th scope="col">Fulfilled</th></tr></thead>
                  <tbody>
                    {awards.data.awards.map((w) => <tr key={w.awardId}><td>{utc(w.awardedAt)}</td><td>{w.userId}</td><td>{nameOf(w.incentiveId)}</td><td>{w.reward.description}</td><td>{w.fulfilledAt ? utc(w.fulfilledAt) : "not yet"}</td></tr>)}
                  </tbody>
                </table>
              </div>
            )}
          </section>
          <section aria-labelledby="h-progress">
            <h2 id="h-progress">Employees' progress</h2>
            {progress.error && <Notice kind="error">{progress.error}</Notice>}
            {progress.data?.progress.length === 0 && <p>No employee has history for these incentives yet.</p>}
            {progress.data && progress.data.progress.length > 0 && (
              <div class="scroll">
                <table data-testid="progress">
                  <thead><tr><th scope="col">Employee</th><th scope="col">Incentive</th><th scope="col">Progress</th><th scope="col">Awarded</th></tr></thead>
                  <tbody>
                    {progress.data.progress.map((p) => (
                      <tr key={`${p.userId}-${p.employerIncentiveId}`}>
                        <td>{p.userId}</td><td>{attachmentName(p.employerIncentiveId)}</td>
                        <td><progress max={p.needed} value={Math.min(p.current, p.needed)} aria-label={`${p.userId}: ${p.current} of ${p.needed}`} /> {p.current} / {p.needed}</td>
                        <td>{p.awarded ? "yes" : "no"}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </section>
        </>
      )}
    </Layout>
  );
}
