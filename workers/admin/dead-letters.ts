import { and, desc, inArray, isNull, sql } from "drizzle-orm";
import { profileShardOf } from "../../durable-objects/profile-store/profile-store.ts";
import { profileShardStub } from "../../durable-objects/profile-store/stub.ts";
import { d1Chunks, runInOneBatch } from "../../shared/db/chunks.ts";
import { database, schema } from "../../shared/db/client.ts";
import { QUEUE_BINDING_OF_KIND, type QueueMessage, type QueueMessageKind } from "../../shared/messages.ts";
import { ackOrRetryGroup, sendAll } from "../queue-kit.ts";

/**
 * What a user-tag dead letter of an erased cookie keeps: its kind, nothing of the tag. The tag id
 * goes too, as it is a hash of the tag, cookie included.
 */
const REDACTED_USER_TAG = JSON.stringify({ kind: "user-tag", redacted: true });

/** Parameters one dead-letter row binds (every column but `redrivenAt` and `redactedAt`). */
const DEAD_LETTER_COLUMNS = 6;

/** The most letters one redrive sends; an admin redrives again for the rest. */
const REDRIVE_LIMIT = 1000;

/**
 * The dead-letter consumer: every message whose retries ran out lands here and is kept in D1,
 * keyed by the platform's message id so a redelivered dead letter is kept once. It takes any
 * body (even one of no known kind), since this is where strays end up; the batch is written in
 * one D1 transaction, acked when it committed and retried otherwise. A user tag whose cookie was
 * erased after Tally accepted it is then redacted (`redactErasedUserTags`) before the ack.
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
    await redactErasedUserTags(env, batch.messages);
  });
}

/**
 * Redacts the just-recorded user-tag letters whose cookie was erased at or after the tag was
 * accepted. It runs after the insert and an erase sets its mark before it redacts
 * (`redactCookieDeadLetters`), so whichever comes first, the letter ends redacted: an insert
 * before the erase's redaction is caught by it, one after it sees the mark here. The mark still
 * exists, since a message dies within its queue retention, shorter than a mark is kept.
 */
async function redactErasedUserTags(env: Env, messages: readonly Message<unknown>[]): Promise<void> {
  const tags = messages.flatMap((message) => {
    const body = message.body as { kind?: unknown; cookie?: unknown; acceptedAt?: unknown } | null;
    return body?.kind === "user-tag" && typeof body.cookie === "string" && typeof body.acceptedAt === "number"
      ? [{ id: message.id, cookie: body.cookie, acceptedAt: body.acceptedAt }]
      : [];
  });
  if (tags.length === 0) return;
  const byShard = Map.groupBy(tags, (tag) => profileShardOf(tag.cookie));
  const erased: string[] = [];
  await Promise.all(
    [...byShard].map(async ([shard, group]) => {
      const marks = await profileShardStub(env, shard).erasedAt([...new Set(group.map((tag) => tag.cookie))]);
      for (const tag of group) if (tag.acceptedAt <= (marks[tag.cookie] ?? -Infinity)) erased.push(tag.id);
    }),
  );
  const t = schema.deadLetters;
  const db = database(env.DB);
  const now = Date.now();
  for (const part of d1Chunks(erased, 1, 2)) {
    await db.update(t).set({ body: REDACTED_USER_TAG, redactedAt: now }).where(inArray(t.deadLetterId, part));
  }
}

/**
 * Redacts the dead letters of tags of `cookie` accepted up to `erasedAt` (the erase of
 * `DELETE /user_profiles/{cookie}`, called after its mark is set): their bodies lose the tag and
 * they are never re-driven. Returns how many were redacted.
 */
export async function redactCookieDeadLetters(env: Env, cookie: string, erasedAt: number): Promise<number> {
  const t = schema.deadLetters;
  const redacted = await database(env.DB)
    .update(t)
    .set({ body: REDACTED_USER_TAG, redactedAt: Date.now() })
    .where(
      and(
        // The same expression and condition as the partial index dead_letters_user_tag_cookie.
        sql`kind = 'user-tag'`,
        sql`json_extract(body, '$.cookie') = ${cookie}`,
        sql`json_extract(body, '$.acceptedAt') <= ${erasedAt}`,
        isNull(t.redactedAt),
      ),
    )
    .returning({ deadLetterId: t.deadLetterId });
  return redacted.length;
}

export interface DeadLetterView {
  deadLetterId: string;
  kind: string;
  queue: string;
  body: unknown;
  attempts: number;
  receivedAt: number;
  redrivenAt: number | null;
  redactedAt: number | null;
}

export async function listDeadLetters(env: Env, options: { includeRedriven: boolean; limit: number }): Promise<DeadLetterView[]> {
  const db = database(env.DB);
  const rowsFound = await db
    .select()
    .from(schema.deadLetters)
    // Pending: can still be re-driven, so neither re-driven nor redacted.
    .where(options.includeRedriven ? undefined : and(isNull(schema.deadLetters.redrivenAt), isNull(schema.deadLetters.redactedAt)))
    .orderBy(desc(schema.deadLetters.receivedAt), desc(schema.deadLetters.deadLetterId))
    .limit(options.limit);
  return rowsFound.map((row) => ({ ...row, body: JSON.parse(row.body) as unknown }));
}

/**
 * Sends pending dead letters back to the queue their kind belongs to and marks them re-driven
 * (at most 1000 per call, the oldest first). Consumers are idempotent, so a message re-driven
 * twice still counts once. Redacted letters (an erased cookie's tags) are never sent: they hold
 * no tag, and sending one would be the only way an erased tag could come back. Ids and rows are
 * split so no statement binds more than D1 allows.
 */
export async function redriveDeadLetters(env: Env, ids: string[] | undefined): Promise<string[]> {
  const db = database(env.DB);
  const t = schema.deadLetters;
  const pending = ids
    ? (
        await Promise.all(
          d1Chunks([...new Set(ids)], 1).map((part) =>
            db.select().from(t).where(and(isNull(t.redrivenAt), isNull(t.redactedAt), inArray(t.deadLetterId, part))),
          ),
        )
      ).flat()
    : await db
        .select()
        .from(t)
        .where(and(isNull(t.redrivenAt), isNull(t.redactedAt)))
        .orderBy(t.receivedAt, t.deadLetterId)
        .limit(REDRIVE_LIMIT);
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
