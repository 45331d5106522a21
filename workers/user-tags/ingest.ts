import { profileShardOf } from "../../durable-objects/profile-store/profile-store.ts";
import { profileShardStub } from "../../durable-objects/profile-store/stub.ts";
import { shardStartOf, type ShardTag } from "../../durable-objects/tag-aggregates/tag-aggregates.ts";
import { tagAggregatesStub } from "../../durable-objects/tag-aggregates/stub.ts";
import type { ProfileTag } from "../../durable-objects/profile-store/tag-profiles.ts";
import { toHex } from "../../shared/hmac.ts";
import type { UserTagMessage } from "../../shared/messages.ts";
import type { UserTag, UserTagInput } from "./schemas.ts";
import { log } from "../../shared/log.ts";

/** The tag as it is stored and echoed: the accepted shape, `time` with milliseconds and `Z`. */
export function normalizeTag(input: UserTagInput): { time: number; tag: UserTag } {
  const time = input.time;
  const info = input.product_info;
  const tag: UserTag = {
    time: new Date(time).toISOString(),
    cookie: input.cookie,
    country: input.country,
    device: input.device,
    action: input.action,
    origin: input.origin,
    product_info: { product_id: info.product_id, brand_id: info.brand_id, category_id: info.category_id, price: info.price },
  };
  return { time, tag };
}

/**
 * Tags carry no id, so the id is the SHA-256 of the canonical tag (time in ms, `product_id` as
 * text): a client resend or a redelivered batch carries the same id and is stored once.
 */
export async function tagIdOf(time: number, tag: UserTag): Promise<string> {
  const info = tag.product_info;
  const canonical = JSON.stringify([
    time, tag.cookie, tag.country, tag.device, tag.action, tag.origin,
    String(info.product_id), info.brand_id, info.category_id, info.price,
  ]);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonical));
  return toHex(new Uint8Array(digest, 0, 16));
}

/** Normalizes a validated tag and derives its id: the message that carries it to storage, stamped `acceptedAt`. */
export async function acceptTag(input: UserTagInput, acceptedAt = Date.now()): Promise<UserTagMessage> {
  const { time, tag } = normalizeTag(input);
  return {
    kind: "user-tag",
    tagId: await tagIdOf(time, tag),
    time,
    cookie: tag.cookie,
    action: tag.action,
    origin: tag.origin,
    brandId: tag.product_info.brand_id,
    categoryId: tag.product_info.category_id,
    price: tag.product_info.price,
    json: JSON.stringify(tag),
    acceptedAt,
  };
}

/**
 * Makes tags durable: one call per hour shard (its `TagAggregates` object) and one per profile
 * shard (the `ProfileStore` of its cookies), all in parallel. Both sides ignore tag ids they
 * already hold, so applying a tag again is harmless. Returns the ids of the tags whose profile or
 * aggregate write failed (to be retried); the rest are stored.
 */
export async function ingestTags(env: Env, tags: readonly UserTagMessage[]): Promise<Set<string>> {
  const shardGroups = [...Map.groupBy(tags, (t) => shardStartOf(t.time))];
  const profileGroups = [...Map.groupBy(tags, (t) => profileShardOf(t.cookie))];
  const writes: Promise<number>[] = [
    ...shardGroups.map(([shardStart, group]) => {
      const shardTags: ShardTag[] = group.map((t) => ({
        tagId: t.tagId,
        time: t.time,
        action: t.action,
        origin: t.origin,
        brandId: t.brandId,
        categoryId: t.categoryId,
        price: t.price,
      }));
      return tagAggregatesStub(env, shardStart).record(shardTags);
    }),
    ...profileGroups.map(([shard, group]) => {
      const profileTags: ProfileTag[] = group.map((t) => ({
        tagId: t.tagId,
        cookie: t.cookie,
        action: t.action,
        time: t.time,
        json: t.json,
        acceptedAt: t.acceptedAt,
      }));
      return profileShardStub(env, shard).addTags(profileTags);
    }),
  ];
  const groups = [...shardGroups, ...profileGroups].map(([, group]) => group);
  const outcomes = await Promise.allSettled(writes);
  const failed = new Set<string>();
  outcomes.forEach((outcome, i) => {
    if (outcome.status === "fulfilled") return;
    log("warn", "a write of user tags failed; retrying them", { system: "allezon", tags: groups[i]!.length, error: outcome.reason });
    for (const tag of groups[i]!) failed.add(tag.tagId);
  });
  return failed;
}
