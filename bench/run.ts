/**
 * `npm run bench [-- names…] [--mode serve|dev | --url URL] [--port N] [--duration S]`: every benchmark in turn (or
 * the ones named), each reporting ratios against a baseline measured in the same run, against the
 * production-like server (`npm run serve`) unless `--mode dev` (wrangler dev) or `--url` (a running
 * server whose JWT_SECRET is the bench one) says otherwise; `--duration` shortens (or lengthens) each
 * bench's measured loads, for a quick check that a bench still runs. Results also go to bench/results/latest.json.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { targetFromArgs } from "./support/server.ts";

type Bench = { run(): Promise<Record<string, unknown>> };

const BENCHES: Record<string, () => Promise<Bench>> = {
  ranking: () => import("./ranking.ts"),
  campaigns: () => import("./campaigns.ts"),
  incentives: () => import("./incentives.ts"),
  ads: () => import("./ads.ts"),
  connections: () => import("./connections.ts"),
  "user-tags": () => import("./user-tags.ts"),
  durability: () => import("./durability.ts"),
  ingest: () => import("./ingest.ts"),
  modes: () => import("./modes.ts"),
};

// The target options and the duration are read by each bench (benchServer, benchSeconds).
const { positionals: wanted } = parseArgs({
  allowPositionals: true,
  options: { mode: { type: "string" }, url: { type: "string" }, port: { type: "string" }, duration: { type: "string" } },
});
const unknown = wanted.filter((name) => !(name in BENCHES));
if (unknown.length > 0) {
  console.error(`unknown bench ${unknown.join(", ")}; choose from ${Object.keys(BENCHES).join(", ")}`);
  process.exit(2);
}

const target = targetFromArgs();
const results: Record<string, unknown> = { startedAt: new Date().toISOString(), target: target.url ?? target.mode };
for (const name of wanted.length > 0 ? wanted : Object.keys(BENCHES)) {
  console.log(`\n=== ${name}`);
  const bench = await BENCHES[name]!();
  results[name] = await bench.run();
}
const dir = join(import.meta.dirname, "results");
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, "latest.json"), `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nwritten to ${join(dir, "latest.json")}`);
