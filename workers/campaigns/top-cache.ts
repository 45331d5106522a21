/**
 * The top-n response bodies this isolate served in the last moment. A leaderboard read at the
 * edge may be this much behind the board — the live socket, which is the real-time channel,
 * flushes on the same 200–250 ms cadence — and it saves the hop to the board on hot reads.
 */
export const TOP_CACHE_MS = 250;
/**
 * Characters of bodies kept at most (a top-1000 body is about 70,000): asking every n from 1 to
 * 1000 on a few boards once grew an entry-counted cache to tens of MB. Past the budget the
 * least recently stored bodies go first.
 */
export const TOP_CACHE_MAX_CHARS = 2_000_000;

/** Insertion-ordered, so the first key is the least recently stored. */
const bodies = new Map<string, { body: string; expiresAt: number }>();
let storedChars = 0;

export function cachedTop(campaignId: string, n: number, now = Date.now()): string | undefined {
  const entry = bodies.get(`${campaignId}/${n}`);
  return entry && entry.expiresAt > now ? entry.body : undefined;
}

export function rememberTop(campaignId: string, n: number, body: string, now = Date.now()): void {
  const key = `${campaignId}/${n}`;
  drop(key);
  if (body.length > TOP_CACHE_MAX_CHARS) return;
  bodies.set(key, { body, expiresAt: now + TOP_CACHE_MS });
  storedChars += body.length;
  for (const oldest of bodies.keys()) {
    if (storedChars <= TOP_CACHE_MAX_CHARS) break;
    drop(oldest);
  }
}

/** Drops a campaign's cached bodies, when this isolate has just changed its board. */
export function forgetTop(campaignId: string): void {
  for (const key of bodies.keys()) if (key.startsWith(`${campaignId}/`)) drop(key);
}

/** Characters of bodies held now, for tests of the bound. */
export function cachedTopChars(): number {
  return storedChars;
}

function drop(key: string): void {
  const entry = bodies.get(key);
  if (!entry) return;
  storedChars -= entry.body.length;
  bodies.delete(key);
}
