/**
 * Nearby search with 5,000 officers in one zip. Two measurements in the same run:
 * - the grid index against a full scan of every officer, on the same 5,000 positions and the
 *   same searches (the exact code the `ZipArea` object runs), as a ratio of time per search;
 * - `GET /officers/nearby` over HTTP against the local runtime, beside `GET /health`, with
 *   officers connected on real presence sockets and located. Under `wrangler dev` each socket
 *   holds about four file descriptors in workerd, so with the usual 20,000-descriptor limit the
 *   HTTP part connects 4,000 of the 5,000 (`SOCKET_OFFICERS`).
 */
import { GridIndex, scanWithin, type LatLng } from "../durable-objects/zip-area/geo.ts";
import { benchToken, load, loadHealth, printTable, ratio, benchSeconds } from "./support/load.ts";
import { benchServer } from "./support/server.ts";
import { tallyClient } from "../client/index.ts";

const PORT = 8796;
const OFFICERS = 5_000;
const SOCKET_OFFICERS = Number(process.env.SOCKET_OFFICERS ?? 4_000);
const ZIP = "10001";
const CENTER: LatLng = { lat: 40.7506, lng: -73.9972 };
/** Officers spread over a square about 8 km on a side, a dense city zip. */
const SPREAD_DEGREES = 0.072;
const DURATION_SECONDS = benchSeconds(6);
const OPEN_AT_ONCE = 100;

/** Deterministic positions, so every run searches the same city. */
function positions(count: number, seed = 42): LatLng[] {
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  return Array.from({ length: count }, () => ({
    lat: CENTER.lat + (random() - 0.5) * SPREAD_DEGREES,
    lng: CENTER.lng + (random() - 0.5) * SPREAD_DEGREES,
  }));
}

function microsPerSearch(search: (center: LatLng) => unknown, centers: LatLng[], rounds: number): number {
  for (const center of centers.slice(0, 50)) search(center);
  const started = performance.now();
  for (let round = 0; round < rounds; round++) for (const center of centers) search(center);
  return ((performance.now() - started) * 1000) / (rounds * centers.length);
}

/** The grid against a full scan, in this process, on the same officers and searches. */
function indexVersusScan(officers: LatLng[]): Array<Record<string, number | string>> {
  const grid = new GridIndex();
  officers.forEach((at, i) => {
    grid.upsert(String(i), at);
  });
  const all = new Map(officers.map((at, i) => [String(i), at] as const));
  const centers = positions(200, 7);
  return [1000, 10_000].map((radius) => {
    const indexUs = microsPerSearch((center) => grid.within(center, radius), centers, 20);
    const scanUs = microsPerSearch((center) => scanWithin(all.entries(), center, radius), centers, 5);
    const found = centers.reduce((sum, center) => sum + grid.within(center, radius).length, 0) / centers.length;
    return {
      radiusMeters: radius,
      officersFoundAvg: Math.round(found),
      indexMicrosPerSearch: Number(indexUs.toFixed(1)),
      fullScanMicrosPerSearch: Number(scanUs.toFixed(1)),
      scanOverIndexRatio: Number((scanUs / indexUs).toFixed(2)),
    };
  });
}

/** Opens one officer's presence socket, sends the location and waits until it is stored. */
async function connectOfficer(url: string, officerId: string, at: LatLng): Promise<WebSocket> {
  const token = await benchToken(officerId, ["officer"]);
  const ws = new WebSocket(`${url.replace("http", "ws")}/presence/${ZIP}?token=${token}`);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`officer ${officerId}: no answer in 60 s`)), 60_000);
    ws.addEventListener("error", () => reject(new Error(`officer ${officerId}: socket error`)));
    ws.addEventListener("open", () => ws.send(JSON.stringify({ type: "location", ...at })));
    ws.addEventListener("message", (event) => {
      const message = JSON.parse(String(event.data)) as { type: string; location?: LatLng | null };
      if (message.type === "available" && message.location) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return ws;
}

export async function run(): Promise<Record<string, unknown>> {
  const officers = positions(OFFICERS);
  const inProcess = indexVersusScan(officers);
  printTable(inProcess);

  const server = await benchServer(PORT);
  const sockets: WebSocket[] = [];
  try {
    const openedAt = performance.now();
    const located = officers.slice(0, SOCKET_OFFICERS);
    for (let i = 0; i < located.length; i += OPEN_AT_ONCE) {
      const batch = located.slice(i, i + OPEN_AT_ONCE);
      sockets.push(...(await Promise.all(batch.map((at, j) => connectOfficer(server.url, String(100_000 + i + j), at)))));
    }
    const connectSeconds = (performance.now() - openedAt) / 1000;

    // GET /officers/nearby allows RATE_NEARBY_PER_MINUTE (60) per citizen: spread the load over enough
    // citizens that none comes near it, so the run measures the search, not 429 answers.
    const citizens = await Promise.all(Array.from({ length: 2000 }, (_, i) => benchToken(String(700_000 + i), ["citizen"])));
    let turn = 0;
    const headers = () => ({ authorization: `Bearer ${citizens[turn++ % citizens.length]}` });
    const nearbyUrl = (radius: number) =>
      `${server.url}/officers/nearby?zip=${ZIP}&lat=${CENTER.lat}&lng=${CENTER.lng}&radius=${radius}&limit=100`;
    const check = await tallyClient(server.url, citizens[0]).GET("/officers/nearby", {
      params: { query: { zip: ZIP, lat: CENTER.lat, lng: CENTER.lng, radius: 1000, limit: 100 } },
    });
    if (!check.data) throw new Error(`nearby: ${check.response.status} ${JSON.stringify(check.error)}`);

    const health = await loadHealth(server.url, DURATION_SECONDS);
    const near = await load({ name: "GET /officers/nearby r=1000", url: nearbyUrl(1000), headers, durationSeconds: DURATION_SECONDS });
    const wide = await load({ name: "GET /officers/nearby r=10000", url: nearbyUrl(10_000), headers, durationSeconds: DURATION_SECONDS });
    printTable([health, near, wide]);
    const ratios = [ratio(near, health), ratio(wide, health)];
    printTable(ratios);
    const setup = { officersConnected: sockets.length, connectSeconds: Number(connectSeconds.toFixed(1)), foundWithin1000m: check.data.officers.length };
    printTable([setup]);
    return { inProcess, health, near, wide, ratios, setup };
  } finally {
    for (const ws of sockets) ws.close();
    await server.stop();
  }
}

if (import.meta.main) await run();
