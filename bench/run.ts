/**
 * `npm run bench [-- names…]`: every benchmark in turn (or the ones named), each reporting
 * ratios against a baseline measured in the same run. Results also go to bench/results/latest.json.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

type Bench = { run(): Promise<Record<string, unknown>> };

const BENCHES: Record<string, () => Promise<Bench>> = {
  ranking: () => import("./ranking.ts"),
  campaigns: () => import("./campaigns.ts"),
  incentives: () => import("./incentives.ts"),
  ads: () => import("./ads.ts"),
  connections: () => import("./connections.ts"),
  "user-tags": () => import("./user-tags.ts"),
};

const wanted = process.argv.slice(2).filter((arg) => !arg.startsWith("-"));
const unknown = wanted.filter((name) => !(name in BENCHES));
if (unknown.length > 0) {
  console.error(`unknown bench ${unknown.join(", ")}; choose from ${Object.keys(BENCHES).join(", ")}`);
  process.exit(2);
}

const results: Record<string, unknown> = { startedAt: new Date().toISOString() };
for (const name of wanted.length > 0 ? wanted : Object.keys(BENCHES)) {
  console.log(`\n=== ${name}`);
  const bench = await BENCHES[name]!();
  results[name] = await bench.run();
}
const dir = join(import.meta.dirname, "results");
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, "latest.json"), `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nwritten to ${join(dir, "latest.json")}`);
