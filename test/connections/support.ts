import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { userStub } from "../../durable-objects/user/stub.ts";
import { coarsePosition, haversineMeters, shownDistance, type GridOffset, type LatLng } from "../../durable-objects/zip-area/geo.ts";
import { zipAreaStub } from "../../durable-objects/zip-area/stub.ts";
import type {
  CitizenMessage,
  CitizenServerMessage,
  OfficerMessage,
  ServerMessage,
} from "../../durable-objects/zip-area/socket-messages.ts";
import { callJson, tokenFor } from "../support/http.ts";
import { uniqueId } from "../support/ids.ts";

type Of<M, T> = Extract<M, { type: T }>;

/** An app on one of the zip area's sockets: sends messages and waits for the server's. */
export class SocketClient<In extends { type: string }> {
  private readonly inbox: In[] = [];
  private waiters: Array<() => void> = [];
  /** When each message arrived (ms, this isolate's clock), in order. */
  readonly arrivals: number[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(readonly ws: WebSocket) {
    ws.addEventListener("message", (event) => {
      this.arrivals.push(performance.now());
      this.inbox.push(JSON.parse(String(event.data)) as In);
      this.wake();
    });
    this.closed = new Promise((resolve) => {
      ws.addEventListener("close", (event) => resolve({ code: event.code, reason: event.reason }));
    });
  }

  send(message: object | string): void {
    this.ws.send(typeof message === "string" ? message : JSON.stringify(message));
  }

  /** The next message of this type not taken yet (earlier messages of other types stay queued). */
  async next<T extends In["type"]>(type: T, timeoutMs = 5_000): Promise<Of<In, T>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.inbox.findIndex((message) => message.type === type);
      if (index >= 0) return this.inbox.splice(index, 1)[0] as Of<In, T>;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${type} message within ${timeoutMs} ms; inbox: ${JSON.stringify(this.inbox)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Messages of this type received and not taken yet. */
  queued<T extends In["type"]>(type: T): Array<Of<In, T>> {
    return this.inbox.filter((message) => message.type === type) as Array<Of<In, T>>;
  }

  close(): void {
    this.ws.close(1000, "done");
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

/** An officer's app on the presence socket. */
export class OfficerSocket extends SocketClient<ServerMessage> {
  override send(message: OfficerMessage | Record<string, unknown> | string): void {
    super.send(message);
  }

  /** Sends a location and waits until the object has stored it. */
  async locate(lat: number, lng: number): Promise<Of<ServerMessage, "available">> {
    this.send({ type: "location", lat, lng });
    return this.next("available");
  }
}

/** A citizen's app on the nearby socket. */
export class CitizenSocket extends SocketClient<CitizenServerMessage> {
  override send(message: CitizenMessage | Record<string, unknown> | string): void {
    super.send(message);
  }

  /** Sends a location and waits for the officers list that answers it. */
  async locate(at: { lat: number; lng: number }, radius?: number): Promise<Of<CitizenServerMessage, "officers">> {
    this.send(radius === undefined ? { type: "location", ...at } : { type: "location", ...at, radius });
    return this.next("officers");
  }
}

/** Opens a WebSocket route the way an app does; throws unless the answer is 101. */
async function openSocket(path: string, userId: string, role: "officer" | "citizen"): Promise<WebSocket> {
  const token = await tokenFor(userId, [role]);
  const response = await exports.default.fetch(
    new Request(`https://tally.test${path}?token=${token}`, { headers: { Upgrade: "websocket" } }),
  );
  if (response.status !== 101 || !response.webSocket) {
    throw new Error(`${path} socket refused: ${response.status} ${await response.text()}`);
  }
  response.webSocket.accept();
  return response.webSocket;
}

/** Opens a citizen's nearby socket in `zip`. */
export async function connectCitizen(zip: string, citizenId: string): Promise<CitizenSocket> {
  return new CitizenSocket(await openSocket(`/nearby/${zip}`, citizenId, "citizen"));
}

/** Opens an officer's presence socket in `zip` the way an app does, and waits for `available`. */
export async function connectOfficer(zip: string, officerId: string): Promise<OfficerSocket> {
  const socket = new OfficerSocket(await openSocket(`/presence/${zip}`, officerId, "officer"));
  await socket.next("available");
  return socket;
}

/** A citizen asks an officer to connect; returns the request id. */
export async function requestConnection(
  citizenId: string,
  body: { officerId: string; zip: string; lat: number; lng: number; requestId?: string },
): Promise<string> {
  const { status, body: answer } = await callJson("POST", "/connections", {
    token: await tokenFor(citizenId, ["citizen"]),
    body,
  });
  if (status !== 202) throw new Error(`connection request refused: ${status} ${JSON.stringify(answer)}`);
  return answer.requestId as string;
}

export async function pointsOf(userId: string): Promise<number> {
  return (await userStub(env, userId).walletView()).points;
}

/** Gives a user points through the wallet's real credit RPC, as an established connection would. */
export async function fund(userId: string, points: number): Promise<void> {
  const result = await userStub(env, userId).credit({ ref: `test-funding:${crypto.randomUUID()}`, reason: "test", points });
  if (!result.ok) throw new Error(`funding ${userId} failed: ${result.detail}`);
}

/** A point `meters` north of another (1° of latitude is about 111.2 km). */
export function north(point: { lat: number; lng: number }, meters: number): { lat: number; lng: number } {
  return { lat: point.lat + meters / 111_195, lng: point.lng };
}

export function uniqueZip(): string {
  return `Z${uniqueId()}`;
}

/** The grid offset of an officer's current availability window, as the zip area stored it. */
export async function gridOffsetOf(zip: string, officerId: string): Promise<GridOffset> {
  const row = await runInDurableObject(zipAreaStub(env, zip), (_instance, state) =>
    state.storage.sql
      .exec<{ grid_north: number; grid_east: number }>("SELECT grid_north, grid_east FROM officers WHERE officer_id = ?", officerId)
      .one(),
  );
  return { north: row.grid_north, east: row.grid_east };
}

/** Where clients may see an officer standing at `at` in this window: the centre of their 200 m cell. */
export async function coarseAt(zip: string, officerId: string, at: LatLng): Promise<LatLng> {
  return coarsePosition(at, await gridOffsetOf(zip, officerId));
}

/** The distance a citizen at `from` is shown to an officer whose coarse position is `coarse` (rounded to 10 m). */
export function shownFrom(from: LatLng, coarse: LatLng): number {
  return shownDistance(haversineMeters(from, coarse));
}
