import { type Activity, localDayOf } from "../../durable-objects/user/streak-rules.ts";
import { userStub } from "../../durable-objects/user/user.ts";
import type { IncentiveAwardMessage, IncentiveEventMessage, QueueMessage } from "../../shared/messages.ts";
import { retryDelaySeconds, settleGroup } from "../queues.ts";
import { candidateKey, loadCandidates, markFulfilled, storeAwards, toAwardMessage } from "./store.ts";

function isIncentiveEvent(body: QueueMessage): body is IncentiveEventMessage {
  return (
    body?.kind === "incentive-event" &&
    typeof body.eventId === "string" &&
    typeof body.userId === "string" &&
    typeof body.employerId === "string" &&
    typeof body.event === "string" &&
    Number.isFinite(body.timestamp) &&
    Number.isInteger(body.utcOffsetMinutes ?? 0)
  );
}

function isIncentiveAward(body: QueueMessage): body is IncentiveAwardMessage {
  return (
    body?.kind === "incentive-award" &&
    typeof body.awardId === "string" &&
    typeof body.userId === "string" &&
    typeof body.employerId === "string" &&
    typeof body.employerIncentiveId === "string" &&
    typeof body.incentiveId === "string" &&
    typeof body.eventId === "string" &&
    typeof body.reward?.description === "string" &&
    Number.isFinite(body.awardedAt)
  );
}

/**
 * The messages of the expected kind. Any other can never be handled here: it is retried until it
 * lands in the dead letters, where an admin sees it.
 */
function messagesOfKind<T extends QueueMessage>(
  batch: MessageBatch<QueueMessage>,
  isKind: (body: QueueMessage) => body is T,
): Array<{ message: Message<QueueMessage>; body: T }> {
  const accepted: Array<{ message: Message<QueueMessage>; body: T }> = [];
  for (const message of batch.messages) {
    if (isKind(message.body)) {
      accepted.push({ message, body: message.body });
      continue;
    }
    console.error(`queue ${batch.queue}: message ${message.id} is not the expected kind; it will go to the dead letters`);
    message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
  }
  return accepted;
}

/**
 * Records one user's events and finishes every award the object has not seen confirmed: store in
 * D1 (unique per user and employer incentive), publish on `incentive-awards`, then confirm. A crash
 * anywhere before the confirmation leaves the award unconfirmed, so the redelivered message does
 * the remaining steps; each step is idempotent, so repeating the done ones changes nothing.
 */
async function applyUserEvents(env: Env, userId: string, activities: Activity[]): Promise<void> {
  const user = userStub(env, userId);
  const unconfirmed = await user.recordActivity(activities);
  if (unconfirmed.length === 0) return;
  const messages = unconfirmed.map((award) => toAwardMessage(userId, award));
  await storeAwards(env.DB, messages);
  await env.INCENTIVE_AWARDS.sendBatch(messages.map((body) => ({ body })));
  await user.confirmAwards(unconfirmed.map((award) => award.employerIncentiveId));
}

/**
 * Applies incentive events to users' streaks and stores new awards. Events are grouped by user so
 * each user's object is called once per batch; a user's group is acked or retried as a whole, and
 * one user's failure never holds back another's.
 */
export async function consumeIncentiveEvents(batch: MessageBatch<QueueMessage>, env: Env): Promise<void> {
  const events = messagesOfKind(batch, isIncentiveEvent);
  if (events.length === 0) return;

  let candidates: Awaited<ReturnType<typeof loadCandidates>>;
  try {
    candidates = await loadCandidates(env.DB, events.map((e) => e.body.employerId));
  } catch (error) {
    console.warn(`queue ${batch.queue}: could not load incentives`, error);
    for (const { message } of events) message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
    return;
  }

  const byUser = new Map<string, typeof events>();
  for (const event of events) {
    const group = byUser.get(event.body.userId);
    if (group) group.push(event);
    else byUser.set(event.body.userId, [event]);
  }
  await Promise.all(
    [...byUser].map(([userId, group]) =>
      settleGroup(
        batch.queue,
        group.map((e) => e.message),
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
  const awards = messagesOfKind(batch, isIncentiveAward);
  if (awards.length === 0) return;
  await settleGroup(
    batch.queue,
    awards.map((a) => a.message),
    async () => {
      const fulfilled = await markFulfilled(env.DB, awards.map((a) => a.body));
      const done = new Set(fulfilled);
      for (const { body } of awards) {
        if (!done.delete(body.awardId)) continue;
        console.log(
          `incentive award ${body.awardId} fulfilled: user ${body.userId}, employer ${body.employerId}, reward "${body.reward.description}"`,
        );
      }
    },
  );
}
