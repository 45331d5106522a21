/**
 * Starts Tally under `wrangler dev` for a benchmark: fresh local state in a temp dir, migrations
 * applied, request logging off (it costs about a quarter of the throughput), and stops it after.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dirname, "..", "..");
const wrangler = join(root, "node_modules", "wrangler", "bin", "wrangler.js");

export interface RunningServer {
  url: string;
  stop(): Promise<void>;
}

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

export async function startServer(port = 8788): Promise<RunningServer> {
  // State on tmpfs where there is one: each new Durable Object otherwise pays a disk sync
  // (about 70 ms on ext4 here), which measures the disk rather than Tally.
  const scratch = existsSync("/dev/shm") ? "/dev/shm" : tmpdir();
  const state = mkdtempSync(join(scratch, "tally-bench-"));
  const migrate = spawnSync(
    process.execPath,
    [wrangler, "d1", "migrations", "apply", "DB", "--local", "--persist-to", state],
    { cwd: root, env: offlineEnv, encoding: "utf8" },
  );
  if (migrate.status !== 0) throw new Error(`migrations failed: ${migrate.stderr}`);
  const vars = Object.entries(BENCH_VARS).flatMap(([k, v]) => ["--var", `${k}:${v}`]);
  const child: ChildProcess = spawn(
    process.execPath,
    [wrangler, "dev", "--port", String(port), "--ip", "127.0.0.1", "--persist-to", state, "--log-level", "warn", ...vars],
    { cwd: root, env: offlineEnv, stdio: ["ignore", "ignore", "inherit"] },
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const response = await fetch(`${url}/health`);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill("SIGKILL");
      throw new Error("wrangler dev did not become healthy within 60 s");
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    url,
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
      rmSync(state, { recursive: true, force: true });
    },
  };
}
