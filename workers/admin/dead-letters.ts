import { and, desc, inArray, isNull } from "drizzle-orm";
import { d1Chunks, runInOneBatch } from "../../shared/db/chunks.ts";
import { database, schema } from "../../shared/db/client.ts";
import { QUEUE_BINDING_OF_KIND, type QueueMessage, type QueueMessageKind } from "../../shared/messages.ts";
import { ackOrRetryGroup, sendAll } from "../queue-kit.ts";

/** Parameters one dead-letter row binds (every column but `redrivenAt`). */
const DEAD_LETTER_COLUMNS = 6;

/** The most letters one redrive sends; an admin redrives again for the rest. */
const REDRIVE_LIMIT = 1000;

/**
 * The dead-letter consumer: every message whose retries ran out lands here and is kept in D1,
 * keyed by the platform's message id so a redelivered dead letter is kept once. It takes any
 * body (even one of no known kind), since this is where strays end up; the batch is written in
 * one D1 transaction, acked when it committed and retried otherwise.
 */
export async function recordDeadLetters(batch: MessageBatch<QueueMessage>, env: Env): Promise<void> {
  const now = Date.now();
  const values = batch.messages.map((message) => {
    const kind = (message.body as { kind?: string } | null)?.kind ?? "unknown";
    const binding = QUEUE_BINDING_OF_KIND[kind as QueueMessageKind] ?? "unknown";
    return {
      deadLetterId: message.id,
      queue: binding,
      kind,
      body: JSON.stringify(message.body),
      attempts: message.attempts,
      receivedAt: now,
    };
  });
  await ackOrRetryGroup(batch.queue, batch.messages, async () => {
    const db = database(env.DB);
    const statements = d1Chunks(values, DEAD_LETTER_COLUMNS).map((rows) =>
      db.insert(schema.deadLetters).values(rows).onConflictDoNothing(),
    );
    await runInOneBatch(db, statements);
  });
}

export interface DeadLetterView {
  deadLetterId: string;
  kind: string;
  queue: string;
  body: unknown;
  attempts: number;
  receivedAt: number;
  redrivenAt: number | null;
}

export async function listDeadLetters(env: Env, options: { includeRedriven: boolean; limit: number }): Promise<DeadLetterView[]> {
  const db = database(env.DB);
  const rowsFound = await db
    .select()
    .from(schema.deadLetters)
    .where(options.includeRedriven ? undefined : isNull(schema.deadLetters.redrivenAt))
    .orderBy(desc(schema.deadLetters.receivedAt), desc(schema.deadLetters.deadLetterId))
    .limit(options.limit);
  return rowsFound.map((row) => ({ ...row, body: JSON.parse(row.body) as unknown }));
}

/**
 * Sends pending dead letters back to the queue their kind belongs to and marks them re-driven
 * (at most 1000 per call, the oldest first). Consumers are idempotent, so a message re-driven
 * twice still counts once. Ids and rows are split so no statement binds more than D1 allows.
 */
export async function redriveDeadLetters(env: Env, ids: string[] | undefined): Promise<string[]> {
  const db = database(env.DB);
  const t = schema.deadLetters;
  const pending = ids
    ? (
        await Promise.all(
          d1Chunks([...new Set(ids)], 1).map((part) =>
            db.select().from(t).where(and(isNull(t.redrivenAt), inArray(t.deadLetterId, part))),
          ),
        )
      ).flat()
    : await db.select().from(t).where(isNull(t.redrivenAt)).orderBy(t.receivedAt, t.deadLetterId).limit(REDRIVE_LIMIT);
  pending.sort((a, b) => a.receivedAt - b.receivedAt || a.deadLetterId.localeCompare(b.deadLetterId));

  const byBinding = new Map<(typeof QUEUE_BINDING_OF_KIND)[QueueMessageKind], typeof pending>();
  for (const letter of pending) {
    const binding = QUEUE_BINDING_OF_KIND[letter.kind as QueueMessageKind];
    if (!binding) continue; // no queue takes this kind: it stays listed for an admin
    const letters = byBinding.get(binding);
    if (letters) letters.push(letter);
    else byBinding.set(binding, [letter]);
  }
  const redriven: string[] = [];
  for (const [binding, letters] of byBinding) {
    await sendAll(env[binding], letters.map((letter) => JSON.parse(letter.body) as QueueMessage));
    // Marked per queue right after its send, so a failure later never re-sends what went out.
    for (const part of d1Chunks(letters, 1, 1)) {
      await db
        .update(t)
        .set({ redrivenAt: Date.now() })
        .where(inArray(t.deadLetterId, part.map((letter) => letter.deadLetterId)));
    }
    redriven.push(...letters.map((letter) => letter.deadLetterId));
  }
  return redriven;
}
