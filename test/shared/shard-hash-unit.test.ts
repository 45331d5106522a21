import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { IDEMPOTENCY_SHARDS } from "../../durable-objects/idempotency-shard/idempotency-shard.ts";
import { idempotencyShardStub } from "../../durable-objects/idempotency-shard/stub.ts";
import { PROFILE_SHARDS, profileShardOf } from "../../durable-objects/profile-store/profile-store.ts";
import { fnv1a32, shardKeyUnits, shardOf } from "../../shared/shard-hash.ts";

/**
 * Shard numbers computed by the code that stored today's data (idempotency: FNV-1a over UTF-16 code
 * units; profiles: FNV-1a over UTF-8 bytes). A change that moves any of these re-homes stored ids:
 * their event ids would be accepted twice and their profiles would read as empty.
 */
const PINNED: [input: string, idempotencyShard: number, profileShard: number][] = [
  ["", 197, 5],
  ["a", 44, 44],
  ["purchase-1", 4, 4],
  ["evt_0001", 68, 4],
  ["7", 246, 54],
  ["cookie-42", 28, 28],
  ["b9f1e2c4", 193, 1],
  ["café", 124, 9],
  ["Zürich-€", 148, 1],
  ["日本語", 78, 39],
  ["😀-emoji", 211, 35],
  ["x".repeat(128), 197, 5],
];

describe("stable shard hash", () => {
  it("keeps the shard counts the stored data was spread over", () => {
    expect(IDEMPOTENCY_SHARDS).toBe(256);
    expect(PROFILE_SHARDS).toBe(64);
  });

  it.each(PINNED)("an event id %j stays on idempotency shard %i", (eventId, shard) => {
    const stub = idempotencyShardStub(env, "purchases", eventId);
    expect(stub.id.equals(env.IDEMPOTENCY_SHARD.idFromName(`purchases:${shard}`))).toBe(true);
  });

  it.each(PINNED)("a cookie %j keeps its profile shard", (cookie, _idempotencyShard, shard) => {
    expect(profileShardOf(cookie)).toBe(shard);
  });
});

describe("shardOf", () => {
  it("hashes the units of the encoding the caller names", () => {
    // One code unit 0xE9 versus the two bytes 0xC3 0xA9: the same text, other shards.
    expect(shardKeyUnits("é", "utf-16")).toEqual(new Uint16Array([0xe9]));
    expect(shardKeyUnits("é", "utf-8")).toEqual(new Uint8Array([0xc3, 0xa9]));
    expect(shardOf("café", 256, "utf-16")).toBe(124);
    expect(shardOf("café", 64, "utf-8")).toBe(9);
  });

  it("is FNV-1a: the published test vectors", () => {
    expect(fnv1a32(new Uint8Array())).toBe(0x811c9dc5);
    expect(fnv1a32(new TextEncoder().encode("a"))).toBe(0xe40c292c);
    expect(fnv1a32(new TextEncoder().encode("foobar"))).toBe(0xbf9cf968);
  });
});
