import { describe, expect, it } from "vitest";
import { COARSE_CELL_METERS, coarsePosition, haversineMeters, type LatLng } from "../../durable-objects/zip-area/geo.ts";
import { callJson, tokenFor } from "../support/http.ts";
import { uniqueId } from "../support/ids.ts";
import { connectOfficer, gridOffsetOf, uniqueZip } from "./support.ts";

const HERE = { lat: 40.7128, lng: -74.006 };
const METERS_PER_DEGREE = 111_194.9;
const COS = Math.cos((HERE.lat * Math.PI) / 180);

/** Local plane around HERE, in metres (east, north): exact enough over a few kilometres. */
const toLatLng = (p: { x: number; y: number }): LatLng => ({ lat: HERE.lat + p.y / METERS_PER_DEGREE, lng: HERE.lng + p.x / (METERS_PER_DEGREE * COS) });

/** The point whose distances to three known points are d1, d2, d3 (the circles' radical centre). */
function trilaterate(probes: Array<{ x: number; y: number; d: number }>): { x: number; y: number } {
  const [p1, p2, p3] = probes as [(typeof probes)[0], (typeof probes)[0], (typeof probes)[0]];
  const row = (q: typeof p1) => ({
    a: 2 * (q.x - p1.x),
    b: 2 * (q.y - p1.y),
    c: p1.d ** 2 - q.d ** 2 - p1.x ** 2 + q.x ** 2 - p1.y ** 2 + q.y ** 2,
  });
  const [r2, r3] = [row(p2), row(p3)];
  const det = r2.a * r3.b - r2.b * r3.a;
  return { x: (r2.c * r3.b - r2.b * r3.c) / det, y: (r2.a * r3.c - r2.c * r3.a) / det };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

describe("officers' positions stay coarse", () => {
  it("binary-searching the radius from three points over the HTTP API recovers each officer's 200 m cell, not the officer", async () => {
    const zip = uniqueZip();
    const officers: Array<{ id: string; exact: LatLng; cell: LatLng }> = [];
    for (let n = 0; n < 3; n += 1) {
      const id = uniqueId();
      const socket = await connectOfficer(zip, id);
      const offset = await gridOffsetOf(zip, id);
      // Anywhere within 300 m of HERE, but not within 40 m of the centre of its cell (where the
      // cell itself would give the officer away): the test is whether the attack learns more than the cell.
      let exact: LatLng;
      do exact = toLatLng({ x: (Math.random() - 0.5) * 600, y: (Math.random() - 0.5) * 600 });
      while (haversineMeters(exact, coarsePosition(exact, offset)) < 40);
      await socket.locate(exact.lat, exact.lng);
      officers.push({ id, exact, cell: coarsePosition(exact, offset) });
    }

    // The attacker: three spots around the area, a fresh citizen token per search (under the per-token limit).
    const spots = [
      { x: 0, y: -900 },
      { x: 900, y: 500 },
      { x: -900, y: 500 },
    ];
    const found = async (token: string, spot: { x: number; y: number }, radius: number, officerId: string) => {
      const at = toLatLng(spot);
      const { status, body } = await callJson("GET", `/officers/nearby?zip=${zip}&lat=${at.lat}&lng=${at.lng}&radius=${radius}`, { token });
      expect(status).toBe(200);
      return (body.officers as Array<{ officerId: string }>).some((o) => o.officerId === officerId);
    };
    const errorsToOfficer: number[] = [];
    for (const officer of officers) {
      const probes = [];
      for (const spot of spots) {
        const token = await tokenFor(uniqueId(), ["citizen"]);
        let [lo, hi] = [1, 3000];
        expect(await found(token, spot, hi, officer.id)).toBe(true);
        while (lo < hi) {
          const mid = Math.floor((lo + hi) / 2);
          if (await found(token, spot, mid, officer.id)) hi = mid;
          else lo = mid + 1;
        }
        probes.push({ ...spot, d: lo - 0.5 });
      }
      const estimate = toLatLng(trilaterate(probes));
      // The attack works (to a few metres)… on the centre of the officer's cell.
      expect(haversineMeters(estimate, officer.cell)).toBeLessThan(5);
      errorsToOfficer.push(haversineMeters(estimate, officer.exact));
    }
    expect(median(errorsToOfficer)).toBeGreaterThanOrEqual(30);
    // No estimate is further from its officer than a cell's half-diagonal (plus the search's slack).
    for (const error of errorsToOfficer) expect(error).toBeLessThan((COARSE_CELL_METERS / Math.SQRT2) * 1.05 + 5);
  });
});
