import { log } from "../../shared/log.ts";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The longest log line a differing answer may write: the path and short excerpts, never whole bodies. */
export const MAX_DIFFERENCE_LOG = 500;
const MAX_PATH = 200;
const MAX_EXCERPT = 100;

/**
 * The path of the first place where two JSON values differ (key order ignored), or undefined.
 * Walks with an explicit stack, so a body nested 200,000 levels deep is compared without
 * running out of call stack.
 */
export function firstDifference(expected: Json, actual: Json): string | undefined {
  return firstDifferenceAt(expected, actual)?.path;
}

interface Difference {
  path: string;
  expected: Json | undefined;
  actual: Json | undefined;
}

function firstDifferenceAt(expected: Json, actual: Json): Difference | undefined {
  // Each frame carries its path as a linked list of segments, rendered only for the difference found.
  type Path = { parent: Path | undefined; segment: string } | undefined;
  const stack: Array<{ expected: Json | undefined; actual: Json | undefined; path: Path }> = [{ expected, actual, path: undefined }];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    const a = frame.expected;
    const b = frame.actual;
    if (a === b) continue;
    const differs = (segment?: string, there: [Json | undefined, Json | undefined] = [a, b]): Difference => ({
      path: renderPath(segment === undefined ? frame.path : { parent: frame.path, segment }),
      expected: there[0],
      actual: there[1],
    });
    if (a === undefined || b === undefined) return differs();
    if (Array.isArray(a) || Array.isArray(b)) {
      if (!Array.isArray(a) || !Array.isArray(b)) return differs();
      if (a.length !== b.length) return differs(".length", [a.length, b.length]);
      // Pushed last to first, so the first element is compared first.
      for (let i = a.length - 1; i >= 0; i--) stack.push({ expected: a[i], actual: b[i], path: { parent: frame.path, segment: `[${i}]` } });
      continue;
    }
    if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return differs();
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    for (const key of keys) if (!(key in a) || !(key in b)) return differs(`.${key}`, [a[key], b[key]]);
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i]!;
      stack.push({ expected: a[key], actual: b[key], path: { parent: frame.path, segment: `.${key}` } });
    }
  }
  return undefined;

  function renderPath(path: Path): string {
    const segments: string[] = [];
    for (let at = path; at; at = at.parent) segments.push(at.segment);
    return shorten(`$${segments.reverse().join("")}`, MAX_PATH);
  }
}

/** At most `max` characters: the start and the end of a longer text around an ellipsis. */
function shorten(text: string, max: number): string {
  if (text.length <= max) return text;
  const half = Math.floor((max - 1) / 2);
  return `${text.slice(0, half)}…${text.slice(text.length - half)}`;
}

/** What the logger's JSON line adds around the message (shared/log.ts), for `fitLogLine`. */
const LOG_ENVELOPE = JSON.stringify({ level: "warn", msg: "", requestId: null, system: "allezon" }).length;

/** `line` shortened so its whole JSON log line, escapes included, stays within MAX_DIFFERENCE_LOG. */
function fitLogLine(line: string): string {
  let text = shorten(line, MAX_DIFFERENCE_LOG - LOG_ENVELOPE);
  // Quotes and backslashes in excerpts grow when escaped; cut until the escaped text fits.
  while (JSON.stringify(text).length - 2 + LOG_ENVELOPE > MAX_DIFFERENCE_LOG) text = shorten(text, text.length - 10);
  return text;
}

/** A short excerpt of a JSON value; one too deep to serialize is named rather than thrown on. */
function excerpt(value: Json | undefined): string {
  if (value === undefined) return "(missing)";
  try {
    return shorten(JSON.stringify(value), MAX_EXCERPT);
  } catch {
    return Array.isArray(value) ? "[…too deep…]" : "{…too deep…}";
  }
}

/**
 * Debug mode of the Allezon queries: when the request body holds the expected answer and ours
 * differs, logs one bounded line (where they first differ, short excerpts of both values there).
 * `ours` is our answer as JSON text. A body that is empty or not a JSON object is no expectation.
 * Returns whether the answer matched, or undefined without an expectation.
 */
export function checkExpected(label: string, body: string, ours: string): boolean | undefined {
  if (body.trim() === "") return undefined;
  // The usual case, a client that serializes as we do: equal text is an equal answer, no parsing.
  if (body === ours) return true;
  let expected: Json;
  try {
    expected = JSON.parse(body) as Json;
  } catch {
    // Not JSON, or (in some engines) nested too deeply to parse: either way, no expectation.
    return undefined;
  }
  if (expected === null || typeof expected !== "object" || Array.isArray(expected)) return undefined;
  const actual = JSON.parse(ours) as Json;
  const difference = firstDifferenceAt(expected, actual);
  if (difference === undefined) return true;
  const line = `${shorten(label, 100)}: our answer differs from the expected one at ${difference.path}: expected ${excerpt(difference.expected)}, ours ${excerpt(difference.actual)}`;
  log("warn", fitLogLine(line), { system: "allezon" });
  return false;
}
