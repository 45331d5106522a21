/**
 * The one stable hash that spreads keys over a fixed number of Durable Object shards. Built-in
 * hashes may change between releases and runtimes; a shard number must not, or stored data would
 * be looked for in the wrong object.
 */

const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * How a key becomes the units it is hashed over. Each sharded store keeps the encoding it was
 * first written with, since another one moves every non-ASCII key: `utf-16` hashes each UTF-16
 * code unit as one unit (what `charCodeAt` reads), `utf-8` each byte of the UTF-8 encoding.
 */
export type ShardKeyEncoding = "utf-8" | "utf-16";

const utf8 = new TextEncoder();

/** 32-bit FNV-1a over `units` (bytes, or wider units such as UTF-16 code units), unsigned. */
export function fnv1a32(units: ArrayLike<number>): number {
  let hash = FNV_OFFSET_BASIS;
  for (let i = 0; i < units.length; i++) hash = Math.imul(hash ^ units[i]!, FNV_PRIME);
  return hash >>> 0;
}

/** The units `key` is hashed over in `encoding`. */
export function shardKeyUnits(key: string, encoding: ShardKeyEncoding): ArrayLike<number> {
  if (encoding === "utf-8") return utf8.encode(key);
  const units = new Uint16Array(key.length);
  for (let i = 0; i < key.length; i++) units[i] = key.charCodeAt(i);
  return units;
}

/**
 * The shard, `0 … shards - 1`, that holds `key`: FNV-1a of its units in `encoding`. The hash is
 * not keyed, so a client could pick keys that share a shard; that shard then serves what one object
 * can and the others are unaffected.
 *
 * @example
 * shardOf("cookie-42", 64, "utf-8"); // 28
 */
export function shardOf(key: string, shards: number, encoding: ShardKeyEncoding): number {
  return fnv1a32(shardKeyUnits(key, encoding)) % shards;
}
