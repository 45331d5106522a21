/**
 * Geo math for the officers of one zip area: great-circle distance and a uniform grid index, so a
 * nearby search visits only the cells that the search circle can touch instead of every officer.
 * Plain TypeScript with no runtime bindings, so it is unit-tested and benchmarked on its own.
 */

export interface LatLng {
  lat: number;
  lng: number;
}

export interface Neighbour {
  id: string;
  distanceMeters: number;
}

/** Mean Earth radius (IUGG), the usual choice for haversine. */
export const EARTH_RADIUS_METERS = 6_371_008.8;
const METERS_PER_DEGREE_LAT = (Math.PI * EARTH_RADIUS_METERS) / 180;
const RAD = Math.PI / 180;

/** Great-circle distance in meters between two points (haversine). */
export function haversineMeters(a: LatLng, b: LatLng): number {
  const dLat = (b.lat - a.lat) * RAD;
  const dLng = (b.lng - a.lng) * RAD;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * RAD) * Math.cos(b.lat * RAD) * Math.sin(dLng / 2) ** 2;
  return 2 * EARTH_RADIUS_METERS * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Distances shown to clients are rounded to this many metres, so no answer pins anyone down more finely. */
export const SHOWN_DISTANCE_STEP_METERS = 10;

/** A distance as clients see it: rounded to 10 m. Checks such as the 200 m rule use the exact value. */
export function shownDistance(meters: number): number {
  return Math.round(meters / SHOWN_DISTANCE_STEP_METERS) * SHOWN_DISTANCE_STEP_METERS;
}

/** Officers' positions as clients may learn them: the centre of a cell this many metres on a side. */
export const COARSE_CELL_METERS = 200;

/** Where an officer's coarse grid starts, in metres north and east of the origin: fixed per availability window. */
export interface GridOffset {
  north: number;
  east: number;
}

/** A fresh, unpredictable offset for a new availability window, each part in [0, COARSE_CELL_METERS). */
export function randomGridOffset(): GridOffset {
  const [a, b] = crypto.getRandomValues(new Uint32Array(2));
  return { north: (a! / 2 ** 32) * COARSE_CELL_METERS, east: (b! / 2 ** 32) * COARSE_CELL_METERS };
}

/**
 * The centre of the 200 m cell, on a grid shifted by `offset`, that holds `point`: all a client may
 * learn of where an officer is (the radius filter, shown distances, order and the nearby alert use
 * it), so no number of queries pins the officer down more finely than the cell. The offset is fixed
 * for an availability window and random per window, so cells of one window say nothing of the next.
 * Rows are bands of latitude; within a row, columns are 200 m at the row's centre latitude.
 */
export function coarsePosition(point: LatLng, offset: GridOffset): LatLng {
  const row = Math.floor((point.lat * METERS_PER_DEGREE_LAT - offset.north) / COARSE_CELL_METERS);
  const lat = ((row + 0.5) * COARSE_CELL_METERS + offset.north) / METERS_PER_DEGREE_LAT;
  const metersPerDegreeLng = METERS_PER_DEGREE_LAT * Math.max(Math.cos(lat * RAD), 1e-6);
  const col = Math.floor((point.lng * metersPerDegreeLng - offset.east) / COARSE_CELL_METERS);
  const lng = ((col + 0.5) * COARSE_CELL_METERS + offset.east) / metersPerDegreeLng;
  return { lat: Math.min(90, Math.max(-90, lat)), lng: Math.min(180, Math.max(-180, lng)) };
}

/** Nearest first; equal distances by id, so answers are stable. */
export function byDistance(a: Neighbour, b: Neighbour): number {
  return a.distanceMeters - b.distanceMeters || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/**
 * Every point within `radiusMeters` of `center`, nearest first, by looking at each point: the
 * baseline the grid is measured against, and the fallback where the grid cannot help.
 */
export function scanWithin(points: Iterable<[string, LatLng]>, center: LatLng, radiusMeters: number): Neighbour[] {
  const found: Neighbour[] = [];
  for (const [id, point] of points) {
    const distanceMeters = haversineMeters(center, point);
    if (distanceMeters <= radiusMeters) found.push({ id, distanceMeters });
  }
  return found.sort(byDistance);
}

interface Entry extends LatLng {
  id: string;
  cell: Cell;
}

interface Cell {
  row: number;
  col: number;
  members: Set<Entry>;
}

/**
 * A uniform grid over latitude/longitude: each point sits in the cell of its coordinates, and a
 * search visits the cells of the circle's bounding box only. Cells are `cellDegrees` on a side
 * (the default 0.005° is about 550 m of latitude), small enough that a 1 km search looks at a few
 * dozen cells of a crowded zip. When the box spans more cells than are occupied, the search walks
 * the occupied cells instead, so a wide search never costs much more than a full scan.
 *
 * @example
 * const grid = new GridIndex();
 * grid.upsert("7", { lat: 40.7128, lng: -74.006 });
 * grid.within({ lat: 40.713, lng: -74.0062 }, 1000); // [{ id: "7", distanceMeters: 26.6… }]
 */
export class GridIndex {
  private readonly cells = new Map<number, Cell>();
  private readonly points = new Map<string, Entry>();
  private readonly cellDegrees: number;

  // No parameter properties: the bench runs this file under Node's type stripping.
  constructor(cellDegrees = 0.005) {
    if (!(cellDegrees >= 0.0001 && cellDegrees <= 1)) throw new RangeError("cellDegrees must be within [0.0001, 1]");
    this.cellDegrees = cellDegrees;
  }

  get size(): number {
    return this.points.size;
  }

  get(id: string): LatLng | undefined {
    const entry = this.points.get(id);
    return entry && { lat: entry.lat, lng: entry.lng };
  }

  *entries(): IterableIterator<[string, LatLng]> {
    for (const [id, entry] of this.points) yield [id, entry];
  }

  upsert(id: string, point: LatLng): void {
    const row = Math.floor(point.lat / this.cellDegrees);
    const col = Math.floor(point.lng / this.cellDegrees);
    const entry = this.points.get(id);
    if (entry && entry.cell.row === row && entry.cell.col === col) {
      entry.lat = point.lat;
      entry.lng = point.lng;
      return;
    }
    if (entry) this.leave(entry);
    const key = cellKey(row, col);
    let cell = this.cells.get(key);
    if (!cell) this.cells.set(key, (cell = { row, col, members: new Set() }));
    const moved: Entry = { id, lat: point.lat, lng: point.lng, cell };
    cell.members.add(moved);
    this.points.set(id, moved);
  }

  remove(id: string): boolean {
    const entry = this.points.get(id);
    if (!entry) return false;
    this.leave(entry);
    this.points.delete(id);
    return true;
  }

  /** Every point within `radiusMeters` of `center`, nearest first. */
  within(center: LatLng, radiusMeters: number): Neighbour[] {
    const box = boundingBox(center, radiusMeters);
    // Near a pole or across the antimeridian the box stops being a rectangle of cells.
    if (!box) return scanWithin(this.entries(), center, radiusMeters);
    const row0 = Math.floor(box.south / this.cellDegrees);
    const row1 = Math.floor(box.north / this.cellDegrees);
    const col0 = Math.floor(box.west / this.cellDegrees);
    const col1 = Math.floor(box.east / this.cellDegrees);
    const found: Neighbour[] = [];
    const collect = (cell: Cell) => {
      for (const entry of cell.members) {
        // Cells overhang the box; comparisons are cheaper than the trigonometry.
        if (entry.lat < box.south || entry.lat > box.north || entry.lng < box.west || entry.lng > box.east) continue;
        const distanceMeters = haversineMeters(center, entry);
        if (distanceMeters <= radiusMeters) found.push({ id: entry.id, distanceMeters });
      }
    };
    if ((row1 - row0 + 1) * (col1 - col0 + 1) <= this.cells.size) {
      for (let row = row0; row <= row1; row++) {
        for (let col = col0; col <= col1; col++) {
          const cell = this.cells.get(cellKey(row, col));
          if (cell) collect(cell);
        }
      }
    } else {
      for (const cell of this.cells.values()) {
        if (cell.row >= row0 && cell.row <= row1 && cell.col >= col0 && cell.col <= col1) collect(cell);
      }
    }
    return found.sort(byDistance);
  }

  private leave(entry: Entry): void {
    entry.cell.members.delete(entry);
    if (entry.cell.members.size === 0) this.cells.delete(cellKey(entry.cell.row, entry.cell.col));
  }
}

/** A number per cell (rows and columns of cells down to ~1e-4° fit below 2^53), cheaper to hash than a string. */
function cellKey(row: number, col: number): number {
  return (row + 2_000_000) * 4_000_000 + (col + 2_000_000);
}

/**
 * The latitude/longitude rectangle that contains the circle, or undefined when it would reach a
 * pole or cross the antimeridian.
 */
export function boundingBox(
  center: LatLng,
  radiusMeters: number,
): { south: number; north: number; west: number; east: number } | undefined {
  // A hair wider than the circle, so a point right on its edge is not lost to rounding.
  const reach = radiusMeters * 1.000_001 + 0.01;
  const dLat = reach / METERS_PER_DEGREE_LAT;
  const south = center.lat - dLat;
  const north = center.lat + dLat;
  if (south <= -90 || north >= 90) return undefined;
  // The widest part of the circle is at the latitude closest to a pole.
  const widestLat = Math.max(Math.abs(south), Math.abs(north));
  const dLng = reach / (METERS_PER_DEGREE_LAT * Math.cos(widestLat * RAD));
  const west = center.lng - dLng;
  const east = center.lng + dLng;
  if (west < -180 || east > 180) return undefined;
  return { south, north, west, east };
}
