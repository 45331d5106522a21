import { DurableObject } from "cloudflare:workers";
import { fail, ok, type Result } from "../../shared/errors.ts";
import type { EstablishedConnectionMessage } from "../../shared/messages.ts";
import { DAY_MS, toIso, utcDayNumber } from "../../shared/time.ts";
import { answerClose, safeClose, sendText } from "../sockets.ts";
import { firstRow, hasStorage, migrate, rows } from "../sql.ts";
import type { Trophy } from "../user/trophies.ts";
import { userStub } from "../user/stub.ts";
import { displayNamesOf } from "../../shared/display-names.ts";
import { CitizenFeed, type CitizenAttachment } from "./citizen-feed.ts";
import {
  ConnectionRequests,
  toView,
  type ConnectionRequestInput,
  type ConnectionView,
  type RequestRow,
} from "./connection-requests.ts";
import {
  coarsePosition,
  GridIndex,
  haversineMeters,
  randomGridOffset,
  shownDistance,
  type GridOffset,
  type LatLng,
  type Neighbour,
} from "./geo.ts";
import { DEFAULT_RADIUS_METERS, officerMessageSchema, parseClientMessage, type ServerMessage, type SocketErrorCode } from "./socket-messages.ts";
import { log } from "../../shared/log.ts";

/** How long an officer stays findable after opening the presence socket. */
export const AVAILABLE_FOR_MS = 15 * 60_000;
/** Both parties' last known locations must be at most this far apart for a connection. */
export const CONNECT_WITHIN_METERS = 200;
/** When crediting or publishing an accepted connection failed, the alarm tries again after this. */
const CREDIT_RETRY_MS = 5_000;
/** Decided requests are kept this long for `GET /connections/{id}`; reports live in D1. */
const KEEP_DECIDED_MS = 30 * DAY_MS;

/** Closed by the server when the 15 minutes are over, or when the officer connected again. */
export const CLOSE_AVAILABILITY_ENDED = 4000;
export const CLOSE_REPLACED = 4001;

/** An app's keep-alive, byte for byte, and the answer. */
export const PING = '{"type":"ping"}';
export const PONG = '{"type":"pong"}';

/**
 * Headers of the upgrade request the Worker builds afresh for a checked officer or citizen; the
 * object is not public, and the Worker never copies a client's headers into that request.
 */
export const OFFICER_ID_HEADER = "x-tally-officer-id";
export const CITIZEN_ID_HEADER = "x-tally-citizen-id";
export const ZIP_HEADER = "x-tally-zip";
/** The URL of that internal upgrade request (the object reads only the headers above). */
export const ZIP_AREA_SOCKET_URL = "https://zip-area.internal/socket";

const SCHEMA = [
  `CREATE TABLE officers (
     officer_id TEXT PRIMARY KEY,
     socket_id TEXT NOT NULL,
     lat REAL,
     lng REAL,
     located_at INTEGER,
     available_until INTEGER NOT NULL
   )`,
  "CREATE INDEX officers_by_expiry ON officers (available_until)",
  `CREATE TABLE requests (
     request_id TEXT PRIMARY KEY,
     zip TEXT NOT NULL,
     citizen_id TEXT NOT NULL,
     officer_id TEXT NOT NULL,
     citizen_lat REAL NOT NULL,
     citizen_lng REAL NOT NULL,
     status TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     decided_at INTEGER,
     points_each INTEGER,
     settled INTEGER NOT NULL DEFAULT 0
   )`,
  "CREATE INDEX requests_pending ON requests (status, expires_at)",
  // The officer's display name as of their socket opening (a rename shows from their next socket).
  "ALTER TABLE officers ADD COLUMN display_name TEXT",
  // 1 once the officer accepted a citizen: out of nearby answers and requests until they connect again.
  "ALTER TABLE officers ADD COLUMN busy INTEGER NOT NULL DEFAULT 0",
  // It meant "both wallets credited and the connection published"; the name now says so.
  "ALTER TABLE requests RENAME COLUMN settled TO credited_and_published",
  // The offset of the officer's coarse grid for this availability window (metres; see coarsePosition).
  "ALTER TABLE officers ADD COLUMN grid_north REAL",
  "ALTER TABLE officers ADD COLUMN grid_east REAL",
] as const;

/** Identity of a socket, kept in its attachment so it survives hibernation. */
export interface OfficerAttachment {
  officerId: string;
  zip: string;
  socketId: string;
  since: number;
  availableUntil: number;
}


type OfficerRow = {
  officer_id: string;
  socket_id: string;
  lat: number | null;
  lng: number | null;
  located_at: number | null;
  available_until: number;
  display_name: string | null;
  busy: number;
  grid_north: number | null;
  grid_east: number | null;
};

/** `POINTS_PER_CONNECTION`, or the default 10 when it is unset or not a positive integer. */
export function pointsPerConnection(env: Env): number {
  const points = Number(env.POINTS_PER_CONNECTION);
  return Number.isSafeInteger(points) && points > 0 ? points : 10;
}

/** `POINTS_PAIR_DAILY_CAP`: connections a UTC day that earn points per officer–citizen pair (default 3). */
export function pointsPairDailyCap(env: Env): number {
  const cap = Number(env.POINTS_PAIR_DAILY_CAP);
  return Number.isSafeInteger(cap) && cap >= 0 ? cap : 3;
}

/**
 * One per zip code: the officers who made themselves available there (their presence sockets,
 * last locations and the 15-minute windows), nearby search over a grid index of those locations,
 * and the connection handshakes between citizens and those officers (`ConnectionRequests`). SQLite is the truth; the
 * grid and the expiry map are caches rebuilt in the constructor, so an evicted or hibernated
 * object answers the same.
 */
export class ZipArea extends DurableObject<Env> {
  /** Officers' coarse positions (cell centres): every search and everything a citizen is told. */
  private readonly grid = new GridIndex();
  /** Officers' exact positions: the 200 m connection check and the officer's own view only. */
  private readonly exact = new Map<string, LatLng>();
  private readonly offsets = new Map<string, GridOffset>();
  private readonly availableUntil = new Map<string, number>();
  private readonly names = new Map<string, string | null>();
  private readonly busy = new Set<string>();
  private readonly requests: ConnectionRequests;
  private citizens!: CitizenFeed;
  /** Whether the tables exist; until the first socket opens here, none do (see `ensureStorage`). */
  private stored = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.requests = new ConnectionRequests(ctx.storage.sql, (row) =>
      this.citizens.requestDecided(row.citizen_id, { type: "connection", requestId: row.request_id, officerId: row.officer_id, status: "expired" }),
    );
    // Keep-alives are answered by the runtime without waking a hibernated object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
    ctx.blockConcurrencyWhile(async () => {
      if (hasStorage(ctx.storage.sql)) this.ensureStorage();
    });
  }

  /**
   * Creates the tables and rebuilds the caches from them. Runs in the constructor of an area that
   * was ever written, else on the first socket: a nearby search over a zip nobody uses (anyone can
   * name any zip) reads an empty grid and leaves no database behind. Synchronous, so no call interleaves.
   */
  private ensureStorage(): void {
    if (this.stored) return;
    const sql = this.ctx.storage.sql;
    migrate(sql, "zip-area", SCHEMA);
    for (const row of rows<OfficerRow>(sql, "SELECT * FROM officers")) {
      this.availableUntil.set(row.officer_id, row.available_until);
      this.names.set(row.officer_id, row.display_name);
      if (row.busy) this.busy.add(row.officer_id);
      let offset: GridOffset;
      if (row.grid_north !== null && row.grid_east !== null) offset = { north: row.grid_north, east: row.grid_east };
      else {
        // A window opened before offsets were stored gets one now, kept for the rest of it.
        offset = randomGridOffset();
        sql.exec("UPDATE officers SET grid_north = ?, grid_east = ? WHERE officer_id = ?", offset.north, offset.east, row.officer_id);
      }
      this.offsets.set(row.officer_id, offset);
      if (row.lat !== null && row.lng !== null) this.locate(row.officer_id, { lat: row.lat, lng: row.lng });
    }
    this.citizens = new CitizenFeed(this.ctx, {
      availableNear: (center, radius, limit) => this.availableNear(center, radius, limit),
      availableAt: (officerId) => this.availableAt(officerId),
      displayName: (officerId) => this.names.get(officerId) ?? null,
    });
    this.stored = true;
  }

  /** Accepts an officer's presence socket or a citizen's nearby socket (the Worker has checked the token and the upgrade). */
  override async fetch(request: Request): Promise<Response> {
    const officerId = request.headers.get(OFFICER_ID_HEADER);
    const citizenId = request.headers.get(CITIZEN_ID_HEADER);
    const zip = request.headers.get(ZIP_HEADER);
    if (!zip || request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("expected an officer's or a citizen's WebSocket upgrade", { status: 400 });
    }
    const callerId = officerId ?? citizenId;
    if (!callerId) return new Response("expected an officer's or a citizen's id", { status: 400 });
    if (officerId && citizenId) {
      // No caller is both: a request claiming two roles was not built by the Worker.
      return new Response("a socket is an officer's or a citizen's, never both", { status: 400 });
    }
    this.ensureStorage();
    if (officerId) {
      // Read before anything changes: the name citizens see is the one stored when the socket opens.
      const [displayName] = await Promise.all([this.officerName(officerId), this.tellUserOfSocket(officerId, zip)]);
      return this.openPresence(officerId, zip, displayName);
    }
    await this.tellUserOfSocket(callerId, zip);
    return new Response(null, { status: 101, webSocket: this.citizens.open(callerId, zip, DEFAULT_RADIUS_METERS) });
  }

  private async openPresence(officerId: string, zip: string, displayName: string | null): Promise<Response> {
    const before = this.availableAt(officerId);
    const now = Date.now();
    const attachment: OfficerAttachment = {
      officerId,
      zip,
      socketId: crypto.randomUUID(),
      since: now,
      availableUntil: now + AVAILABLE_FOR_MS,
    };
    // One live socket per officer: a reconnect replaces the old one (whose close then changes nothing).
    for (const old of this.ctx.getWebSockets(officerId)) {
      safeClose(old, CLOSE_REPLACED, "replaced by a newer connection");
    }
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server, [officerId]);
    server.serializeAttachment(attachment);
    // A new window, a new grid: cells of the last window tell nothing about this one.
    const offset = randomGridOffset();
    this.ctx.storage.sql.exec(
      `INSERT INTO officers (officer_id, socket_id, available_until, display_name, busy, grid_north, grid_east) VALUES (?, ?, ?, ?, 0, ?, ?)
       ON CONFLICT (officer_id) DO UPDATE SET socket_id = excluded.socket_id, available_until = excluded.available_until,
         display_name = excluded.display_name, busy = 0, grid_north = excluded.grid_north, grid_east = excluded.grid_east`,
      officerId,
      attachment.socketId,
      attachment.availableUntil,
      displayName,
      offset.north,
      offset.east,
    );
    this.offsets.set(officerId, offset);
    const last = this.exact.get(officerId);
    if (last) this.locate(officerId, last);
    this.availableUntil.set(officerId, attachment.availableUntil);
    this.names.set(officerId, displayName);
    this.busy.delete(officerId);
    await this.scheduleAlarm();
    send(server, this.availableMessage(attachment));
    // Requests sent to a socket that dropped are not lost: a reconnecting app gets them again.
    for (const row of this.requests.waitingFor(officerId, now)) send(server, this.requestMessage(row));
    this.citizens.officerChanged(officerId, before);
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const attachment = ws.deserializeAttachment() as OfficerAttachment | CitizenAttachment | null;
    if (!attachment) return;
    if ("role" in attachment) {
      try {
        await this.citizens.message(ws, attachment, message, async () => {
          const { success } = await this.env.NEARBY_RATE_LIMIT.limit({ key: attachment.citizenId });
          return success;
        });
      } catch (error) {
        log("error", "citizen socket message failed", { system: "connections", zip: attachment.zip, citizenId: attachment.citizenId, error });
        this.citizens.failed(ws);
      }
      return;
    }
    try {
      await this.onOfficerMessage(ws, attachment, message);
    } catch (error) {
      log("error", "officer socket message failed", { system: "connections", zip: attachment.zip, officerId: attachment.officerId, error });
      sendError(ws, "unavailable", "could not handle that message; send it again");
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    const attachment = ws.deserializeAttachment() as OfficerAttachment | CitizenAttachment | null;
    if (attachment && "role" in attachment) {
      this.citizens.closed(ws, attachment, code, reason);
      return;
    }
    this.forgetSocket(ws);
    answerClose(ws, code, reason);
  }

  override async webSocketError(ws: WebSocket): Promise<void> {
    const attachment = ws.deserializeAttachment() as OfficerAttachment | CitizenAttachment | null;
    if (attachment && "role" in attachment) this.citizens.closed(ws, attachment);
    else this.forgetSocket(ws);
  }

  /**
   * Available officers within `radiusMeters` of a point, nearest first, at most `limit`, with the
   * display names they had when their socket opened. Distances are to the officers' coarse positions
   * (the centres of their 200 m cells, `coarsePosition`), unrounded; callers round them for clients.
   */
  async nearby(center: LatLng, radiusMeters: number, limit: number): Promise<Array<Neighbour & { displayName: string | null }>> {
    return this.availableNear(center, radiusMeters, limit).map((found) => ({ ...found, displayName: this.names.get(found.id) ?? null }));
  }

  /** New trophies of a user: to their presence socket and their citizen socket here, whichever is open. */
  async pushTrophies(userId: string, trophies: Trophy[]): Promise<void> {
    if (!this.stored) return; // No socket was ever opened here.
    for (const ws of this.ctx.getWebSockets(userId)) {
      for (const trophy of trophies) send(ws, { type: "trophy", ...trophy });
    }
    this.citizens.trophies(userId, trophies);
  }

  /**
   * Records a citizen's request and tells the officer's socket. Idempotent on `requestId`: the
   * same request again answers as the first time; the id with a different payload is a conflict.
   */
  async requestConnection(input: ConnectionRequestInput): Promise<Result<{ requestId: string; status: "pending" }>> {
    // No socket ever opened here, so no officer is available (and nothing is written).
    if (!this.stored) return fail("not_found", `officer ${input.officerId} is not available in zip ${input.zip}`);
    const existing = this.requests.stored(input.requestId);
    if (existing) {
      if (!ConnectionRequests.samePayload(existing, input)) return fail("idempotency_conflict", `request id ${input.requestId} was already used with a different payload`);
      return ok({ requestId: input.requestId, status: "pending" });
    }
    const now = Date.now();
    const sockets = this.ctx.getWebSockets(input.officerId);
    if (sockets.length === 0 || !this.isAvailable(input.officerId, now)) {
      // Sockets dropped without a close (a restart) leave a location behind; it ends here.
      if (sockets.length === 0 && this.availableUntil.has(input.officerId)) this.forgetOfficer(input.officerId);
      return fail("not_found", `officer ${input.officerId} is not available in zip ${input.zip}`);
    }
    const expiresAt = this.requests.open(input, now);
    await this.scheduleAlarm();
    const notice = this.requestMessage({
      request_id: input.requestId,
      citizen_id: input.citizenId,
      officer_id: input.officerId,
      citizen_lat: input.lat,
      citizen_lng: input.lng,
      expires_at: expiresAt,
      created_at: now,
    });
    for (const ws of sockets) send(ws, notice);
    return ok({ requestId: input.requestId, status: "pending" });
  }

  /** The request as it stands now; a pending one past its 60 s is reported (and stored) as expired. */
  async connection(requestId: string): Promise<Result<ConnectionView>> {
    if (!this.stored) return fail("not_found", `no connection request ${requestId}`);
    const row = this.requests.find(requestId, Date.now());
    return row ? ok(toView(row)) : fail("not_found", `no connection request ${requestId}`);
  }

  override async alarm(): Promise<void> {
    if (!this.stored) return;
    const sql = this.ctx.storage.sql;
    const now = Date.now();
    for (const officer of rows<Pick<OfficerRow, "officer_id">>(sql, "SELECT officer_id FROM officers WHERE available_until <= ?", now)) {
      for (const ws of this.ctx.getWebSockets(officer.officer_id)) {
        safeClose(ws, CLOSE_AVAILABILITY_ENDED, "availability ended after 15 minutes");
      }
      this.forgetOfficer(officer.officer_id);
    }
    this.requests.expireDue(now);
    for (const row of this.requests.uncredited(now - CREDIT_RETRY_MS)) {
      try {
        await this.creditConnection(row);
      } catch (error) {
        log("warn", "crediting a connection failed; will retry", { system: "connections", zip: row.zip, connectionRequestId: row.request_id, error });
      }
    }
    this.requests.prune(now - KEEP_DECIDED_MS);
    await this.scheduleAlarm();
  }

  private async onOfficerMessage(ws: WebSocket, me: OfficerAttachment, raw: string | ArrayBuffer): Promise<void> {
    const parsed = parseClientMessage(raw, officerMessageSchema);
    if (!parsed.success) {
      sendError(ws, "invalid_message", parsed.detail);
      return;
    }
    const message = parsed.data;
    if (message.type === "location") {
      const { rowsWritten } = this.ctx.storage.sql.exec(
        "UPDATE officers SET lat = ?, lng = ?, located_at = ? WHERE officer_id = ? AND socket_id = ?",
        message.lat,
        message.lng,
        Date.now(),
        me.officerId,
        me.socketId,
      );
      if (rowsWritten === 0) {
        sendError(ws, "unavailable", "this connection was replaced or has expired; connect again");
        return;
      }
      const before = this.availableAt(me.officerId);
      this.locate(me.officerId, { lat: message.lat, lng: message.lng });
      send(ws, this.availableMessage(me));
      this.citizens.officerChanged(me.officerId, before);
    } else if (message.type === "accept") {
      await this.accept(ws, me, message.requestId);
    } else {
      this.decline(ws, me, message.requestId);
    }
  }

  private async accept(ws: WebSocket, me: OfficerAttachment, requestId: string): Promise<void> {
    const now = Date.now();
    const row = this.requestTo(ws, me, requestId, now);
    if (!row) return;
    if (row.status === "accepted") {
      // A resent accept: finish what may be unfinished, and answer as the first time.
      if (!row.credited_and_published) await this.creditConnection(row);
      send(ws, { type: "connected", requestId, citizenId: row.citizen_id, ...pointsOutcome(row.points_each ?? 0, pointsPairDailyCap(this.env)) });
      return;
    }
    if (row.status === "expired") {
      sendError(ws, "expired", `request ${requestId} expired`, requestId);
      return;
    }
    if (row.status !== "pending") {
      sendError(ws, "already_decided", `request ${requestId} is ${row.status}`, requestId);
      return;
    }
    const officerAt = this.exact.get(me.officerId);
    if (!officerAt) {
      sendError(ws, "no_location", "send your location before accepting", requestId);
      return;
    }
    if (!this.isAvailable(me.officerId, now)) {
      // One citizen per availability window: after an accept the officer is busy, so the other
      // requests still pending cannot all be accepted too.
      sendError(ws, "unavailable", "you already connected with a citizen; open the presence socket again to be available", requestId);
      return;
    }
    const distance = haversineMeters(officerAt, this.citizenAt(row));
    if (distance > CONNECT_WITHIN_METERS) {
      // Left pending: the officer may walk closer and accept again before the request expires.
      send(ws, {
        type: "error",
        code: "too_far",
        detail: `you are about ${shownDistance(distance)} m apart; a connection needs at most ${CONNECT_WITHIN_METERS} m`,
        requestId,
        distanceMeters: shownDistance(distance),
      });
      return;
    }
    // Decided before the accept is stored, on the citizen's object (one writer per pair, whatever the
    // zip), once per request: a failure here leaves the request pending for the officer to resend.
    const earns = await userStub(this.env, row.citizen_id).claimPairConnection({
      ref: `connection:${requestId}`,
      partnerId: me.officerId,
      day: utcDayNumber(now),
      cap: pointsPairDailyCap(this.env),
    });
    const current = this.requests.find(requestId, Date.now());
    if (current?.status !== "pending" || !this.isAvailable(me.officerId, Date.now())) {
      // Something changed while the claim was on its way (the request expired, another accept won).
      sendError(ws, "unavailable", `request ${requestId} changed meanwhile; send the accept again`, requestId);
      return;
    }
    const points = earns ? pointsPerConnection(this.env) : 0;
    const accepted = this.requests.accept(row, now, points);
    this.becomeBusy(me.officerId);
    const outcome = pointsOutcome(points, pointsPairDailyCap(this.env));
    this.citizens.requestDecided(row.citizen_id, { type: "connection", requestId, officerId: me.officerId, status: "accepted", ...outcome });
    // The alarm is the safety net should crediting or publishing fail below.
    await this.scheduleAlarm();
    await this.creditConnection(accepted);
    send(ws, { type: "connected", requestId, citizenId: row.citizen_id, ...outcome });
  }

  private decline(ws: WebSocket, me: OfficerAttachment, requestId: string): void {
    const now = Date.now();
    const row = this.requestTo(ws, me, requestId, now);
    if (!row) return;
    if (row.status === "declined") {
      send(ws, { type: "declined", requestId });
      return;
    }
    if (row.status !== "pending") {
      sendError(ws, row.status === "expired" ? "expired" : "already_decided", `request ${requestId} is ${row.status}`, requestId);
      return;
    }
    this.requests.decline(requestId, now);
    send(ws, { type: "declined", requestId });
    this.citizens.requestDecided(row.citizen_id, { type: "connection", requestId, officerId: me.officerId, status: "declined" });
  }

  /**
   * Credits both wallets and publishes the connection. Each step is keyed by the request id
   * (the wallet ref, the D1 primary key), so running it again after a partial failure never
   * credits twice.
   */
  private async creditConnection(row: RequestRow): Promise<void> {
    const points = row.points_each ?? pointsPerConnection(this.env);
    const ref = `connection:${row.request_id}`;
    // A connection over the pair's daily cap earns nothing: no wallet entry, but it is still published.
    const credits = points === 0 ? [] : await Promise.all(
      [row.citizen_id, row.officer_id].map((userId) =>
        userStub(this.env, userId).credit({ ref, reason: "connection", points }),
      ),
    );
    const failed = credits.find((result) => !result.ok);
    if (failed && !failed.ok) throw new Error(`crediting connection ${row.request_id}: ${failed.detail}`);
    const message: EstablishedConnectionMessage = {
      kind: "established-connection",
      requestId: row.request_id,
      citizenId: row.citizen_id,
      officerId: row.officer_id,
      zip: row.zip,
      pointsEach: points,
      establishedAt: row.decided_at ?? Date.now(),
    };
    await this.env.ESTABLISHED_CONNECTIONS.send(message);
    this.requests.markCredited(row.request_id);
  }

  /** A request made to this officer, or undefined after telling the socket there is none. */
  private requestTo(ws: WebSocket, me: OfficerAttachment, requestId: string, now: number): RequestRow | undefined {
    const row = this.requests.find(requestId, now);
    if (row?.officer_id === me.officerId) return row;
    sendError(ws, "not_found", `no connection request ${requestId} for you`, requestId);
    return undefined;
  }

  /** Forgets the officer when this socket is still theirs (a replaced socket's close changes nothing). */
  private forgetSocket(ws: WebSocket): void {
    const me = ws.deserializeAttachment() as OfficerAttachment | null;
    if (!me) return;
    const row = firstRow<{ socket_id: string }>(
      this.ctx.storage.sql,
      "SELECT socket_id FROM officers WHERE officer_id = ?",
      me.officerId,
    );
    if (row?.socket_id === me.socketId) this.forgetOfficer(me.officerId);
  }

  private forgetOfficer(officerId: string): void {
    const before = this.availableAt(officerId);
    this.ctx.storage.sql.exec("DELETE FROM officers WHERE officer_id = ?", officerId);
    this.grid.remove(officerId);
    this.exact.delete(officerId);
    this.offsets.delete(officerId);
    this.availableUntil.delete(officerId);
    this.names.delete(officerId);
    this.busy.delete(officerId);
    this.citizens.officerChanged(officerId, before);
  }

  /** The officer accepted a citizen: out of nearby answers and new requests until their next socket. */
  private becomeBusy(officerId: string): void {
    const before = this.availableAt(officerId);
    this.ctx.storage.sql.exec("UPDATE officers SET busy = 1 WHERE officer_id = ?", officerId);
    this.busy.add(officerId);
    this.citizens.officerChanged(officerId, before);
  }

  /** Stores an officer's exact position, and its cell on this window's grid for everything clients see. */
  private locate(officerId: string, at: LatLng): void {
    this.exact.set(officerId, at);
    let offset = this.offsets.get(officerId);
    if (!offset) this.offsets.set(officerId, (offset = randomGridOffset()));
    this.grid.upsert(officerId, coarsePosition(at, offset));
  }

  /** Within the 15-minute window and not busy with a citizen. */
  private isAvailable(officerId: string, now: number): boolean {
    return !this.busy.has(officerId) && (this.availableUntil.get(officerId) ?? 0) > now;
  }

  private availableAt(officerId: string): LatLng | undefined {
    return this.isAvailable(officerId, Date.now()) ? this.grid.get(officerId) : undefined;
  }

  private availableNear(center: LatLng, radiusMeters: number, limit: number): Neighbour[] {
    const now = Date.now();
    const found: Neighbour[] = [];
    for (const neighbour of this.grid.within(center, radiusMeters)) {
      if (!this.isAvailable(neighbour.id, now)) continue;
      found.push(neighbour);
      if (found.length >= limit) break;
    }
    return found;
  }

  /**
   * Where the citizen of a request is: the last location their socket here sent, when that is
   * newer than the request; else the location the request carried.
   */
  private citizenAt(row: Pick<RequestRow, "citizen_id" | "citizen_lat" | "citizen_lng" | "created_at">): LatLng {
    const live = this.citizens.locationOf(row.citizen_id);
    return live && live.locatedAt >= row.created_at ? live.at : { lat: row.citizen_lat, lng: row.citizen_lng };
  }

  /** The officer's stored display name; a failed read shows no name rather than refusing the socket. */
  private async officerName(officerId: string): Promise<string | null> {
    try {
      return (await displayNamesOf(this.env.DB, [officerId])).get(officerId) ?? null;
    } catch (error) {
      log("warn", "reading the officer's display name failed", { system: "connections", officerId, error });
      return this.names.get(officerId) ?? null;
    }
  }

  /** Best effort: the user's object learns where to push new trophies. */
  private async tellUserOfSocket(userId: string, zip: string): Promise<void> {
    try {
      await userStub(this.env, userId).socketOpened(zip);
    } catch (error) {
      log("warn", "recording the socket's zip failed", { system: "connections", userId, error });
    }
  }

  private requestMessage(
    row: Pick<RequestRow, "request_id" | "citizen_id" | "officer_id" | "citizen_lat" | "citizen_lng" | "expires_at" | "created_at">,
  ): ServerMessage {
    // The officer's own socket: exact positions are theirs to see.
    const officerAt = this.exact.get(row.officer_id);
    return {
      type: "connection-request",
      requestId: row.request_id,
      citizenId: row.citizen_id,
      distanceMeters: officerAt ? shownDistance(haversineMeters(officerAt, this.citizenAt(row))) : null,
      expiresAt: toIso(row.expires_at),
    };
  }

  private availableMessage(me: OfficerAttachment): ServerMessage {
    const at = this.exact.get(me.officerId);
    return {
      type: "available",
      officerId: me.officerId,
      zip: me.zip,
      availableUntil: toIso(me.availableUntil),
      location: at ? { lat: at.lat, lng: at.lng } : null,
    };
  }

  /** One alarm for the earliest of: an officer's window ending, a request expiring, a credit retry. */
  private async scheduleAlarm(): Promise<void> {
    const officersEnd = firstRow<{ at: number | null }>(this.ctx.storage.sql, "SELECT MIN(available_until) AS at FROM officers")?.at ?? null;
    const requestsDue = this.requests.nextDeadline(CREDIT_RETRY_MS);
    const candidates = [officersEnd, requestsDue].filter((at): at is number => at !== null);
    const next = candidates.length > 0 ? Math.min(...candidates) : null;
    if (next === null) {
      await this.ctx.storage.deleteAlarm();
      return;
    }
    const current = await this.ctx.storage.getAlarm();
    if (current !== next) await this.ctx.storage.setAlarm(next);
  }
}

/**
 * The points of an accepted connection as both sockets say them: `pointsCapped` when the pair had
 * already earned points for `cap` connections that UTC day, so this one connects but earns nothing.
 */
function pointsOutcome(points: number, cap: number): { points: number; pointsCapped: boolean; detail?: string } {
  if (points > 0) return { points, pointsCapped: false };
  return {
    points: 0,
    pointsCapped: true,
    detail: `connected; no points: this officer and citizen already earned points for ${cap} connections today (UTC)`,
  };
}

function send(ws: WebSocket, message: ServerMessage): void {
  // A socket that is closing is left to its close handler, which forgets the officer.
  sendText(ws, JSON.stringify(message));
}

function sendError(ws: WebSocket, code: SocketErrorCode, detail: string, requestId?: string): void {
  send(ws, requestId === undefined ? { type: "error", code, detail } : { type: "error", code, detail, requestId });
}
