/**
 * `npm run dev`: applies the D1 migrations locally, serves Tally with `wrangler dev` on
 * http://localhost:8787 (live reload: it rebuilds on every change to the source or the pages) and loads
 * demo data into it once it answers. For the fast, production-like server use `npm start` (scripts/serve.ts).
 */
import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { waitForHealth } from "../bench/support/server.ts";
import { loadDemoData, pageUrls } from "./demo-data.ts";
import { devVars, root } from "./dev-vars.ts";

const port = Number(process.env.PORT ?? 8787);
const url = `http://localhost:${port}`;
const wrangler = join(root, "node_modules", "wrangler", "bin", "wrangler.js");
const env = { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" };

const vars = devVars();
const migrate = spawnSync(process.execPath, [wrangler, "d1", "migrations", "apply", "DB", "--local"], { cwd: root, env, stdio: "inherit" });
if (migrate.status !== 0) process.exit(migrate.status ?? 1);

// LOCAL_MODE: a local run (example secrets allowed, cf-connecting-ip not trusted), even with an older `.dev.vars`.
const dev = spawn(process.execPath, [wrangler, "dev", "--port", String(port), "--var", "LOCAL_MODE:true", ...process.argv.slice(2)], { cwd: root, env, stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => dev.kill(signal));
dev.on("exit", (code) => process.exit(code ?? 0));

try {
  await waitForHealth(url, () => dev.exitCode !== null);
  const summary = await loadDemoData(url, vars.JWT_SECRET!);
  console.log(`\nTally is running on ${url}  (API docs: ${url}/docs)\n${pageUrls(url)}\n${summary}\nAn admin token: npm run token -- --sub 1 --roles admin\n`);
} catch (error) {
  console.error("demo data could not be loaded:", error);
}
