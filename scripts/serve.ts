/**
 * `npm run serve [-- --port 8787] [--fresh] [--demo]`: Tally as production runs it, locally — the
 * bundle `wrangler deploy` would upload, on workerd through Miniflare, without wrangler dev's proxy
 * and file watcher (about four times the throughput of `npm start` on `/health`). D1 migrations are
 * applied on start; secrets come from `.dev.vars`. State persists in `.tally-serve/` unless
 * `--fresh` (a new directory on tmpfs, removed on exit). `--demo` loads the demo data `npm start` loads.
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startServer } from "../bench/support/server.ts";
import { loadDemoData } from "./demo-data.ts";
import { devVars, root } from "./dev-vars.ts";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: process.env.PORT ?? "8787" },
    fresh: { type: "boolean", default: false },
    demo: { type: "boolean", default: false },
  },
});

// Creates `.dev.vars` from the example on a fresh clone; the server reads it through wrangler's config.
const vars = devVars();
// A stop is an exit: Miniflare's exit hook shuts workerd down and the server's removes fresh state,
// whether the signal comes while starting or while serving.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    console.log("\ntally: stopped");
    process.exit(0);
  });
}

console.log(`tally: building the bundle and applying migrations (${values.fresh ? "fresh state on tmpfs" : "state in .tally-serve/"})…`);
const server = await startServer({
  mode: "serve",
  port: Number(values.port),
  stateDir: values.fresh ? undefined : join(root, ".tally-serve"),
  verbose: true,
});

if (values.demo) {
  try {
    console.log(await loadDemoData(server.url, vars.JWT_SECRET!));
  } catch (error) {
    console.error("demo data could not be loaded:", error);
  }
}
console.log(`\nTally is serving on ${server.url}  (API docs: ${server.url}/docs; Ctrl-C stops it)\n`);
