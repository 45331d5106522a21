/**
 * JSON with object keys sorted and `undefined` members left out, so two values that mean the same
 * thing always give the same text, whatever order their keys were written in.
 *
 * @example
 * canonicalJson({ b: 1, a: [2, { d: 3, c: 4 }] }); // '{"a":[2,{"c":4,"d":3}],"b":1}'
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, member]) => member !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, member]) => `${JSON.stringify(key)}:${canonicalJson(member)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/**
 * Whether two payloads set the same terms: the rule behind "the same id with the same terms
 * replays the first answer; the same id with other terms is 409". Deep equality of JSON values in
 * which the key order of objects does not matter (array order does) and a member set to
 * `undefined` is the same as a missing one.
 *
 * @example
 * if (!sameTerms(stored, wanted)) throw new ApiError("idempotency_conflict", `${id} already exists with other terms`);
 */
export function sameTerms(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}
