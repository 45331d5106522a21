import { appendFileSync, copyFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

export const root = join(import.meta.dirname, "..");

function parse(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const match = /^\s*([A-Z0-9_]+)\s*=\s*"?(.*?)"?\s*$/.exec(line);
    if (match) vars[match[1]!] = match[2]!;
  }
  return vars;
}

/**
 * Makes sure `.dev.vars` exists (copied from the example on a fresh clone) and holds every key the
 * example names — a clone made before a key was added (e.g. `WEBHOOK_ENCRYPTION_KEY`) gets the
 * example's line appended, its own values untouched — and returns its values.
 */
export function devVars(): Record<string, string> {
  const file = join(root, ".dev.vars");
  const exampleFile = join(root, ".dev.vars.example");
  if (!existsSync(file)) copyFileSync(exampleFile, file);
  const vars = parse(readFileSync(file, "utf8"));
  const example = parse(readFileSync(exampleFile, "utf8"));
  const missing = Object.entries(example).filter(([key]) => !(key in vars));
  if (missing.length > 0) {
    const text = readFileSync(file, "utf8");
    appendFileSync(file, `${text.endsWith("\n") || text === "" ? "" : "\n"}${missing.map(([key, value]) => `${key}="${value}"`).join("\n")}\n`);
    for (const [key, value] of missing) vars[key] = value;
  }
  return vars;
}
