type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The path of the first place where two JSON values differ (key order ignored), or undefined. */
export function firstDifference(expected: Json, actual: Json, path = "$"): string | undefined {
  if (expected === actual) return undefined;
  if (Array.isArray(expected) || Array.isArray(actual)) {
    if (!Array.isArray(expected) || !Array.isArray(actual)) return path;
    if (expected.length !== actual.length) return `${path}.length`;
    for (let i = 0; i < expected.length; i++) {
      const difference = firstDifference(expected[i]!, actual[i]!, `${path}[${i}]`);
      if (difference) return difference;
    }
    return undefined;
  }
  if (typeof expected !== "object" || typeof actual !== "object" || expected === null || actual === null) return path;
  const keys = new Set([...Object.keys(expected), ...Object.keys(actual)]);
  for (const key of keys) {
    if (!(key in expected) || !(key in actual)) return `${path}.${key}`;
    const difference = firstDifference(expected[key]!, actual[key]!, `${path}.${key}`);
    if (difference) return difference;
  }
  return undefined;
}

/**
 * Debug mode of the Allezon queries: when the request body holds the expected answer and ours
 * differs, logs both and where they first differ. A body that is empty or not a JSON object is
 * no expectation. Returns whether the answer matched, or undefined without an expectation.
 */
export function checkExpected(label: string, body: string, ours: unknown): boolean | undefined {
  if (body.trim() === "") return undefined;
  let expected: Json;
  try {
    expected = JSON.parse(body) as Json;
  } catch {
    return undefined;
  }
  if (expected === null || typeof expected !== "object" || Array.isArray(expected)) return undefined;
  const actual = JSON.parse(JSON.stringify(ours)) as Json;
  const difference = firstDifference(expected, actual);
  if (difference === undefined) return true;
  console.warn(`${label}: our answer differs from the expected one at ${difference}`, JSON.stringify({ expected, ours: actual }));
  return false;
}
