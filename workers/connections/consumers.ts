import type { CountedConnection } from "../../durable-objects/user/trophies.ts";
import { userStub } from "../../durable-objects/user/stub.ts";
import { d1Chunks, runInOneBatch } from "../../shared/db/chunks.ts";
import { database, schema } from "../../shared/db/client.ts";
import { QUEUE_MESSAGE_SCHEMAS, type QueueMessage } from "../../shared/messages.ts";
import { utcDate } from "../../shared/time.ts";
import { ackOrRetryGroup, messagesOfKind } from "../queue-kit.ts";
import { connectionEstablished } from "../../shared/webhooks/events.ts";
import { publishEvent } from "../../shared/webhooks/publish.ts";


/** Parameters one connection row binds. */
const CONNECTION_COLUMNS = 7;

/**
 * Records each established connection in D1 for reports and counts it in both parties' `User`
 * objects (connections and the trophies they earn), each keyed by its request id, so a
 * redelivered message or a connection published twice is counted once, and publishes it to
 * webhooks as `connection.established` (the same event id on a redelivery).
 */
export async function recordEstablishedConnections(batch: MessageBatch<QueueMessage>, env: Env): Promise<void> {
  const mine = messagesOfKind(batch, QUEUE_MESSAGE_SCHEMAS["established-connections"]);
  await ackOrRetryGroup(batch.queue, mine, async () => {
    const values = mine.map(({ body }) => ({
      requestId: body.requestId,
      citizenId: body.citizenId,
      officerId: body.officerId,
      zip: body.zip,
      pointsEach: body.pointsEach,
      establishedAt: body.establishedAt,
      day: utcDate(body.establishedAt),
    }));
    const db = database(env.DB);
    const statements = d1Chunks(values, CONNECTION_COLUMNS).map((rows) =>
      db.insert(schema.connections).values(rows).onConflictDoNothing(),
    );
    await runInOneBatch(db, statements);
    // One call per user per batch; each user's object counts every request id once.
    const counted = mine.flatMap(({ body }) => [body.citizenId, body.officerId].map((userId) => ({ userId, requestId: body.requestId, establishedAt: body.establishedAt })));
    const perUser = Map.groupBy(counted, (row) => row.userId);
    await Promise.all(
      [...perUser].map(([userId, rows]) =>
        userStub(env, userId).countConnections(userId, rows.map(({ requestId, establishedAt }): CountedConnection => ({ requestId, establishedAt }))),
      ),
    );
    await publishEvent(env, mine.map(({ body }) => connectionEstablished(body)));
  });
}
