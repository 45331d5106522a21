import { type Activity, type StoredAward, localDayOf } from "../../durable-objects/user/streak-rules.ts";
import { userStub } from "../../durable-objects/user/stub.ts";
import { log } from "../../shared/log.ts";
import { QUEUE_MESSAGE_SCHEMAS, type IncentiveEvaluateMessage, type IncentiveEventMessage, type QueueMessage } from "../../shared/messages.ts";
import { ackOrRetryGroup, messagesOfKind, requestFields, retryLater, sendAll } from "../queue-kit.ts";
import { incentiveAwardedEvents } from "../../shared/webhooks/events.ts";
import { publishEvent } from "../../shared/webhooks/publish.ts";
import { markFulfilled, storeAwards, toAwardMessage } from "./awards.ts";
import { candidateKey, loadCandidates } from "./catalogue.ts";
import { HISTORY_PAGE, historyPage, indexHistory } from "./history.ts";

/**
 * One page of a retroactive evaluation: the users with history for (employer, event) after
 * `afterUserId` are evaluated on their stored days against the employer's current incentives for
 * the event; a full page queues the next one. Redelivery re-evaluates the page, which awards nothing twice.
 */
async function evaluatePage(env: Env, body: IncentiveEvaluateMessage): Promise<void> {
  const candidates = (await loadCandidates(env.DB, [body.employerId])).get(candidateKey(body.employerId, body.event)) ?? [];
  if (candidates.length === 0) return;
  const users = await historyPage(env.DB, body.employerId, body.event, body.afterUserId);
  await Promise.all(
    users.map(async (userId) => finishAwards(env, userId, await userStub(env, userId).evaluateHistory(body.employerId, body.event, candidates))),
  );
  if (users.length === HISTORY_PAGE) {
    const next: IncentiveEvaluateMessage = { ...body, afterUserId: users[users.length - 1]! };
    await env.INCENTIVE_EVENTS.send(next);
  }
}

/**
 * Has every user with history for `event` under each employer evaluated against that employer's
 * current incentives for it, through the queue: when an incentive is attached counting history,
 * and when a rule changes. The consumer pages through the users (`evaluatePage`).
 */
export async function queueHistoryEvaluation(env: Env, employerIds: readonly string[], event: string): Promise<void> {
  const messages = employerIds.map((employerId): IncentiveEvaluateMessage => ({ kind: "incentive-evaluate", employerId, event, afterUserId: null }));
  await sendAll(env.INCENTIVE_EVENTS, messages);
}

/**
 * Records one user's events and finishes every award the object has not seen confirmed: store in
 * D1 (unique per user and employer incentive), publish on `incentive-awards`, then confirm. A crash
 * anywhere before the confirmation leaves the award unconfirmed, so the redelivered message does
 * the remaining steps; each step is idempotent, so repeating the done ones changes nothing.
 */
async function applyUserEvents(env: Env, userId: string, activities: Activity[], requestIds?: ReadonlyMap<string, string>): Promise<void> {
  const user = userStub(env, userId);
  const { awards, newPairs } = await user.recordActivity(activities);
  if (newPairs.length > 0) {
    // One D1 write per new (user, employer, event), never per event: the object reports a pair until confirmed.
    await indexHistory(env.DB, userId, newPairs);
    await user.confirmHistoryIndexed(newPairs);
  }
  await finishAwards(env, userId, awards, requestIds);
}

/**
 * Stores, publishes and confirms a user's unconfirmed awards; every step is idempotent. Each award
 * message names the HTTP request of the event that earned it, where `requestIds` knows it.
 */
async function finishAwards(env: Env, userId: string, unconfirmed: StoredAward[], requestIds?: ReadonlyMap<string, string>): Promise<void> {
  if (unconfirmed.length === 0) return;
  const user = userStub(env, userId);
  const messages = unconfirmed.map((award) => {
    const httpRequestId = requestIds?.get(award.eventId);
    return { ...toAwardMessage(userId, award), ...(httpRequestId === undefined ? {} : { httpRequestId }) };
  });
  await storeAwards(env.DB, messages);
  await sendAll(env.INCENTIVE_AWARDS, messages);
  await user.confirmAwards(unconfirmed.map((award) => award.employerIncentiveId));
}

/**
 * Applies incentive events to users' streaks and stores new awards. Events are grouped by user so
 * each user's object is called once per batch; a user's group is acked or retried as a whole, and
 * one user's failure never holds back another's.
 */
export async function consumeIncentiveEvents(batch: MessageBatch<QueueMessage>, env: Env): Promise<void> {
  const accepted = messagesOfKind(batch, QUEUE_MESSAGE_SCHEMAS["incentive-events"]);
  const evaluations = accepted.filter((message): message is Message<IncentiveEvaluateMessage> => message.body.kind === "incentive-evaluate");
  await Promise.all(evaluations.map((message) => ackOrRetryGroup(batch.queue, [message], () => evaluatePage(env, message.body))));
  const events = accepted.filter((message): message is Message<IncentiveEventMessage> => message.body.kind === "incentive-event");
  if (events.length === 0) return;

  let candidates: Awaited<ReturnType<typeof loadCandidates>>;
  try {
    candidates = await loadCandidates(env.DB, events.map((e) => e.body.employerId));
  } catch (error) {
    log("warn", "could not load incentives; retrying the events", { ...requestFields(batch.queue, events), error });
    for (const message of events) retryLater(message);
    return;
  }

  const byUser = Map.groupBy(events, (event) => event.body.userId);
  await Promise.all(
    [...byUser].map(([userId, group]) =>
      ackOrRetryGroup(
        batch.queue,
        group,
        () =>
          applyUserEvents(
            env,
            userId,
            group.map(({ body }) => ({
              eventId: body.eventId,
              employerId: body.employerId,
              event: body.event,
              localDay: localDayOf(body.timestamp, body.utcOffsetMinutes ?? 0),
              candidates: candidates.get(candidateKey(body.employerId, body.event)) ?? [],
            })),
            new Map(group.flatMap(({ body }) => (body.httpRequestId === undefined ? [] : [[body.eventId, body.httpRequestId] as const]))),
          ),
      ),
    ),
  );
}

/**
 * The fulfilment side: marks each award fulfilled exactly once (a redelivered award message finds
 * it done and only acks) and logs the hand-off for the team that ships rewards.
 */
export async function fulfilIncentiveAwards(batch: MessageBatch<QueueMessage>, env: Env): Promise<void> {
  const awards = messagesOfKind(batch, QUEUE_MESSAGE_SCHEMAS["incentive-awards"]);
  if (awards.length === 0) return;
  await ackOrRetryGroup(
    batch.queue,
    awards,
    async () => {
      // Before marking fulfilled, so a failed publish is redone by the redelivery (same event ids).
      await publishEvent(env, await incentiveAwardedEvents(env.DB, awards.map(({ body }) => body)), requestFields(batch.queue, awards).requestId);
      const fulfilled = await markFulfilled(env.DB, awards.map((a) => a.body));
      const done = new Set(fulfilled);
      for (const { body } of awards) {
        if (!done.delete(body.awardId)) continue;
        // Ids of the award and its incentive only: who earned what (user, reward) stays in D1, out of the logs.
        log("info", "incentive award fulfilled", { system: "incentives", requestId: body.httpRequestId, awardId: body.awardId, employerIncentiveId: body.employerIncentiveId });
      }
    },
  );
}
