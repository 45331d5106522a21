/**
 * HTTP leaderboard reads under load against the local runtime, beside `GET /health` in the same
 * run: `GET /records/top/100/{id}` and `GET /records/position/{id}/{userId}`. Every user has a display
 * name (set before the first purchase), so the rows measured carry names as real boards' do.
 */
import { benchToken, load, loadHealth, printTable, ratio, benchSeconds } from "./support/load.ts";
import { tallyClient } from "../client/index.ts";
import { benchServer } from "./support/server.ts";

const USERS = 5_000;
const DURATION_SECONDS = benchSeconds(10);

export async function run(): Promise<Record<string, unknown>> {
  const server = await benchServer(8791);
  try {
    const admin = await benchToken("1", ["admin"]);
    const service = await benchToken("shop", ["service"]);
    const now = Date.now();
    const api = tallyClient(server.url, admin);
    const ingest = tallyClient(server.url, service);
    const created = await api.POST("/campaigns", {
      body: {
        campaignId: "1",
        itemId: "1",
        prize: { value: "100.00", currency: "EUR" },
        startDateTime: new Date(now - 3_600_000).toISOString(),
        endDateTime: new Date(now + 3_600_000).toISOString(),
      },
    });
    if (created.response.status !== 201) throw new Error(`campaign: ${created.response.status}`);
    // Names first, as a shop's users would have them, so every row read below carries one.
    for (let start = 0; start < USERS; start += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          api.PUT("/users/{userId}/profile", {
            params: { path: { userId: String(start + i + 1) } },
            body: { displayName: `Bench user ${start + i + 1}` },
          }),
        ),
      );
    }
    // Fill the board through the real pipeline: purchases → queues → board.
    for (let start = 0; start < USERS; start += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          ingest.POST("/purchases", {
            body: {
              purchaseId: `bench-${start + i}`,
              userId: String(start + i + 1),
              itemId: "1",
              amount: { value: String(((start + i) % 997) + 1), currency: "EUR" },
              timestamp: new Date(now - 60_000 + start + i).toISOString(),
            },
          }),
        ),
      );
    }
    for (let i = 0; i < 120; i++) {
      const top = await api.GET("/records/top/{n}/{campaignId}", { params: { path: { n: 1000, campaignId: "1" } } });
      const rows = top.data?.records.positions ?? [];
      if (rows.length >= Math.min(USERS, 1000) && rows.every((row) => row.displayName !== null)) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const user = await benchToken("42", ["citizen"]);
    const health = await loadHealth(server.url, DURATION_SECONDS);
    const top = await load({ name: "GET /records/top/100/1", url: `${server.url}/records/top/100/1`, durationSeconds: DURATION_SECONDS });
    const position = await load({
      name: "GET /records/position/1/42",
      url: `${server.url}/records/position/1/42`,
      headers: { authorization: `Bearer ${user}` },
      durationSeconds: DURATION_SECONDS,
    });
    printTable([health, top, position]);
    const ratios = [ratio(top, health), ratio(position, health)];
    printTable(ratios);
    return { users: USERS, health, top, position, ratios };
  } finally {
    await server.stop();
  }
}

if (import.meta.main) await run();
