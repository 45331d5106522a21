import { createExecutionContext, createMessageBatch, getQueueResult, type QueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { QueueMessage } from "../../shared/messages.ts";
import worker from "../../workers/index.ts";
import { adminToken, callJson } from "../support/http.ts";

const HOUR = 3_600_000;
let nextId = 1000 + Math.floor(Math.random() * 1000) * 1000;

/** A fresh campaign id per call, so tests in one file never share a board. */
export function freshId(): string {
  return String(nextId++);
}

export interface CampaignOptions {
  campaignId?: string;
  itemId?: string;
  prize?: { value: string; currency: string };
  prizes?: { fromPosition: number; toPosition: number; prize: { value: string; currency: string } }[];
  start?: number;
  end?: number;
}

/** Creates a campaign through the API (running now unless told otherwise). */
export async function createCampaign(options: CampaignOptions = {}) {
  const now = Date.now();
  const body = {
    campaignId: options.campaignId ?? freshId(),
    itemId: options.itemId ?? freshId(),
    prize: options.prize ?? { value: "100.00", currency: "EUR" },
    startDateTime: new Date(options.start ?? now - HOUR).toISOString(),
    endDateTime: new Date(options.end ?? now + HOUR).toISOString(),
    ...(options.prizes ? { prizes: options.prizes } : {}),
  };
  const response = await callJson("POST", "/campaigns", { token: await adminToken(), body });
  if (response.status !== 201) throw new Error(`create failed: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body.campaign as { campaignId: string; itemId: string; startDateTime: string; endDateTime: string };
}

let messageSeq = 0;

/** Runs one batch through the Worker's queue handler, as the platform would deliver it. */
export async function deliver(queue: string, bodies: QueueMessage[], options: { attempts?: number; ids?: string[] } = {}): Promise<QueueResult> {
  const batch = createMessageBatch<QueueMessage>(
    queue,
    bodies.map((body, i) => ({ id: options.ids?.[i] ?? `msg-${++messageSeq}`, timestamp: new Date(), attempts: options.attempts ?? 1, body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, env, ctx);
  return getQueueResult(batch, ctx);
}

export async function topOf(campaignId: string, n = 10) {
  const { status, body } = await callJson("GET", `/records/top/${n}/${campaignId}`);
  if (status !== 200) throw new Error(`top failed: ${status}`);
  return body.records.positions as Array<{ userId: string; displayName: string | null; position: number; total: { value: string; currency: string } }>;
}
