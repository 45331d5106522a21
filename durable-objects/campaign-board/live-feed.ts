import type { LiveMessage, RankedRecord } from "../../shared/campaigns.ts";
import { toIso } from "../../shared/time.ts";
import { answerClose, sendText } from "../sockets.ts";

/** Header the Worker sets to the caller's user id when it forwards a live upgrade; the object is not public. */
export const USER_ID_HEADER = "x-tally-user-id";

/** Header the Worker sets to the caller's address (`cf-connecting-ip`) when it forwards a live upgrade. */
export const CLIENT_ADDRESS_HEADER = "x-tally-client-address";

/** Open live sockets per client address per campaign when `LIVE_SOCKETS_PER_IP` is unset or not a positive whole number. */
export const DEFAULT_LIVE_SOCKETS_PER_IP = 20;

/** The per-address socket limit a `LIVE_SOCKETS_PER_IP` setting stands for. */
export function liveSocketsPerIp(setting: string | undefined): number {
  const limit = Number(setting ?? Number.NaN);
  return Number.isInteger(limit) && limit > 0 ? limit : DEFAULT_LIVE_SOCKETS_PER_IP;
}

/** A client's keep-alive and the answer, byte for byte. */
export const LIVE_PING = "ping";
export const LIVE_PONG = "pong";

/** The live top list a socket gets on connect and whenever it changes. */
export const LIVE_TOP = 100;
/** Two messages (top and own position) at most per flush, so 200 ms keeps each socket at ≤ 10 a second. */
const LIVE_FLUSH_MS = 200;

/** Identity of a socket, kept in its attachment so it survives hibernation. */
interface SocketIdentity {
  userId: string | null;
}

/** What the feed reads from its board. */
export interface LiveSource {
  campaignId(): string;
  topPositions(n: number): Omit<RankedRecord, "campaignId">[];
  record(userId: number): RankedRecord | undefined;
}

/**
 * The live leaderboard of one board over hibernatable WebSockets: the top 100 on connect and
 * whenever it changes, and — to a socket opened with a user id — that user's position when it
 * changes. Changes are coalesced into one flush per 200 ms.
 */
export class LiveFeed {
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  private lastFlushAt = 0;
  private lastTopSent = "";
  private readonly lastPositionSent = new Map<WebSocket, string>();

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly source: LiveSource,
  ) {
    // Keep-alives are answered by the runtime without waking a hibernated object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(LIVE_PING, LIVE_PONG));
  }

  /**
   * Accepts a forwarded upgrade and sends the current top (and own position) at once; 429 (before
   * any upgrade) when the caller's address already holds `maxPerAddress` open sockets here. Each
   * socket is tagged with its address, so the count survives hibernation.
   */
  accept(request: Request, maxPerAddress: number): Response {
    const addressTag = `address:${request.headers.get(CLIENT_ADDRESS_HEADER) ?? "unknown"}`;
    if (this.ctx.getWebSockets(addressTag).length >= maxPerAddress) {
      return new Response(`at most ${maxPerAddress} live sockets per client address`, { status: 429 });
    }
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server, [addressTag]);
    const identity: SocketIdentity = { userId: request.headers.get(USER_ID_HEADER) };
    server.serializeAttachment(identity);
    sendText(server, JSON.stringify(this.topMessage()));
    const own = identity.userId ? this.positionMessage(identity.userId) : undefined;
    if (own) {
      const text = JSON.stringify(own);
      if (sendText(server, text)) this.lastPositionSent.set(server, text);
    }
    return new Response(null, { status: 101, webSocket: client });
  }

  /** The ranking changed: flush to every socket, at most once per 200 ms. */
  changed(): void {
    if (this.flushTimer !== undefined || this.ctx.getWebSockets().length === 0) return;
    const wait = Math.max(0, this.lastFlushAt + LIVE_FLUSH_MS - Date.now());
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.lastFlushAt = Date.now();
      this.flush();
    }, wait);
  }

  /** The peer closed or dropped the socket: forget it and complete the close. */
  closed(ws: WebSocket, code: number, reason: string): void {
    this.lastPositionSent.delete(ws);
    answerClose(ws, code, reason);
  }

  /** The socket failed: forget it. */
  failed(ws: WebSocket): void {
    this.lastPositionSent.delete(ws);
  }

  private flush(): void {
    const sockets = this.ctx.getWebSockets();
    if (sockets.length === 0) return;
    const positions = JSON.stringify(this.source.topPositions(LIVE_TOP));
    const topChanged = positions !== this.lastTopSent;
    this.lastTopSent = positions;
    const topText = topChanged ? JSON.stringify(this.topMessage()) : undefined;
    for (const socket of sockets) {
      if (topText && !sendText(socket, topText)) {
        this.lastPositionSent.delete(socket);
        continue;
      }
      const identity = socket.deserializeAttachment() as SocketIdentity | null;
      if (!identity?.userId) continue;
      const own = this.positionMessage(identity.userId);
      if (!own) continue;
      const text = JSON.stringify(own);
      if (this.lastPositionSent.get(socket) === text) continue;
      if (sendText(socket, text)) this.lastPositionSent.set(socket, text);
      else this.lastPositionSent.delete(socket);
    }
  }

  private topMessage(): LiveMessage {
    return { type: "top", campaignId: this.source.campaignId(), positions: this.source.topPositions(LIVE_TOP), asOf: toIso(Date.now()) };
  }

  private positionMessage(userId: string): LiveMessage | undefined {
    const record = this.source.record(Number(userId));
    return record && { type: "position", ...record };
  }
}
