/**
 * The citizens' sockets of one zip area (`GET /nearby/{zip}`): each citizen's last location and
 * radius, the nearest available officers pushed after each location and whenever that list
 * changes, `officer-nearby` once per officer per socket, and the status of the citizen's requests.
 * Every socket is paced by a `SocketPacer` (5 messages a second; the latest officers list wins).
 * SQLite holds the locations and who was already announced, so a hibernated object answers the
 * same; the pacers and the last list sent are per wake-up only.
 */
import { SocketPacer } from "../socket-pacer.ts";
import { answerClose, safeClose, sendText } from "../sockets.ts";
import { migrate, rows } from "../sql.ts";
import type { Trophy } from "../user/trophies.ts";
import { haversineMeters, shownDistance, type LatLng } from "./geo.ts";
import {
  citizenMessageSchema,
  parseClientMessage,
  type CitizenServerMessage,
  type NearbyOfficer,
  type SocketErrorCode,
} from "./socket-messages.ts";

/** At most this many messages a second reach a citizen's socket. */
export const CITIZEN_MESSAGES_PER_SECOND = 5;
/** How many officers an `officers` message lists at most. */
export const OFFICERS_LISTED = 10;
/** An officer this close (their coarse position, the centre of their 200 m cell) is announced with `officer-nearby`. */
export const NEARBY_ALERT_METERS = 200;
/** Closed by the server when the citizen opened another socket for this zip. */
export const CLOSE_CITIZEN_REPLACED = 4001;


export const CITIZEN_SCHEMA = [
  `CREATE TABLE citizens (
     citizen_id TEXT PRIMARY KEY,
     socket_id TEXT NOT NULL,
     lat REAL,
     lng REAL,
     radius INTEGER NOT NULL,
     located_at INTEGER
   )`,
  `CREATE TABLE citizen_alerts (
     citizen_id TEXT NOT NULL,
     officer_id TEXT NOT NULL,
     PRIMARY KEY (citizen_id, officer_id)
   )`,
] as const;

/** Identity of a citizen's socket, kept in its attachment so it survives hibernation. */
export interface CitizenAttachment {
  role: "citizen";
  citizenId: string;
  zip: string;
  socketId: string;
  since: number;
}

/** The tag of a citizen's sockets (officers' sockets are tagged with the bare officer id). */
export function citizenTag(citizenId: string): string {
  return `citizen:${citizenId}`;
}

/** What the feed reads from its zip area. */
export interface OfficerSource {
  /** Available officers within the radius, nearest first, at most `limit`, distances to their coarse positions. */
  availableNear(center: LatLng, radiusMeters: number, limit: number): Array<{ id: string; distanceMeters: number }>;
  /** Where an available officer is, coarsely (their cell's centre); undefined when unknown or not available. */
  availableAt(officerId: string): LatLng | undefined;
  displayName(officerId: string): string | null;
}

interface Citizen {
  socketId: string;
  at: LatLng | null;
  radius: number;
  locatedAt: number | null;
}

type CitizenRow = {
  citizen_id: string;
  socket_id: string;
  lat: number | null;
  lng: number | null;
  radius: number;
  located_at: number | null;
};

export class CitizenFeed {
  private readonly citizens = new Map<string, Citizen>();
  private readonly alerted = new Map<string, Set<string>>();
  private readonly pacers = new Map<string, SocketPacer>();
  private readonly lastListSent = new Map<string, string>();

  /** Call inside the object's `blockConcurrencyWhile`: migrates and rebuilds the caches. */
  constructor(
    private readonly ctx: DurableObjectState,
    private readonly source: OfficerSource,
  ) {
    const sql = ctx.storage.sql;
    migrate(sql, "citizen-feed", CITIZEN_SCHEMA);
    for (const row of rows<CitizenRow>(sql, "SELECT * FROM citizens")) {
      // Sockets that dropped without a close (the object restarted) leave rows behind; they end here.
      if (!this.socketOf(row.citizen_id, row.socket_id)) {
        this.forget(row.citizen_id);
        continue;
      }
      const at = row.lat !== null && row.lng !== null ? { lat: row.lat, lng: row.lng } : null;
      this.citizens.set(row.citizen_id, { socketId: row.socket_id, at, radius: row.radius, locatedAt: row.located_at });
    }
    for (const row of rows<{ citizen_id: string; officer_id: string }>(sql, "SELECT * FROM citizen_alerts")) {
      this.alertedOf(row.citizen_id).add(row.officer_id);
    }
  }

  /** Accepts a citizen's socket; an older socket of the same citizen here is closed (4001). */
  open(citizenId: string, zip: string, defaultRadius: number): WebSocket {
    for (const old of this.ctx.getWebSockets(citizenTag(citizenId))) {
      safeClose(old, CLOSE_CITIZEN_REPLACED, "replaced by a newer connection");
      this.dropPacer(old);
    }
    this.forget(citizenId);
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server, [citizenTag(citizenId)]);
    const attachment: CitizenAttachment = { role: "citizen", citizenId, zip, socketId: crypto.randomUUID(), since: Date.now() };
    server.serializeAttachment(attachment);
    this.ctx.storage.sql.exec(
      "INSERT INTO citizens (citizen_id, socket_id, radius) VALUES (?, ?, ?)",
      citizenId,
      attachment.socketId,
      defaultRadius,
    );
    this.citizens.set(citizenId, { socketId: attachment.socketId, at: null, radius: defaultRadius, locatedAt: null });
    return client;
  }

  /**
   * A message from a citizen's app. Locations count against `allowLocation` (the caller's
   * per-minute budget); one over it is answered `rate_limited` and changes nothing.
   */
  async message(ws: WebSocket, me: CitizenAttachment, raw: string | ArrayBuffer, allowLocation: () => Promise<boolean>): Promise<void> {
    const parsed = parseClientMessage(raw, citizenMessageSchema);
    if (!parsed.success) {
      this.sendError(ws, "invalid_message", parsed.detail);
      return;
    }
    if (!(await allowLocation())) {
      this.sendError(ws, "rate_limited", "too many locations a minute; send the next one later");
      return;
    }
    const citizen = this.citizens.get(me.citizenId);
    if (citizen?.socketId !== me.socketId) {
      this.sendError(ws, "unavailable", "this connection was replaced; connect again");
      return;
    }
    const { lat, lng, radius } = parsed.data;
    const now = Date.now();
    this.ctx.storage.sql.exec(
      "UPDATE citizens SET lat = ?, lng = ?, radius = ?, located_at = ? WHERE citizen_id = ?",
      lat,
      lng,
      radius,
      now,
      me.citizenId,
    );
    citizen.at = { lat, lng };
    citizen.radius = radius;
    citizen.locatedAt = now;
    this.pushList(ws, citizen, true);
    for (const officer of this.source.availableNear(citizen.at, NEARBY_ALERT_METERS, Number.MAX_SAFE_INTEGER)) {
      this.alert(ws, me.citizenId, officer.id, officer.distanceMeters);
    }
  }

  /**
   * An officer arrived, moved, stopped being available or left: every citizen whose radius
   * covers where the officer was or is now gets the new list when it differs, and a citizen the
   * officer is now within 200 m of gets `officer-nearby` (once per socket).
   */
  officerChanged(officerId: string, before: LatLng | undefined): void {
    const after = this.source.availableAt(officerId);
    for (const [citizenId, citizen] of this.citizens) {
      if (!citizen.at) continue;
      const here = citizen.at;
      const covers = (point: LatLng | undefined) => point !== undefined && haversineMeters(here, point) <= citizen.radius;
      if (!covers(before) && !covers(after)) continue;
      const ws = this.socketOf(citizenId, citizen.socketId);
      if (!ws) continue;
      this.pushList(ws, citizen, false);
      if (after) {
        const distance = haversineMeters(here, after);
        if (distance <= NEARBY_ALERT_METERS) this.alert(ws, citizenId, officerId, distance);
      }
    }
  }

  /** A request of this citizen was accepted, declined or expired. */
  requestDecided(citizenId: string, message: Extract<CitizenServerMessage, { type: "connection" }>): void {
    for (const ws of this.ctx.getWebSockets(citizenTag(citizenId))) this.enqueue(ws, message);
  }

  /** New trophies of this user, to their citizen socket here if one is open. */
  trophies(citizenId: string, trophies: readonly Trophy[]): void {
    for (const ws of this.ctx.getWebSockets(citizenTag(citizenId))) {
      for (const trophy of trophies) this.enqueue(ws, { type: "trophy", ...trophy });
    }
  }

  /** The citizen's last location from their socket here, with when it was sent. */
  locationOf(citizenId: string): { at: LatLng; locatedAt: number } | undefined {
    const citizen = this.citizens.get(citizenId);
    return citizen?.at && citizen.locatedAt !== null ? { at: citizen.at, locatedAt: citizen.locatedAt } : undefined;
  }

  /** Handling a message failed (not the app's fault): tell the app to send it again. */
  failed(ws: WebSocket): void {
    this.sendError(ws, "unavailable", "could not handle that message; send it again");
  }

  /** The peer closed or dropped: forget the citizen when this socket is still theirs. */
  closed(ws: WebSocket, me: CitizenAttachment, code?: number, reason?: string): void {
    this.dropPacer(ws);
    if (this.citizens.get(me.citizenId)?.socketId === me.socketId) this.forget(me.citizenId);
    if (code !== undefined) answerClose(ws, code, reason ?? "");
  }

  private pushList(ws: WebSocket, citizen: Citizen, always: boolean): void {
    if (!citizen.at) return;
    const officers: NearbyOfficer[] = this.source
      .availableNear(citizen.at, citizen.radius, OFFICERS_LISTED)
      .map(({ id, distanceMeters }) => ({
        officerId: id,
        displayName: this.source.displayName(id),
        distanceMeters: shownDistance(distanceMeters),
      }));
    const text = JSON.stringify({ type: "officers", officers } satisfies CitizenServerMessage);
    const socketId = citizen.socketId;
    if (!always && this.lastListSent.get(socketId) === text) return;
    this.lastListSent.set(socketId, text);
    this.pacer(ws).offerLatest("officers", text);
  }

  /** `officer-nearby` the first time this officer is within 200 m of this citizen's socket. */
  private alert(ws: WebSocket, citizenId: string, officerId: string, distanceMeters: number): void {
    const alerted = this.alertedOf(citizenId);
    if (alerted.has(officerId)) return;
    alerted.add(officerId);
    this.ctx.storage.sql.exec(
      "INSERT INTO citizen_alerts (citizen_id, officer_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
      citizenId,
      officerId,
    );
    this.enqueue(ws, {
      type: "officer-nearby",
      officerId,
      displayName: this.source.displayName(officerId),
      distanceMeters: shownDistance(distanceMeters),
    });
  }

  private sendError(ws: WebSocket, code: SocketErrorCode, detail: string): void {
    // Latest error wins: an app flooding bad messages cannot grow the queue.
    this.pacer(ws).offerLatest("error", JSON.stringify({ type: "error", code, detail } satisfies CitizenServerMessage));
  }

  private enqueue(ws: WebSocket, message: CitizenServerMessage): void {
    this.pacer(ws).enqueue(JSON.stringify(message));
  }

  private pacer(ws: WebSocket): SocketPacer {
    const me = ws.deserializeAttachment() as CitizenAttachment;
    let pacer = this.pacers.get(me.socketId);
    if (!pacer) {
      pacer = new SocketPacer((text) => sendText(ws, text), CITIZEN_MESSAGES_PER_SECOND);
      this.pacers.set(me.socketId, pacer);
    }
    return pacer;
  }

  private dropPacer(ws: WebSocket): void {
    const me = ws.deserializeAttachment() as CitizenAttachment | null;
    if (!me) return;
    this.pacers.get(me.socketId)?.close();
    this.pacers.delete(me.socketId);
    this.lastListSent.delete(me.socketId);
  }

  private socketOf(citizenId: string, socketId: string): WebSocket | undefined {
    return this.ctx
      .getWebSockets(citizenTag(citizenId))
      .find((ws) => (ws.deserializeAttachment() as CitizenAttachment | null)?.socketId === socketId);
  }

  private alertedOf(citizenId: string): Set<string> {
    let set = this.alerted.get(citizenId);
    if (!set) this.alerted.set(citizenId, (set = new Set()));
    return set;
  }

  /** Ends the citizen's episode here: location and announced officers are forgotten. */
  private forget(citizenId: string): void {
    this.ctx.storage.sql.exec("DELETE FROM citizens WHERE citizen_id = ?", citizenId);
    this.ctx.storage.sql.exec("DELETE FROM citizen_alerts WHERE citizen_id = ?", citizenId);
    this.citizens.delete(citizenId);
    this.alerted.delete(citizenId);
  }
}
