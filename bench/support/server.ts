/**
 * Starts Tally for `npm run serve`, a benchmark or the load generator, in one of two modes:
 *
 * - `serve` (the default): the bundle `wrangler deploy --dry-run` builds, run by Miniflare on workerd with
 *   no dev proxy in front, configured from wrangler.toml by wrangler's own config readers, so every
 *   binding, queue consumer and cron matches `wrangler dev` and production.
 * - `dev`: `wrangler dev`, as a developer runs it.
 *
 * Either way: D1 migrations applied first (`wrangler d1 migrations apply --local`, as `npm start`
 * does), state in a given directory or fresh on tmpfs, request logging off (it costs about a
 * quarter of the throughput), and `stop()` shuts the runtime down and removes fresh state.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import type { Json, Miniflare } from "miniflare";
import { tallyClient } from "../../client/index.ts";

const root = join(import.meta.dirname, "..", "..");
const wrangler = join(root, "node_modules", "wrangler", "bin", "wrangler.js");

export type ServerMode = "serve" | "dev";

export interface RunningServer {
  url: string;
  mode: ServerMode | "url";
  stop(): Promise<void>;
}

export interface ServerOptions {
  mode?: ServerMode;
  port?: number;
  /** Where state persists between runs; without it, a fresh directory on tmpfs removed by `stop()`. */
  stateDir?: string;
  /** Vars and secrets that replace those of `.dev.vars` and wrangler.toml. */
  vars?: Record<string, string>;
  /** Let the Worker's console output through (a server for people); benchmarks keep it quiet. */
  verbose?: boolean;
  /**
   * Serve mode only: host Miniflare in this process (what `npm run serve` does). Otherwise it runs
   * `npm run serve` as a child, as dev mode runs wrangler: a load generator sharing its event loop
   * with Miniflare measured `/health` at p50 72 s where the same server in its own process answered
   * in 173 ms (150 tags/s open loop, 2026-12-01).
   */
  inProcess?: boolean;
}

/**
 * Where serve mode's Miniflare entry listens: the local trigger handlers (`/cdn-cgi/local/scheduled`
 * runs the cron) live there, 1000 above the Worker's own port. The Worker's port takes requests
 * straight to the Worker, without the entry Worker Miniflare otherwise puts in front of it (about
 * 0.4 ms of workerd CPU per request here, a hop Cloudflare does not have).
 */
export const triggerPort = (port: number) => port + 1000;

const offlineEnv = {
  ...process.env,
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
};

/** Secrets and settings a benchmark run uses instead of `.dev.vars`. */
export const BENCH_VARS = {
  JWT_SECRET: "bench-jwt-secret",
  VOUCHER_SECRET: "bench-voucher-secret",
  SETTLE_DELAY_SECONDS: "60",
};

/** A fresh directory on tmpfs where there is one. */
export function freshDir(prefix: string): string {
  // Each new Durable Object otherwise pays a disk sync (about 70 ms on ext4 here), which
  // measures the disk rather than Tally.
  const scratch = existsSync("/dev/shm") ? "/dev/shm" : tmpdir();
  return mkdtempSync(join(scratch, prefix));
}

function runWrangler(args: string[]): void {
  const result = spawnSync(process.execPath, [wrangler, ...args], { cwd: root, env: offlineEnv, encoding: "utf8" });
  if (result.status !== 0) throw new Error(`wrangler ${args.join(" ")} failed:\n${result.stdout}\n${result.stderr}`);
}

/** Resolves once `/health` answers 200; throws after 180 s or as soon as `gaveUp()` says the server died. */
export async function waitForHealth(url: string, gaveUp: () => boolean): Promise<void> {
  // Generous: building the bundle and applying migrations take a minute on a busy 2-core machine.
  const deadline = Date.now() + 180_000;
  const api = tallyClient(url);
  for (;;) {
    try {
      if ((await api.GET("/health")).response.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline || gaveUp()) throw new Error(`${url}/health did not answer within 180 s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Starts Tally in the given mode on 127.0.0.1 and resolves once `/health` answers. */
export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const mode = options.mode ?? "serve";
  const port = options.port ?? 8788;
  const fresh = options.stateDir === undefined;
  const state = options.stateDir ?? freshDir("tally-state-");
  mkdirSync(state, { recursive: true });
  // Also on an exit without stop() (a signal, a crash), so tmpfs does not fill up run after run.
  const removeState = () => {
    if (!fresh) return;
    process.removeListener("exit", removeState);
    rmSync(state, { recursive: true, force: true });
  };
  process.on("exit", removeState);
  try {
    // Every server started here is a local run (see isLocalMode in workers/http/secrets.ts).
    const vars = Object.entries({ LOCAL_MODE: "true", ...options.vars }).flatMap(([k, v]) => ["--var", `${k}:${v}`]);
    if (mode === "serve" && !options.inProcess) {
      // The child applies the migrations and builds the bundle itself.
      const args = [join(root, "scripts", "serve.ts"), "--port", String(port), "--state", state, ...vars, ...(options.verbose ? [] : ["--quiet"])];
      return await startChild("serve", args, port, options, removeState);
    }
    runWrangler(["d1", "migrations", "apply", "DB", "--local", "--persist-to", state]);
    if (mode === "serve") return await startMiniflare(port, state, options, removeState);
    const args = [wrangler, "dev", "--port", String(port), "--ip", "127.0.0.1", "--persist-to", state, "--log-level", "warn", ...vars];
    return await startChild("dev", args, port, options, removeState);
  } catch (error) {
    removeState();
    throw error;
  }
}

/** Runs a server as a child Node process (`args` to node) and stops it with SIGINT. */
async function startChild(mode: ServerMode, args: string[], port: number, options: ServerOptions, removeState: () => void): Promise<RunningServer> {
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: root,
    env: offlineEnv,
    stdio: ["ignore", options.verbose ? "inherit" : "ignore", "inherit"],
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHealth(url, () => child.exitCode !== null);
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  return {
    url,
    mode,
    async stop() {
      child.kill("SIGINT");
      await new Promise((resolve) => {
        const timer = setTimeout(() => {
          child.kill("SIGKILL");
          resolve(undefined);
        }, 5_000);
        child.once("exit", () => {
          clearTimeout(timer);
          resolve(undefined);
        });
      });
      removeState();
    },
  };
}

/** Serve mode's Worker holding the static assets, behind Tally's ASSETS binding. */
const ASSETS_WORKER = "tally-assets";

async function startMiniflare(port: number, state: string, options: ServerOptions, removeState: () => void): Promise<RunningServer> {
  const bundleDir = join(state, "bundle");
  runWrangler(["deploy", "--dry-run", "--outdir", bundleDir]);
  // The Miniflare wrangler itself runs on (exact version), loaded from where wrangler resolves it.
  const fromWrangler = createRequire(join(root, "node_modules", "wrangler", "package.json"));
  const miniflare = (await import(pathToFileURL(fromWrangler.resolve("miniflare")).href)) as typeof import("miniflare");
  const { unstable_readConfig, unstable_getMiniflareWorkerOptions } = await import("wrangler");

  const config = unstable_readConfig({ config: join(root, "wrangler.toml") }, { hideWarnings: true });
  // Bindings, D1 ids, Durable Objects, queue producers and consumers, crons and `.dev.vars`, as wrangler dev reads them.
  const { workerOptions } = unstable_getMiniflareWorkerOptions(config);
  // The bundle is already one ES module: no module rules, no source to collect. The static assets
  // go to a Worker of their own (below), so requests reach Tally's Worker with no hop in front.
  const { modulesRules: _unused, assets: assetOptions, ...worker } = workerOptions;
  // wrangler's reader types the assets options loosely: the directory, the binding, the routing.
  const assets = assetOptions as { directory: string; binding?: string } | undefined;
  if (!assets?.binding) throw new Error("wrangler.toml's [assets] must name a binding: the Worker hands pages to it");
  // Plain vars and `.dev.vars` secrets, as wrangler's reader produced them (its types keep them loose).
  const bindings: Record<string, Json> = { ...(worker.bindings as Record<string, Json> | undefined), LOCAL_MODE: "true", ...options.vars };

  const mf: Miniflare = new miniflare.Miniflare(
    miniflare.convertV4MiniflareOptions({
      host: "127.0.0.1",
      // Miniflare's own entry (the `/cdn-cgi/` trigger handlers) listens beside the Worker's socket.
      port: triggerPort(port),
      cf: false,
      logRequests: false,
      log: new miniflare.Log(options.verbose ? miniflare.LogLevel.INFO : miniflare.LogLevel.WARN),
      // Quiet, like wrangler dev at --log-level warn with its stdout ignored: only the Worker's errors.
      ...(options.verbose ? {} : {
            handleStructuredLogs: ({ level, message }: { level: string; message: string }) => {
              if (level === "error") process.stderr.write(`${message}\n`);
            },
          }),
      // `/cdn-cgi/local/scheduled` and friends on the trigger port, as under wrangler dev, to run the cron by hand.
      unsafeTriggerHandlers: true,
      resourcePersistencePath: join(state, "v3"),
      workers: [
        {
          ...worker,
          name: config.name,
          // With `assets` on this Worker, Miniflare would put two Workers of its own in front of every request
          // (an RPC proxy and the asset router, which with run_worker_first only hands the request on), on
          // the one thread that also runs Tally: about half of a `/health` request's CPU. Cloudflare routes in
          // its platform. The ASSETS binding instead reaches a Worker that holds the assets and hands each
          // request to its own ASSETS binding, so pages are served as before.
          serviceBindings: { ...(worker.serviceBindings as Record<string, string> | undefined), [assets.binding]: ASSETS_WORKER },
          bindings,
          // Module names are paths relative to rootPath, which must not climb out of it.
          rootPath: bundleDir,
          modules: true,
          scriptPath: join(bundleDir, "index.js"),
          // Requests reach the Worker directly, as on Cloudflare, not through Miniflare's entry Worker.
          unsafeDirectSockets: [{ host: "127.0.0.1", port }],
        },
        {
          name: ASSETS_WORKER,
          modules: true,
          script: `export default { fetch: (request, env) => env.${assets.binding}.fetch(request) };`,
          compatibilityDate: worker.compatibilityDate as string,
          assets,
        },
      ],
    }),
  );
  await mf.ready;
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHealth(url, () => false);
  } catch (error) {
    await mf.dispose();
    throw error;
  }
  return {
    url,
    mode: "serve",
    async stop() {
      await mf.dispose();
      removeState();
    },
  };
}

/** The target a bench asked for on its command line: `--url`, `--mode serve|dev`, `--port`. */
export function targetFromArgs(): { url?: string; mode: ServerMode; port?: number } {
  const { values } = parseArgs({
    strict: false,
    options: { url: { type: "string" }, mode: { type: "string" }, port: { type: "string" } },
  });
  const mode = values.mode ?? "serve";
  if (mode !== "serve" && mode !== "dev") throw new Error(`--mode must be serve or dev, not ${String(mode)}`);
  return {
    url: typeof values.url === "string" ? values.url : undefined,
    mode,
    port: typeof values.port === "string" ? Number(values.port) : undefined,
  };
}

/**
 * The server a benchmark measures: the URL given with `--url` (its JWT_SECRET must then be
 * BENCH_VARS'), else Tally started on fresh state in `--mode` (default serve) on `--port` or `port`.
 */
export async function benchServer(port: number): Promise<RunningServer> {
  const target = targetFromArgs();
  if (target.url) return { url: target.url.replace(/\/$/, ""), mode: "url", stop: async () => {} };
  return startServer({ mode: target.mode, port: target.port ?? port, vars: BENCH_VARS });
}
