import { copyFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

export const root = join(import.meta.dirname, "..");

/** Makes sure `.dev.vars` exists (copied from the example on a fresh clone) and returns its values. */
export function devVars(): Record<string, string> {
  const file = join(root, ".dev.vars");
  if (!existsSync(file)) copyFileSync(join(root, ".dev.vars.example"), file);
  const vars: Record<string, string> = {};
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const match = /^\s*([A-Z0-9_]+)\s*=\s*"?(.*?)"?\s*$/.exec(line);
    if (match) vars[match[1]!] = match[2]!;
  }
  return vars;
}
