/**
 * Closed-loop throughput of `POST /user_tags` beside `GET /health` in the same run (autocannon,
 * same connections and duration): the ratio says what a durable tag costs over a bare request.
 * Runs alone (`node bench/user-tags.ts [--mode serve|dev | --url URL] [--port N] [--seconds N] [--connections N]`)
 * or from the bench runner.
 */
import { parseArgs } from "node:util";
import { prng } from "./allezon-model.ts";
import { load, loadHealth, printTable, ratio } from "./support/load.ts";
import { benchServer } from "./support/server.ts";

const DEVICES = ["PC", "MOBILE", "TV"] as const;

/** Distinct random user tags, one per call, reproducible for `seed`. */
export function tagBodies(seed: number): () => string {
  const random = prng(seed);
  const pick = (n: number) => Math.floor(random() * n);
  let time = Date.now();
  return () => {
    time += 1;
    return JSON.stringify({
      time: new Date(time).toISOString(),
      cookie: `cookie-${pick(1_000_000)}`,
      country: `C${pick(100)}`,
      device: DEVICES[pick(3)],
      action: random() < 0.7 ? "VIEW" : "BUY",
      origin: `origin-${pick(1000)}`,
      product_info: { product_id: pick(100_000), brand_id: `brand-${pick(250)}`, category_id: `category-${pick(67)}`, price: pick(100_000) },
    });
  };
}

/** Measures /health then /user_tags with the same connections for `seconds` each; returns the figures. */
export async function run(options: { seconds?: number; connections?: number } = {}): Promise<Record<string, unknown>> {
  const server = await benchServer(8788);
  const url = server.url;
  const seconds = options.seconds ?? 15;
  const connections = options.connections ?? 32;
  try {
    // A short warm-up so neither side pays for the first compilation.
    await load({ name: "warm-up", url: `${url}/user_tags`, method: "POST", body: tagBodies(99), durationSeconds: 3, connections });
    const health = await loadHealth(url, seconds, connections);
    const tags = await load({ name: "POST /user_tags", url: `${url}/user_tags`, method: "POST", body: tagBodies(1), durationSeconds: seconds, connections });
    const figures = { mode: server.mode, health, tags, ratio: ratio(tags, health), connections, seconds };
    printTable([health, tags].map((r) => ({ ...r, requestsPerSecond: Math.round(r.requestsPerSecond) })));
    console.log(JSON.stringify(figures));
    return figures;
  } finally {
    await server.stop();
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    // url, mode and port are read by benchServer.
    options: { url: { type: "string" }, mode: { type: "string" }, port: { type: "string" }, seconds: { type: "string" }, connections: { type: "string" } },
  });
  await run({
    seconds: values.seconds ? Number(values.seconds) : undefined,
    connections: values.connections ? Number(values.connections) : undefined,
  });
}
