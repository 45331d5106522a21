/**
 * What the production-like server (`npm run serve`) changes against `wrangler dev`, in one run:
 * closed-loop `GET /health` under each (autocannon, same connections and duration, one server at
 * a time so the idle one takes no CPU), and `POST /user_tags` under serve as a ratio to its `/health`.
 * Runs alone (`node bench/modes.ts [--port N] [--seconds N]`, dev on port + 1) or from the bench runner.
 */
import { parseArgs } from "node:util";
import { load, loadHealth, printTable, ratio, type LoadResult } from "./support/load.ts";
import { BENCH_VARS, startServer, targetFromArgs, type ServerMode } from "./support/server.ts";
import { tagBodies } from "./user-tags.ts";

const CONNECTIONS = 32;

async function measure(mode: ServerMode, port: number, seconds: number, withTags: boolean): Promise<LoadResult[]> {
  const server = await startServer({ mode, port, vars: BENCH_VARS });
  try {
    // Warm-up so neither mode pays for the first compilation or the first objects.
    await load({ name: "warm-up", url: `${server.url}/user_tags`, method: "POST", body: tagBodies(99), durationSeconds: 3, connections: CONNECTIONS });
    const health = { ...(await loadHealth(server.url, seconds, CONNECTIONS)), name: `GET /health (${mode})` };
    if (!withTags) return [health];
    const tags = await load({
      name: `POST /user_tags (${mode})`,
      url: `${server.url}/user_tags`,
      method: "POST",
      body: tagBodies(1),
      durationSeconds: seconds,
      connections: CONNECTIONS,
    });
    return [health, tags];
  } finally {
    await server.stop();
  }
}

export async function run(options: { seconds?: number } = {}): Promise<Record<string, unknown>> {
  const port = targetFromArgs().port ?? 8797;
  const seconds = options.seconds ?? 10;
  const [serveHealth, serveTags] = await measure("serve", port, seconds, true);
  const [devHealth] = await measure("dev", port + 1, seconds, false);
  const figures = {
    connections: CONNECTIONS,
    seconds,
    serveHealth: serveHealth!,
    serveTags: serveTags!,
    devHealth: devHealth!,
    healthServeOverDev: Number((serveHealth!.requestsPerSecond / devHealth!.requestsPerSecond).toFixed(2)),
    tagsOverHealthUnderServe: ratio(serveTags!, serveHealth!),
  };
  printTable([serveHealth!, serveTags!, devHealth!].map((r) => ({ ...r, requestsPerSecond: Math.round(r.requestsPerSecond) })));
  console.log(
    `/health: serve ${Math.round(serveHealth!.requestsPerSecond)}/s vs wrangler dev ${Math.round(devHealth!.requestsPerSecond)}/s = ${figures.healthServeOverDev}×; ` +
      `/user_tags under serve ${figures.tagsOverHealthUnderServe.throughputRatio}× its /health`,
  );
  console.log(JSON.stringify(figures));
  return figures;
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { port: { type: "string" }, seconds: { type: "string" } } });
  await run({ seconds: values.seconds ? Number(values.seconds) : undefined });
}
