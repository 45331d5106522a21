/**
 * The top-n response bodies this isolate served in the last moment. A leaderboard read at the
 * edge may be this much behind the board — the live socket, which is the real-time channel,
 * flushes on the same 200–250 ms cadence — and it saves the hop to the board on hot reads.
 */
export const TOP_CACHE_MS = 250;
const MAX_ENTRIES = 1000;

const bodies = new Map<string, { body: string; expiresAt: number }>();

export function cachedTop(campaignId: string, n: number, now = Date.now()): string | undefined {
  const entry = bodies.get(`${campaignId}/${n}`);
  return entry && entry.expiresAt > now ? entry.body : undefined;
}

export function rememberTop(campaignId: string, n: number, body: string, now = Date.now()): void {
  if (bodies.size >= MAX_ENTRIES) bodies.clear();
  bodies.set(`${campaignId}/${n}`, { body, expiresAt: now + TOP_CACHE_MS });
}

/** Drops a campaign's cached bodies, when this isolate has just changed its board. */
export function forgetTop(campaignId: string): void {
  for (const key of bodies.keys()) if (key.startsWith(`${campaignId}/`)) bodies.delete(key);
}
