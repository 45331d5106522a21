/**
 * The officer's and the citizen's socket messages, one discriminated union each way per socket,
 * shared by the object and by clients (and tests). Client messages are validated with zod; a bad one is answered with an
 * `error` message and never closes the socket.
 */
import { z } from "zod";
import type { Trophy } from "../user/trophies.ts";

export const latitudeSchema = z.number().min(-90).max(90);
export const longitudeSchema = z.number().min(-180).max(180);

const requestIdSchema = z.string().min(1).max(128);

/** The largest client message either socket reads. */
const MAX_MESSAGE_BYTES = 4_096;

/**
 * Reads one client message of either socket: JSON text of at most 4 KiB that `schema` accepts, or
 * the detail to answer in an `invalid_message` error.
 */
export function parseClientMessage<T>(
  raw: string | ArrayBuffer,
  schema: z.ZodType<T>,
): { success: true; data: T } | { success: false; detail: string } {
  if (typeof raw !== "string" || raw.length > MAX_MESSAGE_BYTES) {
    return { success: false, detail: `messages are JSON text of at most ${MAX_MESSAGE_BYTES} bytes` };
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { success: false, detail: "message is not JSON" };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    return { success: false, detail: parsed.error.issues.map((i) => `${i.path.join(".") || "message"}: ${i.message}`).join("; ") };
  }
  return { success: true, data: parsed.data };
}

/** What an officer's app may send. */
export const officerMessageSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("location"), lat: latitudeSchema, lng: longitudeSchema }),
  z.object({ type: z.literal("accept"), requestId: requestIdSchema }),
  z.object({ type: z.literal("decline"), requestId: requestIdSchema }),
]);

export type OfficerMessage = z.infer<typeof officerMessageSchema>;

/** The citizen socket's search radius when a location names none, and the largest allowed (metres). */
export const DEFAULT_RADIUS_METERS = 1000;
export const MAX_RADIUS_METERS = 10_000;

/** What a citizen's app may send. */
export const citizenMessageSchema = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("location"),
    lat: latitudeSchema,
    lng: longitudeSchema,
    radius: z.number().int().min(1).max(MAX_RADIUS_METERS).default(DEFAULT_RADIUS_METERS),
  }),
]);

export type CitizenMessage = z.input<typeof citizenMessageSchema>;

/** Why a socket message was refused. */
export type SocketErrorCode =
  | "invalid_message"
  | "rate_limited"
  | "not_found"
  | "expired"
  | "already_decided"
  | "no_location"
  | "too_far"
  | "unavailable";

/** What the server sends to an officer's app. */
export type ServerMessage =
  | {
      /** On connect and after each location: the officer is findable until `availableUntil`. */
      type: "available";
      officerId: string;
      zip: string;
      availableUntil: string;
      location: { lat: number; lng: number } | null;
    }
  | {
      type: "connection-request";
      requestId: string;
      citizenId: string;
      /** From the officer's last known location; null before the first location. */
      distanceMeters: number | null;
      expiresAt: string;
    }
  | {
      type: "connected";
      requestId: string;
      citizenId: string;
      /** Each party's points for it: 0 with `pointsCapped` when the pair passed POINTS_PAIR_DAILY_CAP today. */
      points: number;
      pointsCapped: boolean;
      /** Says why no points, when capped. */
      detail?: string;
    }
  | { type: "declined"; requestId: string }
  | TrophyMessage
  /** The runtime's answer to `{"type":"ping"}`. */
  | { type: "pong" }
  | { type: "error"; code: SocketErrorCode; detail: string; requestId?: string; distanceMeters?: number };

/** A trophy the user just earned, on whichever of their sockets is open. */
export type TrophyMessage = { type: "trophy" } & Trophy;

/** An officer as a citizen sees one: no location, the distance rounded to 10 m. */
export interface NearbyOfficer {
  officerId: string;
  displayName: string | null;
  distanceMeters: number;
}

/** What the server sends to a citizen's app. */
export type CitizenServerMessage =
  | { type: "officers"; officers: NearbyOfficer[] }
  | { type: "officer-nearby"; officerId: string; displayName: string | null; distanceMeters: number }
  | { type: "connection"; requestId: string; officerId: string; status: "declined" | "expired" }
  | {
      type: "connection";
      requestId: string;
      officerId: string;
      status: "accepted";
      /** As the officer's `connected`: the points each earns, 0 with `pointsCapped` over the pair's daily cap. */
      points: number;
      pointsCapped: boolean;
      detail?: string;
    }
  | TrophyMessage
  /** The runtime's answer to `{"type":"ping"}`. */
  | { type: "pong" }
  | { type: "error"; code: SocketErrorCode; detail: string };
