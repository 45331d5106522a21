/**
 * `npm start` is `npm run serve -- --demo`: Tally with the demo data on the fast, production-like server.
 *
 * `npm run serve [-- --port 8787] [--fresh] [--demo]`: Tally as production runs it, locally — the
 * bundle `wrangler deploy` would upload, on workerd through Miniflare, without wrangler dev's proxy
 * and file watcher (about 13 times the throughput of `npm run dev` on `/health`). D1 migrations are
 * applied on start; secrets come from `.dev.vars` (created from `.dev.vars.example` on a fresh clone).
 * State persists in `.tally-serve/` unless `--fresh` (a new directory on tmpfs, removed on exit).
 * `--demo` loads the demo data (idempotent: a restart on the same state finds it there).
 * For benchmarks (bench/support/server.ts): `--state DIR` keeps state there, `--var KEY:VALUE` (repeatable, as
 * wrangler dev takes it) overrides a var or secret, `--quiet` shows only the Worker's errors.
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startServer, triggerPort } from "../bench/support/server.ts";
import { loadDemoData, pageUrls } from "./demo-data.ts";
import { devVars, root } from "./dev-vars.ts";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: process.env.PORT ?? "8787" },
    fresh: { type: "boolean", default: false },
    demo: { type: "boolean", default: false },
    state: { type: "string" },
    var: { type: "string", multiple: true, default: [] },
    quiet: { type: "boolean", default: false },
  },
});
const overrides = Object.fromEntries(
  values.var.map((pair) => {
    const at = pair.indexOf(":");
    if (at <= 0) throw new Error(`--var takes KEY:VALUE, not ${pair}`);
    return [pair.slice(0, at), pair.slice(at + 1)];
  }),
);

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

const stateDir = values.fresh ? undefined : (values.state ?? join(root, ".tally-serve"));
console.log(`tally: building the bundle and applying migrations (state ${stateDir ?? "fresh on tmpfs"})…`);
const server = await startServer({
  mode: "serve",
  inProcess: true,
  port: Number(values.port),
  stateDir,
  vars: overrides,
  verbose: !values.quiet,
});

if (values.demo) {
  try {
    console.log(await loadDemoData(server.url, overrides.JWT_SECRET ?? vars.JWT_SECRET!));
  } catch (error) {
    console.error("demo data could not be loaded:", error);
  }
}
console.log(
  `\nTally is serving on ${server.url}  (API docs: ${server.url}/docs; Ctrl-C stops it)\n${pageUrls(server.url)}\n` +
    (values.demo ? "An admin token: npm run token -- --sub 1 --roles admin\n" : "") +
    `Cron by hand: curl 'http://127.0.0.1:${triggerPort(Number(values.port))}/cdn-cgi/local/scheduled?cron=17+3+*+*+*'\n`,
);
