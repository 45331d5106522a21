import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  CITIZEN_ID_HEADER,
  OFFICER_ID_HEADER,
  ZIP_AREA_SOCKET_URL,
  ZIP_HEADER,
} from "../../durable-objects/zip-area/zip-area.ts";
import { zipAreaStub } from "../../durable-objects/zip-area/stub.ts";
import { tokenFor } from "../support/http.ts";
import { uniqueId } from "../support/ids.ts";
import { CitizenSocket, connectCitizen, connectOfficer, OfficerSocket, uniqueZip } from "./support.ts";

const HERE = { lat: 40.7128, lng: -74.006 };

/** Opens a socket route with a valid token plus whatever headers a hostile client adds. */
async function openWith(path: string, userId: string, role: "officer" | "citizen", extra: Record<string, string>): Promise<WebSocket> {
  const token = await tokenFor(userId, [role]);
  const response = await exports.default.fetch(
    new Request(`https://tally.test${path}?token=${token}`, { headers: { Upgrade: "websocket", ...extra } }),
  );
  expect(response.status).toBe(101);
  response.webSocket!.accept();
  return response.webSocket!;
}

describe("a hostile client on the zip area's sockets", () => {
  it("a citizen sending x-tally-officer-id stays a citizen: no officer socket is taken over, no officer is faked", async () => {
    const zip = uniqueZip();
    const officerId = uniqueId();
    const officer = await connectOfficer(zip, officerId);
    await officer.locate(HERE.lat, HERE.lng);

    const attackerId = uniqueId();
    const attacker = new CitizenSocket(
      await openWith(`/nearby/${zip}`, attackerId, "citizen", {
        [OFFICER_ID_HEADER]: officerId,
        [ZIP_HEADER]: "99999",
        "x-tally-user-id": officerId,
      }),
    );
    // A citizen's socket answers a location with the officers list; an officer's would answer `available`.
    const list = await attacker.locate(HERE);
    expect(list.officers.map((o) => o.officerId)).toEqual([officerId]);
    expect(attacker.queued("officers")).toEqual([]);

    // The real officer's socket is still theirs (a takeover closes it with 4001) and still answers.
    expect((await officer.locate(HERE.lat, HERE.lng)).officerId).toBe(officerId);
    const honest = await connectCitizen(zip, uniqueId());
    expect((await honest.locate(HERE)).officers.map((o) => o.officerId)).toEqual([officerId]);
    for (const socket of [officer, attacker, honest]) socket.close();
  });

  it("a citizen sending another citizen's x-tally-citizen-id does not replace that citizen's socket", async () => {
    const zip = uniqueZip();
    const officerId = uniqueId();
    const officer = await connectOfficer(zip, officerId);
    await officer.locate(HERE.lat, HERE.lng);
    const victimId = uniqueId();
    const victim = await connectCitizen(zip, victimId);
    await victim.locate(HERE);

    const attacker = new CitizenSocket(await openWith(`/nearby/${zip}`, uniqueId(), "citizen", { [CITIZEN_ID_HEADER]: victimId }));
    await attacker.locate(HERE);
    // Had the attacker become the victim, the victim's socket would be closed and its location refused.
    const again = await victim.locate(HERE);
    expect(again.officers.map((o) => o.officerId)).toEqual([officerId]);
    expect(victim.queued("error")).toEqual([]);
    attacker.close();
    victim.close();
    officer.close();
  });

  it("an officer sending x-tally-citizen-id or another officer's id opens their own presence, nobody else's", async () => {
    const zip = uniqueZip();
    const victimId = uniqueId();
    const victim = await connectOfficer(zip, victimId);
    await victim.locate(HERE.lat, HERE.lng);
    const meId = uniqueId();
    const me = new OfficerSocket(
      await openWith(`/presence/${zip}`, meId, "officer", { [CITIZEN_ID_HEADER]: uniqueId(), [OFFICER_ID_HEADER]: victimId }),
    );
    expect(await me.next("available")).toMatchObject({ officerId: meId, zip });
    expect((await victim.locate(HERE.lat, HERE.lng)).officerId).toBe(victimId);
    me.close();
    victim.close();
  });

  it("the object refuses an upgrade that claims two roles", async () => {
    const zip = uniqueZip();
    const both = new Headers({ upgrade: "websocket", [OFFICER_ID_HEADER]: uniqueId(), [CITIZEN_ID_HEADER]: uniqueId(), [ZIP_HEADER]: zip });
    const response = await zipAreaStub(env, zip).fetch(new Request(ZIP_AREA_SOCKET_URL, { headers: both }));
    expect(response.status).toBe(400);
    expect(response.webSocket).toBeNull();
    await response.body?.cancel();
  });
});
