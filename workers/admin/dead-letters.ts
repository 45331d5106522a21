import { and, desc, inArray, isNull } from "drizzle-orm";
import { database, schema } from "../../shared/db/client.ts";
import { QUEUE_BINDING_OF_KIND, type QueueMessage, type QueueMessageKind } from "../../shared/messages.ts";

/**
 * The dead-letter consumer: every message whose retries ran out lands here and is kept in D1,
 * keyed by the platform's message id so a redelivered dead letter is kept once.
 */
export async function recordDeadLetters(batch: MessageBatch<QueueMessage>, env: Env): Promise<void> {
  if (batch.messages.length === 0) return;
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
  await database(env.DB).insert(schema.deadLetters).values(values).onConflictDoNothing();
  batch.ackAll();
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
 * Sends pending dead letters back to the queue their kind belongs to and marks them re-driven.
 * Consumers are idempotent, so a message re-driven twice still counts once.
 */
export async function redriveDeadLetters(env: Env, ids: string[] | undefined): Promise<string[]> {
  const db = database(env.DB);
  const pending = await db
    .select()
    .from(schema.deadLetters)
    .where(
      and(isNull(schema.deadLetters.redrivenAt), ids ? inArray(schema.deadLetters.deadLetterId, ids) : undefined),
    )
    .limit(1000);
  const redriven: string[] = [];
  for (const letter of pending) {
    const binding = QUEUE_BINDING_OF_KIND[letter.kind as QueueMessageKind];
    if (!binding) continue;
    await env[binding].send(JSON.parse(letter.body) as QueueMessage);
    redriven.push(letter.deadLetterId);
  }
  if (redriven.length > 0) {
    await db
      .update(schema.deadLetters)
      .set({ redrivenAt: Date.now() })
      .where(inArray(schema.deadLetters.deadLetterId, redriven));
  }
  return redriven;
}
