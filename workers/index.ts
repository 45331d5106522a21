/**
 * The Worker entry point and Durable Object export surface: HTTP through the Hono app, queue
 * batches through the dispatcher.
 */
import type { QueueMessage } from "../shared/messages.ts";
import { app } from "./app.ts";
import { closeAdBillingDays } from "./ads/billing.ts";
import { queue } from "./queues.ts";

export { AdCampaign } from "../durable-objects/ad-campaign/ad-campaign.ts";
export { CampaignBoard } from "../durable-objects/campaign-board/campaign-board.ts";
export { IdempotencyShard } from "../durable-objects/idempotency-shard/idempotency-shard.ts";
export { TagAggregates } from "../durable-objects/tag-aggregates/tag-aggregates.ts";
export { TagRollups } from "../durable-objects/tag-rollups/tag-rollups.ts";
export { ProfileStore } from "../durable-objects/profile-store/profile-store.ts";
export { User } from "../durable-objects/user/user.ts";
export { ZipArea } from "../durable-objects/zip-area/zip-area.ts";

export default {
  fetch: app.fetch,
  queue,
  async scheduled(controller, env, ctx) {
    ctx.waitUntil(closeAdBillingDays(env, controller.scheduledTime));
  },
} satisfies ExportedHandler<Env, QueueMessage>;
