/**
 * The officer socket's messages, one discriminated union each way, shared by the object and by
 * clients (and tests). Client messages are validated with zod; a bad one is answered with an
 * `error` message and never closes the socket.
 */
import { z } from "zod";

export const latitudeSchema = z.number().min(-90).max(90);
export const longitudeSchema = z.number().min(-180).max(180);

const requestIdSchema = z.string().min(1).max(128);

/** What an officer's app may send. */
export const officerMessageSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("location"), lat: latitudeSchema, lng: longitudeSchema }),
  z.object({ type: z.literal("accept"), requestId: requestIdSchema }),
  z.object({ type: z.literal("decline"), requestId: requestIdSchema }),
]);

export type OfficerMessage = z.infer<typeof officerMessageSchema>;

/** Why an officer's message was refused. */
export type SocketErrorCode =
  | "invalid_message"
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
  | { type: "connected"; requestId: string; citizenId: string; points: number }
  | { type: "declined"; requestId: string }
  /** The runtime's answer to `{"type":"ping"}`. */
  | { type: "pong" }
  | { type: "error"; code: SocketErrorCode; detail: string; requestId?: string; distanceMeters?: number };
