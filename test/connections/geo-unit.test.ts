import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { GridIndex, boundingBox, haversineMeters, scanWithin } from "../../durable-objects/zip-area/geo.ts";

describe("haversineMeters", () => {
  it("measures known distances", () => {
    // Paris (Notre-Dame) to London (Charing Cross): about 343.5 km.
    expect(haversineMeters({ lat: 48.853, lng: 2.3499 }, { lat: 51.5073, lng: -0.1277 }) / 1000).toBeCloseTo(343.5, 0);
    // One degree of latitude is about 111.2 km everywhere.
    expect(haversineMeters({ lat: 10, lng: 20 }, { lat: 11, lng: 20 })).toBeCloseTo(111_195, -1);
    // One degree of longitude shrinks with cos(latitude).
    expect(haversineMeters({ lat: 60, lng: 0 }, { lat: 60, lng: 1 })).toBeCloseTo(55_597, -1);
    expect(haversineMeters({ lat: 40, lng: -74 }, { lat: 40, lng: -74 })).toBe(0);
  });

  it("is symmetric", () => {
    const a = { lat: 40.7128, lng: -74.006 };
    const b = { lat: 40.73, lng: -73.99 };
    expect(haversineMeters(a, b)).toBe(haversineMeters(b, a));
  });
});

describe("boundingBox", () => {
  it("contains the circle and gives up at the poles and the antimeridian", () => {
    const box = boundingBox({ lat: 40, lng: -74 }, 1000)!;
    expect(haversineMeters({ lat: 40, lng: -74 }, { lat: box.north, lng: -74 })).toBeGreaterThanOrEqual(1000);
    expect(haversineMeters({ lat: 40, lng: -74 }, { lat: 40, lng: box.east })).toBeGreaterThanOrEqual(1000);
    expect(boundingBox({ lat: 89.999, lng: 0 }, 1000)).toBeUndefined();
    expect(boundingBox({ lat: 0, lng: 179.999 }, 1000)).toBeUndefined();
  });
});

describe("GridIndex", () => {
  it("finds the points within the radius, nearest first, and follows moves and removals", () => {
    const grid = new GridIndex();
    grid.upsert("near", { lat: 40.7129, lng: -74.006 });
    grid.upsert("mid", { lat: 40.716, lng: -74.006 });
    grid.upsert("far", { lat: 40.76, lng: -74.006 });
    const center = { lat: 40.7128, lng: -74.006 };
    expect(grid.within(center, 1000).map((n) => n.id)).toEqual(["near", "mid"]);

    grid.upsert("far", { lat: 40.7128, lng: -74.006 });
    expect(grid.within(center, 1000).map((n) => n.id)).toEqual(["far", "near", "mid"]);
    expect(grid.remove("near")).toBe(true);
    expect(grid.remove("near")).toBe(false);
    expect(grid.within(center, 1000).map((n) => n.id)).toEqual(["far", "mid"]);
    expect(grid.size).toBe(2);
  });

  it("breaks distance ties by id", () => {
    const grid = new GridIndex();
    for (const id of ["b", "a", "c"]) grid.upsert(id, { lat: 1, lng: 1 });
    expect(grid.within({ lat: 1, lng: 1 }, 10).map((n) => n.id)).toEqual(["a", "b", "c"]);
  });

  it("answers exactly what a full scan answers, anywhere on Earth", () => {
    const point = fc.record({
      lat: fc.double({ min: -89.9, max: 89.9, noNaN: true }),
      lng: fc.double({ min: -179.9, max: 179.9, noNaN: true }),
    });
    fc.assert(
      fc.property(
        point,
        fc.array(fc.tuple(fc.double({ min: -0.2, max: 0.2, noNaN: true }), fc.double({ min: -0.2, max: 0.2, noNaN: true })), {
          maxLength: 200,
        }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.double({ min: 0.001, max: 0.05, noNaN: true }),
        (center, offsets, radius, cellDegrees) => {
          const grid = new GridIndex(cellDegrees);
          const points = new Map<string, { lat: number; lng: number }>();
          offsets.forEach(([dLat, dLng], i) => {
            const at = {
              lat: Math.max(-90, Math.min(90, center.lat + dLat)),
              lng: Math.max(-180, Math.min(180, center.lng + dLng)),
            };
            points.set(String(i), at);
            grid.upsert(String(i), at);
          });
          expect(grid.within(center, radius)).toEqual(scanWithin(points.entries(), center, radius));
        },
      ),
      { numRuns: 300 },
    );
  });
});
