import { database, schema } from "../../shared/db/client.ts";
import type { EstablishedConnectionMessage, QueueMessage } from "../../shared/messages.ts";
import { utcDate } from "../../shared/time.ts";
import { settleGroup } from "../queues.ts";

/**
 * Records each established connection in D1 for reports, keyed by its request id, so a
 * redelivered message or a connection published twice is counted once.
 */
export async function recordEstablishedConnections(batch: MessageBatch<QueueMessage>, env: Env): Promise<void> {
  const mine = batch.messages.filter(
    (message): message is Message<EstablishedConnectionMessage> => message.body?.kind === "established-connection",
  );
  for (const stray of batch.messages) {
    if (!mine.includes(stray as Message<EstablishedConnectionMessage>)) {
      // Not ours to interpret; retried until it lands in the dead-letter record for an admin.
      console.error(`queue ${batch.queue}: message ${stray.id} is not an established connection`);
      stray.retry();
    }
  }
  if (mine.length === 0) return;
  await settleGroup(batch.queue, mine, async () => {
    const values = mine.map(({ body }) => ({
      requestId: body.requestId,
      citizenId: body.citizenId,
      officerId: body.officerId,
      zip: body.zip,
      pointsEach: body.pointsEach,
      establishedAt: body.establishedAt,
      day: utcDate(body.establishedAt),
    }));
    // D1 caps bound parameters per statement (100); 7 columns a row.
    const db = database(env.DB);
    for (let i = 0; i < values.length; i += 14) {
      await db.insert(schema.connections).values(values.slice(i, i + 14)).onConflictDoNothing();
    }
  });
}
