/**
 * Fresh ids for tests. They count up from a random start, so tests never share a user, campaign or
 * zip, within a file or across files that share storage.
 */
let next = 1_000_000 + Math.floor(Math.random() * 8_000) * 1_000;

/** A fresh numeric id: decimal digits, no leading zero, as user, campaign and item ids are written. */
export function uniqueId(): string {
  return String(next++);
}
