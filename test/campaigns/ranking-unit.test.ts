import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compareRankEntries, Ranking, type RankEntry } from "../../durable-objects/campaign-board/ranking.ts";

/** The obvious implementation the treap must agree with: a sorted array, re-sorted on every change. */
class NaiveRanking {
  private entries: RankEntry[] = [];

  get size(): number {
    return this.entries.length;
  }

  upsert(userId: number, total: number, reachedAt: number): void {
    this.entries = this.entries.filter((entry) => entry.userId !== userId);
    this.entries.push({ userId, total, reachedAt });
    this.entries.sort(compareRankEntries);
  }

  remove(userId: number): boolean {
    const before = this.entries.length;
    this.entries = this.entries.filter((entry) => entry.userId !== userId);
    return this.entries.length < before;
  }

  get(userId: number): RankEntry | undefined {
    return this.entries.find((entry) => entry.userId === userId);
  }

  position(userId: number): number {
    return this.entries.findIndex((entry) => entry.userId === userId);
  }

  top(n: number): RankEntry[] {
    return this.entries.slice(0, Math.max(0, n));
  }

  at(position: number): RankEntry | undefined {
    return this.entries[position];
  }

  slice(start: number, n: number): RankEntry[] {
    const first = Math.max(0, start);
    return this.entries.slice(first, first + Math.max(0, n));
  }
}

const entry = (userId: number, total: number, reachedAt: number): RankEntry => ({ userId, total, reachedAt });

function idsInOrder(ranking: Ranking): number[] {
  return ranking.top(ranking.size).map((e) => e.userId);
}

describe("Ranking", () => {
  it("orders by total descending", () => {
    const ranking = new Ranking();
    ranking.upsert(1, 100, 10);
    ranking.upsert(2, 300, 30);
    ranking.upsert(3, 200, 20);
    expect(idsInOrder(ranking)).toEqual([2, 3, 1]);
    expect([1, 2, 3].map((id) => ranking.position(id))).toEqual([2, 0, 1]);
  });

  it("breaks equal totals by who reached the total first, then by the smaller userId", () => {
    const ranking = new Ranking();
    ranking.upsert(9, 500, 2_000);
    ranking.upsert(5, 500, 1_000);
    ranking.upsert(7, 500, 2_000);
    ranking.upsert(3, 500, 3_000);
    expect(idsInOrder(ranking)).toEqual([5, 7, 9, 3]);
  });

  it("counts a total of 0 and totals beyond 32 bits", () => {
    const ranking = new Ranking();
    ranking.upsert(1, 0, 1);
    ranking.upsert(2, Number.MAX_SAFE_INTEGER, 1);
    ranking.upsert(3, 2 ** 40, 1);
    expect(idsInOrder(ranking)).toEqual([2, 3, 1]);
  });

  it("moves a user up and down when the total changes", () => {
    const ranking = new Ranking();
    for (let id = 1; id <= 5; id++) ranking.upsert(id, id * 100, id);
    expect(ranking.position(1)).toBe(4);
    ranking.upsert(1, 1_000, 50);
    expect(ranking.position(1)).toBe(0);
    expect(ranking.position(5)).toBe(1);
    ranking.upsert(1, 50, 60);
    expect(ranking.position(1)).toBe(4);
    expect(ranking.get(1)).toEqual(entry(1, 50, 60));
    expect(ranking.size).toBe(5);
  });

  it("moves a user within a tie when only reachedAt changes", () => {
    const ranking = new Ranking();
    ranking.upsert(1, 100, 10);
    ranking.upsert(2, 100, 20);
    ranking.upsert(2, 100, 5);
    expect(idsInOrder(ranking)).toEqual([2, 1]);
  });

  it("removes a user and reports whether there was one", () => {
    const ranking = new Ranking();
    ranking.upsert(1, 100, 1);
    ranking.upsert(2, 200, 1);
    expect(ranking.remove(2)).toBe(true);
    expect(ranking.remove(2)).toBe(false);
    expect(ranking.size).toBe(1);
    expect(ranking.position(1)).toBe(0);
    expect(ranking.get(2)).toBeUndefined();
  });

  it("answers -1 for the position of a user with no entry", () => {
    const ranking = new Ranking();
    expect(ranking.position(42)).toBe(-1);
    ranking.upsert(1, 100, 1);
    expect(ranking.position(42)).toBe(-1);
  });

  it("returns every entry when top asks for more than there are", () => {
    const ranking = new Ranking();
    expect(ranking.top(100)).toEqual([]);
    ranking.upsert(1, 100, 1);
    ranking.upsert(2, 200, 2);
    expect(ranking.top(100)).toEqual([entry(2, 200, 2), entry(1, 100, 1)]);
    expect(ranking.top(0)).toEqual([]);
    expect(ranking.top(-3)).toEqual([]);
    expect(ranking.top(1)).toEqual([entry(2, 200, 2)]);
  });

  it("slices a run of positions from any start, stopping at the end", () => {
    const ranking = Ranking.from(Array.from({ length: 20 }, (_, i) => entry(i + 1, 100 - i, 0)));
    expect(ranking.slice(5, 3).map((e) => e.userId)).toEqual([6, 7, 8]);
    expect(ranking.slice(18, 5).map((e) => e.userId)).toEqual([19, 20]);
    expect(ranking.slice(0, 1).map((e) => e.userId)).toEqual([1]);
    expect(ranking.slice(20, 5)).toEqual([]);
    expect(ranking.slice(3, 0)).toEqual([]);
  });

  it("selects an entry by position and answers undefined outside the board", () => {
    const ranking = new Ranking();
    ranking.upsert(1, 100, 1);
    ranking.upsert(2, 200, 2);
    ranking.upsert(3, 300, 3);
    expect(ranking.at(0)).toEqual(entry(3, 300, 3));
    expect(ranking.at(2)).toEqual(entry(1, 100, 1));
    expect(ranking.at(3)).toBeUndefined();
    expect(ranking.at(-1)).toBeUndefined();
    expect(ranking.at(0.5)).toBeUndefined();
  });

  it("keeps userIds beyond 32 bits apart", () => {
    const ranking = new Ranking();
    ranking.upsert(1, 10, 1);
    ranking.upsert(2 ** 32 + 1, 20, 1);
    ranking.upsert(Number.MAX_SAFE_INTEGER, 30, 1);
    expect(ranking.position(1)).toBe(2);
    expect(ranking.position(2 ** 32 + 1)).toBe(1);
    expect(ranking.get(Number.MAX_SAFE_INTEGER)).toEqual(entry(Number.MAX_SAFE_INTEGER, 30, 1));
  });

  it("rejects ids and keys that would break the order", () => {
    const ranking = new Ranking();
    expect(() => ranking.upsert(-1, 1, 1)).toThrow(RangeError);
    expect(() => ranking.upsert(1.5, 1, 1)).toThrow(RangeError);
    expect(() => ranking.upsert(1, Number.NaN, 1)).toThrow(RangeError);
    expect(() => ranking.upsert(1, 1, Number.POSITIVE_INFINITY)).toThrow(RangeError);
    expect(ranking.size).toBe(0);
  });

  it("grows past its initial capacity, reusing removed slots", () => {
    const ranking = new Ranking(1);
    for (let id = 0; id < 5_000; id++) ranking.upsert(id, id % 97, id);
    for (let id = 0; id < 5_000; id += 3) ranking.remove(id);
    for (let id = 5_000; id < 6_000; id++) ranking.upsert(id, id % 97, id);
    const model = new NaiveRanking();
    for (let id = 0; id < 6_000; id++) if (id >= 5_000 || id % 3 !== 0) model.upsert(id, id % 97, id);
    expect(ranking.size).toBe(model.size);
    expect(ranking.top(ranking.size)).toEqual(model.top(model.size));
    for (let id = 0; id < 6_000; id += 7) expect(ranking.position(id)).toBe(model.position(id));
  });

  describe("fromSorted", () => {
    const users = Array.from({ length: 2_000 }, (_, i) => entry(i * 13 + 2 ** 33 * (i % 2), (i * 7_919) % 50, (i * 31) % 5));
    const sorted = [...users].sort(compareRankEntries);

    it("builds the same board as inserting one by one", () => {
      const incremental = new Ranking();
      for (const user of users) incremental.upsert(user.userId, user.total, user.reachedAt);
      const built = Ranking.fromSorted(sorted);
      expect(built.size).toBe(incremental.size);
      expect(built.top(built.size)).toEqual(incremental.top(incremental.size));
      for (const user of users) expect(built.position(user.userId)).toBe(incremental.position(user.userId));
      for (let k = 0; k < sorted.length; k += 37) expect(built.at(k)).toEqual(sorted[k]);
    });

    it("takes an iterable and reads at most count entries", () => {
      const fromIterable = Ranking.fromSorted(sorted.values());
      expect(fromIterable.top(fromIterable.size)).toEqual(sorted);
      const firstTen = Ranking.fromSorted(sorted.values(), 10);
      expect(firstTen.top(100)).toEqual(sorted.slice(0, 10));
      expect(Ranking.fromSorted(sorted, 10).top(100)).toEqual(sorted.slice(0, 10));
      expect(Ranking.fromSorted([]).size).toBe(0);
    });

    it("stays updatable after the build, past its capacity", () => {
      const built = Ranking.fromSorted(sorted);
      const model = new NaiveRanking();
      for (const user of sorted) model.upsert(user.userId, user.total, user.reachedAt);
      for (let id = 0; id < 1_000; id++) {
        built.upsert(10 ** 9 + id, id % 60, id);
        model.upsert(10 ** 9 + id, id % 60, id);
      }
      built.remove(sorted[0]!.userId);
      model.remove(sorted[0]!.userId);
      expect(built.top(built.size)).toEqual(model.top(model.size));
    });

    it("rejects entries out of order or a repeated userId", () => {
      expect(() => Ranking.fromSorted([entry(1, 10, 1), entry(2, 20, 1)])).toThrow(RangeError);
      expect(() => Ranking.fromSorted([entry(1, 10, 2), entry(2, 10, 1)])).toThrow(RangeError);
      expect(() => Ranking.fromSorted([entry(1, 10, 1), entry(1, 10, 1)])).toThrow(RangeError);
      expect(() => Ranking.fromSorted([entry(1, 20, 1), entry(1, 10, 1)])).toThrow(RangeError);
    });
  });

  it("from sorts unsorted entries first", () => {
    const ranking = Ranking.from([entry(1, 10, 1), entry(2, 30, 1), entry(3, 20, 1)]);
    expect(idsInOrder(ranking)).toEqual([2, 3, 1]);
  });

  describe("against a naive sorted array", () => {
    // Few users, totals and times, so that equal totals, equal reachedAt and re-upserts are common.
    const userId = fc.oneof(
      { weight: 9, arbitrary: fc.integer({ min: 0, max: 40 }) },
      { weight: 1, arbitrary: fc.constantFrom(2 ** 32, 2 ** 32 + 40, Number.MAX_SAFE_INTEGER) },
    );
    const operation = fc.oneof(
      {
        weight: 6,
        arbitrary: fc.record({
          kind: fc.constant("upsert" as const),
          userId,
          total: fc.integer({ min: 0, max: 8 }),
          reachedAt: fc.integer({ min: 0, max: 4 }),
        }),
      },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant("remove" as const), userId }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant("get" as const), userId }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant("position" as const), userId }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant("top" as const), n: fc.integer({ min: -1, max: 50 }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant("at" as const), position: fc.integer({ min: -1, max: 50 }) }) },
      {
        weight: 2,
        arbitrary: fc.record({ kind: fc.constant("slice" as const), start: fc.integer({ min: -1, max: 50 }), n: fc.integer({ min: -1, max: 50 }) }),
      },
    );
    type Operation = typeof operation extends fc.Arbitrary<infer T> ? T : never;

    function replay(ranking: Ranking, model: NaiveRanking, operations: Operation[]): void {
      for (const op of operations) {
        switch (op.kind) {
          case "upsert":
            ranking.upsert(op.userId, op.total, op.reachedAt);
            model.upsert(op.userId, op.total, op.reachedAt);
            break;
          case "remove":
            expect(ranking.remove(op.userId)).toBe(model.remove(op.userId));
            break;
          case "get":
            expect(ranking.get(op.userId)).toEqual(model.get(op.userId));
            break;
          case "position":
            expect(ranking.position(op.userId)).toBe(model.position(op.userId));
            break;
          case "top":
            expect(ranking.top(op.n)).toEqual(model.top(op.n));
            break;
          case "at":
            expect(ranking.at(op.position)).toEqual(model.at(op.position));
            break;
          case "slice":
            expect(ranking.slice(op.start, op.n)).toEqual(model.slice(op.start, op.n));
            break;
        }
        expect(ranking.size).toBe(model.size);
      }
      const all = model.top(model.size);
      expect(ranking.top(ranking.size)).toEqual(all);
      all.forEach((e, i) => {
        expect(ranking.position(e.userId)).toBe(i);
        expect(ranking.at(i)).toEqual(e);
        expect(ranking.slice(i, 3)).toEqual(model.slice(i, 3));
      });
    }

    it("agrees on every operation of random sequences", () => {
      fc.assert(
        fc.property(fc.array(operation, { maxLength: 200 }), (operations) => {
          // Capacity 1 forces growth and free-slot reuse inside short sequences.
          replay(new Ranking(1), new NaiveRanking(), operations);
        }),
        { numRuns: 300 },
      );
    });

    it("agrees after a fromSorted build followed by random operations", () => {
      const start = fc.uniqueArray(
        fc.record({ userId, total: fc.integer({ min: 0, max: 8 }), reachedAt: fc.integer({ min: 0, max: 4 }) }),
        { selector: (e) => e.userId, maxLength: 45 },
      );
      fc.assert(
        fc.property(start, fc.array(operation, { maxLength: 100 }), (entries, operations) => {
          const sorted = [...entries].sort(compareRankEntries);
          const model = new NaiveRanking();
          for (const e of sorted) model.upsert(e.userId, e.total, e.reachedAt);
          replay(Ranking.fromSorted(sorted), model, operations);
        }),
        { numRuns: 200 },
      );
    });
  });
});
