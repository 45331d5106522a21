/**
 * Employee incentives against the local runtime, beside `GET /health` in the same run:
 * `POST /incentives/events` (ingest, distinct event ids), `GET /users/{id}/streaks` (a User object
 * read), and the time the queue pipeline takes to turn a burst of events into stored awards. Also
 * times the pure streak summary over ten years of days.
 */
import { summarizeDays } from "../durable-objects/user/streak-rules.ts";
import { benchToken, load, loadHealth, printTable, ratio, benchSeconds } from "./support/load.ts";
import { tallyClient, type TallyClient } from "../client/index.ts";
import { benchServer } from "./support/server.ts";

const PORT = 18795;
const DURATION_SECONDS = benchSeconds(8);
const PIPELINE_USERS = 200;
const STREAK_DAYS = 5;
const EMPLOYER = "1";
const DAY_MS = 86_400_000;

/**
 * Fetches as a careful client does: a 503 (wrangler dev restarts the worker when a file in the tree
 * changes) is sent again, which is safe because every body carries its id.
 */
async function retrying503(request: Request): Promise<Response> {
  for (let attempt = 1; ; attempt++) {
    const response = await fetch(request.clone());
    if (response.status !== 503 || attempt === 5) return response;
    await response.body?.cancel();
    await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
  }
}

async function awardCount(api: TallyClient): Promise<number> {
  const { data } = await api.GET("/employers/{employerId}/awards", { params: { path: { employerId: EMPLOYER }, query: { limit: 1000 } } });
  return data?.awards.length ?? 0;
}

function streakSummaryMicroseconds(): number {
  const days = Array.from({ length: 3650 }, (_, i) => 20_000 + i + Math.floor(i / 30));
  const rounds = 2_000;
  const start = performance.now();
  for (let i = 0; i < rounds; i++) summarizeDays(days);
  return Number((((performance.now() - start) * 1000) / rounds).toFixed(2));
}

export async function run(): Promise<Record<string, unknown>> {
  const server = await benchServer(PORT);
  try {
    const admin = await benchToken("1", ["admin"]);
    const service = await benchToken("shop", ["service"]);
    const api = tallyClient(server.url, admin, { fetch: retrying503 });
    const events = tallyClient(server.url, service, { fetch: retrying503 });
    const created = await api.POST("/incentives", { body: { incentiveId: "1", name: "Five days", rule: { kind: "streak", event: "data-logged", days: STREAK_DAYS } } });
    if (!created.data) throw new Error(`incentive: ${created.response.status}`);
    const { incentive } = created.data;
    const linked = await api.POST("/employers/{employerId}/programs/{programId}/incentives", {
      params: { path: { employerId: EMPLOYER, programId: "1" } },
      body: { incentiveId: incentive.incentiveId, reward: { description: "Pillow" } },
    });
    if (linked.response.status !== 201) throw new Error(`link: ${linked.response.status}`);

    // Pipeline: every user logs five consecutive days (sent newest first, so order cannot help).
    const today = Math.floor(Date.now() / DAY_MS);
    const pipelineStart = performance.now();
    for (let start = 0; start < PIPELINE_USERS; start += 20) {
      const sends: Promise<{ response: Response; error?: unknown }>[] = [];
      for (let user = start; user < start + 20; user++) {
        for (let d = 0; d < STREAK_DAYS; d++) {
          sends.push(
            events.POST("/incentives/events", {
              body: {
                eventId: `pipeline-${user}-${d}`,
                userId: String(10_000 + user),
                employerId: EMPLOYER,
                event: "data-logged",
                timestamp: new Date((today - 1 - d) * DAY_MS + 12 * 3_600_000).toISOString(),
              },
            }),
          );
        }
      }
      const refused = (await Promise.all(sends)).find((r) => r.response.status !== 202);
      if (refused) throw new Error(`events: ${refused.response.status} ${JSON.stringify(refused.error)}`);
    }
    const acceptedSeconds = (performance.now() - pipelineStart) / 1000;
    let awards = 0;
    const deadline = Date.now() + 60_000;
    while ((awards = await awardCount(api)) < PIPELINE_USERS && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const pipelineSeconds = (performance.now() - pipelineStart) / 1000;
    const pipeline = {
      events: PIPELINE_USERS * STREAK_DAYS,
      awardsExpected: PIPELINE_USERS,
      awardsStored: awards,
      acceptedSeconds: Number(acceptedSeconds.toFixed(2)),
      allAwardedSeconds: Number(pipelineSeconds.toFixed(2)),
    };

    const health = await loadHealth(server.url, DURATION_SECONDS);
    // The read runs before the ingest load, so the consumers draining that backlog do not share its cores.
    const reader = await benchToken("10000", ["citizen"]);
    const streaks = await load({
      name: "GET /users/10000/streaks",
      url: `${server.url}/users/10000/streaks`,
      headers: { authorization: `Bearer ${reader}` },
      durationSeconds: DURATION_SECONDS,
    });
    let next = 0;
    const ingest = await load({
      name: "POST /incentives/events",
      url: `${server.url}/incentives/events`,
      method: "POST",
      headers: { authorization: `Bearer ${service}` },
      body: () =>
        JSON.stringify({
          eventId: `load-${++next}`,
          // The pipeline's users: their objects exist, so the figure is ingest, not object creation.
          userId: String(10_000 + (next % PIPELINE_USERS)),
          employerId: EMPLOYER,
          event: "data-logged",
          timestamp: new Date(Date.now() - (next % 30) * DAY_MS).toISOString(),
        }),
      durationSeconds: DURATION_SECONDS,
    });
    const results = [health, ingest, streaks];
    printTable(results.map((r) => ({ ...r })));
    const ratios = [ratio(ingest, health), ratio(streaks, health)];
    printTable(ratios);
    const micro = { summarizeDays3650Us: streakSummaryMicroseconds() };
    printTable([pipeline, micro]);
    return { health, ingest, streaks, ratios, pipeline, micro };
  } finally {
    await server.stop();
  }
}

if (import.meta.main) await run();
