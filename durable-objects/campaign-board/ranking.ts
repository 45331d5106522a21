/**
 * The leaderboard of one campaign: an order-statistic treap kept in typed arrays.
 *
 * A campaign can have a million users, and the board must answer position and top-n in microseconds
 * and fit a Durable Object's 128 MB. A tree of JS objects plus a `Map` costs well over 100 bytes a
 * user; here every node is a row across six typed arrays (36 bytes) and the userId → node index is
 * an open-addressing table of node numbers (8 bytes a node at load ≤ ½), so a million users take
 * about 50 MB and the garbage collector has almost nothing to trace.
 *
 * Node 0 is the nil node: its size stays 0, so `sizes[lefts[t]]` needs no branch. A node's treap
 * priority is a hash of its index rather than a stored random number, which saves a column and
 * still gives the expected O(log n) depth, because the hash is unrelated to the ranking order.
 *
 * Typed-array reads carry `!`: under `noUncheckedIndexedAccess` they type as `number | undefined`,
 * but every index used here is a node number below the arrays' length.
 */

/**
 * One user's standing. `userId` is a non-negative safe integer; `total` is integer minor units (may
 * be 0 or large, safe integer); `reachedAt` is epoch ms (event time of the purchase that brought the
 * user to this total).
 */
export interface RankEntry {
  userId: number;
  total: number;
  reachedAt: number;
}

const NIL = 0;
const DEFAULT_CAPACITY = 1024;
const MIN_CAPACITY = 16;
/** 1.5× rather than 2×: at a million users a doubling would take the board past its memory budget. */
const GROWTH = 1.5;
const TWO_POW_32 = 4294967296;

/**
 * lowbias32 (Chris Wellons): a bijection on 32-bit integers, so two nodes never share a priority
 * and the heap order needs no tie-break.
 */
function mix32(value: number): number {
  let x = value | 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

function priority(node: number): number {
  return mix32(node);
}

function hashUserId(userId: number): number {
  // userId may exceed 32 bits: fold the high word in before mixing.
  const high = (userId / TWO_POW_32) >>> 0;
  return mix32((userId >>> 0) ^ Math.imul(high, 0x9e3779b1));
}

function isArrayLike<T>(entries: ArrayLike<T> | Iterable<T>): entries is ArrayLike<T> {
  return typeof (entries as ArrayLike<T>).length === "number";
}

function checkEntry(userId: number, total: number, reachedAt: number): void {
  // A NaN or fractional key would silently break the tree's order, so reject it at the door.
  if (!Number.isSafeInteger(userId) || userId < 0) {
    throw new RangeError(`userId must be a non-negative safe integer, got ${userId}`);
  }
  if (!Number.isSafeInteger(total)) throw new RangeError(`total must be a safe integer, got ${total}`);
  if (!Number.isSafeInteger(reachedAt)) {
    throw new RangeError(`reachedAt must be a safe integer (epoch ms), got ${reachedAt}`);
  }
}

/**
 * Order: higher `total` first; on equal totals the smaller `reachedAt` (reached it first); then the
 * smaller `userId`. Negative when `a` ranks before `b`.
 */
export function compareRankEntries(a: RankEntry, b: RankEntry): number {
  if (a.total !== b.total) return a.total > b.total ? -1 : 1;
  if (a.reachedAt !== b.reachedAt) return a.reachedAt < b.reachedAt ? -1 : 1;
  return a.userId === b.userId ? 0 : a.userId < b.userId ? -1 : 1;
}

/**
 * An order-statistic set of users in ranking order (see {@link compareRankEntries}), one entry per
 * user: O(log n) update, position and selection, O(log n + k) for the top k.
 *
 * @example
 * const ranking = new Ranking();
 * ranking.upsert(42, 1250, Date.parse("2026-11-22T10:15:00Z"));
 * ranking.position(42); // 0
 * ranking.top(100);     // [{ userId: 42, total: 1250, reachedAt: ... }]
 */
export class Ranking {
  private totals: Float64Array;
  private reachedAts: Float64Array;
  private userIds: Float64Array;
  private lefts: Int32Array;
  /** Also the free list's `next` link for removed nodes. */
  private rights: Int32Array;
  private sizes: Int32Array;
  /** userId → node, linear probing; 0 marks an empty slot. */
  private slots: Int32Array;
  private capacity: number;
  private root = NIL;
  private count = 0;
  /** The lowest node index never handed out. */
  private nextFresh = 1;
  private freeHead = NIL;
  /** Scratch stack for paths and traversals; the treap's depth is O(log n), so it rarely grows. */
  private stack = new Int32Array(64);

  /** @param initialCapacity users to make room for before the arrays first grow. */
  constructor(initialCapacity: number = DEFAULT_CAPACITY) {
    const capacity = Math.max(MIN_CAPACITY, Math.ceil(Number.isFinite(initialCapacity) ? initialCapacity : 0));
    this.capacity = capacity;
    this.totals = new Float64Array(capacity + 1);
    this.reachedAts = new Float64Array(capacity + 1);
    this.userIds = new Float64Array(capacity + 1);
    this.lefts = new Int32Array(capacity + 1);
    this.rights = new Int32Array(capacity + 1);
    this.sizes = new Int32Array(capacity + 1);
    this.slots = new Int32Array(capacity * 2);
  }

  /**
   * Builds from entries already sorted in ranking order (total desc, reachedAt asc, userId asc) in
   * O(n), as a Cartesian tree, without a comparison sort.
   *
   * @param count how many entries to read: the first `count` of an array-like (default its
   *   length), or at most `count` from an iterable (default all of it). It also sizes the arrays,
   *   so pass it when building from a cursor of known length.
   * @throws RangeError when the entries are out of order, a userId repeats, or a field is invalid.
   */
  static fromSorted(entries: ArrayLike<RankEntry> | Iterable<RankEntry>, count?: number): Ranking {
    const limit = count ?? (isArrayLike(entries) ? entries.length : Number.POSITIVE_INFINITY);
    const expected = Number.isFinite(limit) ? limit : 0;
    // Headroom so that the first new users after a rebuild do not trigger a copy of every array.
    const ranking = new Ranking(expected + Math.ceil(expected / 8));
    if (isArrayLike(entries)) {
      const end = Math.min(limit, entries.length);
      for (let i = 0; i < end; i++) ranking.appendSorted(entries[i]!);
    } else {
      let read = 0;
      for (const entry of entries) {
        if (read++ >= limit) break;
        ranking.appendSorted(entry);
      }
    }
    ranking.linkSorted();
    return ranking;
  }

  /** Builds from unsorted entries (sorts first). @throws RangeError when a userId repeats. */
  static from(entries: Iterable<RankEntry>): Ranking {
    const sorted = Array.from(entries).sort(compareRankEntries);
    return Ranking.fromSorted(sorted);
  }

  /** The number of users on the board. */
  get size(): number {
    return this.count;
  }

  /** Inserts or moves a user (O(log n)). */
  upsert(userId: number, total: number, reachedAt: number): void {
    checkEntry(userId, total, reachedAt);
    let node = this.findNode(userId);
    if (node === NIL) {
      node = this.allocateNode();
      this.userIds[node] = userId;
      this.addToIndex(node);
      this.count++;
    } else {
      if (this.totals[node] === total && this.reachedAts[node] === reachedAt) return;
      this.detach(node);
    }
    this.totals[node] = total;
    this.reachedAts[node] = reachedAt;
    this.attach(node);
  }

  /** Removes a user; false when the user had no entry. O(log n). */
  remove(userId: number): boolean {
    const node = this.findNode(userId);
    if (node === NIL) return false;
    this.detach(node);
    this.removeFromIndex(node);
    this.rights[node] = this.freeHead;
    this.freeHead = node;
    this.count--;
    return true;
  }

  /** The user's entry, or undefined when the user has none. O(1). */
  get(userId: number): RankEntry | undefined {
    const node = this.findNode(userId);
    return node === NIL ? undefined : this.entryOf(node);
  }

  /** 0-based position (0 = highest total), or -1 when the user has no entry. O(log n). */
  position(userId: number): number {
    const node = this.findNode(userId);
    if (node === NIL) return -1;
    const lefts = this.lefts;
    const rights = this.rights;
    const sizes = this.sizes;
    // Walk down from the root by the node's own key, counting everything that ranks before it.
    let rank = sizes[lefts[node]!]!;
    let t = this.root;
    while (t !== node) {
      if (this.ranksBefore(node, t)) {
        t = lefts[t]!;
      } else {
        rank += sizes[lefts[t]!]! + 1;
        t = rights[t]!;
      }
    }
    return rank;
  }

  /** The first `n` entries in ranking order. O(log n + n). */
  top(n: number): RankEntry[] {
    return this.slice(0, n);
  }

  /**
   * Up to `n` entries in ranking order from the 0-based position `start` on. O(log n + n): one
   * descent to `start` keeps the nodes still to come on the stack, then an in-order walk.
   */
  slice(start: number, n: number): RankEntry[] {
    const first = Math.max(0, Math.floor(start));
    const wanted = Math.min(Math.floor(n), this.count - first);
    const result: RankEntry[] = [];
    if (!(wanted > 0)) return result;
    const lefts = this.lefts;
    const rights = this.rights;
    const sizes = this.sizes;
    let depth = 0;
    // Descend to `first`, pushing every node passed on the left: each ranks after it and comes next.
    let k = first;
    let t = this.root;
    for (;;) {
      const leftSize = sizes[lefts[t]!]!;
      if (k < leftSize) {
        if (depth === this.stack.length) this.growStack();
        this.stack[depth++] = t;
        t = lefts[t]!;
      } else if (k === leftSize) {
        if (depth === this.stack.length) this.growStack();
        this.stack[depth++] = t;
        break;
      } else {
        k -= leftSize + 1;
        t = rights[t]!;
      }
    }
    t = NIL;
    // In-order walk from there that stops after `wanted` nodes.
    while (result.length < wanted) {
      while (t !== NIL) {
        if (depth === this.stack.length) this.growStack();
        this.stack[depth++] = t;
        t = lefts[t]!;
      }
      const node = this.stack[--depth]!;
      result.push(this.entryOf(node));
      t = rights[node]!;
    }
    return result;
  }

  /** The entry at a 0-based position, or undefined. O(log n). */
  at(position: number): RankEntry | undefined {
    if (!Number.isInteger(position) || position < 0 || position >= this.count) return undefined;
    const lefts = this.lefts;
    const rights = this.rights;
    const sizes = this.sizes;
    let k = position;
    let t = this.root;
    for (;;) {
      const leftSize = sizes[lefts[t]!]!;
      if (k < leftSize) {
        t = lefts[t]!;
      } else if (k === leftSize) {
        return this.entryOf(t);
      } else {
        k -= leftSize + 1;
        t = rights[t]!;
      }
    }
  }

  private entryOf(node: number): RankEntry {
    return { userId: this.userIds[node]!, total: this.totals[node]!, reachedAt: this.reachedAts[node]! };
  }

  /** Whether node `a` ranks before node `b`; distinct users never compare equal. */
  private ranksBefore(a: number, b: number): boolean {
    const totals = this.totals;
    const ta = totals[a]!;
    const tb = totals[b]!;
    if (ta !== tb) return ta > tb;
    const reachedAts = this.reachedAts;
    const ra = reachedAts[a]!;
    const rb = reachedAts[b]!;
    if (ra !== rb) return ra < rb;
    return this.userIds[a]! < this.userIds[b]!;
  }

  /** Inserts a node whose key is set: down as a leaf, then rotated up to its heap place. */
  private attach(node: number): void {
    const lefts = this.lefts;
    const rights = this.rights;
    const sizes = this.sizes;
    lefts[node] = NIL;
    rights[node] = NIL;
    sizes[node] = 1;
    if (this.root === NIL) {
      this.root = node;
      return;
    }
    let depth = 0;
    let t = this.root;
    for (;;) {
      sizes[t]!++;
      if (depth === this.stack.length) this.growStack();
      this.stack[depth++] = t;
      if (this.ranksBefore(node, t)) {
        if (lefts[t] === NIL) {
          lefts[t] = node;
          break;
        }
        t = lefts[t]!;
      } else {
        if (rights[t] === NIL) {
          rights[t] = node;
          break;
        }
        t = rights[t]!;
      }
    }
    const nodePriority = priority(node);
    const stack = this.stack;
    while (depth > 0) {
      const parent = stack[depth - 1]!;
      if (nodePriority < priority(parent)) break;
      if (lefts[parent] === node) {
        lefts[parent] = rights[node]!;
        rights[node] = parent;
      } else {
        rights[parent] = lefts[node]!;
        lefts[node] = parent;
      }
      sizes[node] = sizes[parent]!;
      sizes[parent] = sizes[lefts[parent]!]! + sizes[rights[parent]!]! + 1;
      depth--;
      if (depth === 0) {
        this.root = node;
      } else {
        const grandparent = stack[depth - 1]!;
        if (lefts[grandparent] === parent) lefts[grandparent] = node;
        else rights[grandparent] = node;
      }
    }
  }

  /** Takes a node out of the tree (its key still set), replacing it by the merge of its children. */
  private detach(node: number): void {
    const lefts = this.lefts;
    const rights = this.rights;
    const sizes = this.sizes;
    let parent = NIL;
    let parentSideLeft = false;
    let t = this.root;
    while (t !== node) {
      if (t === NIL) throw new Error("Ranking: node not in tree (corrupt structure)");
      sizes[t]!--;
      parent = t;
      parentSideLeft = this.ranksBefore(node, t);
      t = parentSideLeft ? lefts[t]! : rights[t]!;
    }
    // Merge the two subtrees top-down: every key on the left ranks before every key on the right.
    let a = lefts[node]!;
    let b = rights[node]!;
    while (a !== NIL && b !== NIL) {
      if (priority(a) > priority(b)) {
        this.setChild(parent, parentSideLeft, a);
        sizes[a]! += sizes[b]!;
        parent = a;
        parentSideLeft = false;
        a = rights[a]!;
      } else {
        this.setChild(parent, parentSideLeft, b);
        sizes[b]! += sizes[a]!;
        parent = b;
        parentSideLeft = true;
        b = lefts[b]!;
      }
    }
    this.setChild(parent, parentSideLeft, a !== NIL ? a : b);
  }

  private setChild(parent: number, left: boolean, child: number): void {
    if (parent === NIL) this.root = child;
    else if (left) this.lefts[parent] = child;
    else this.rights[parent] = child;
  }

  private appendSorted(entry: RankEntry): void {
    const { userId, total, reachedAt } = entry;
    checkEntry(userId, total, reachedAt);
    const node = this.allocateNode();
    this.userIds[node] = userId;
    this.totals[node] = total;
    this.reachedAts[node] = reachedAt;
    if (node > 1 && !this.ranksBefore(node - 1, node)) {
      throw new RangeError(`entries are not in ranking order at index ${node - 1} (userId ${userId})`);
    }
    if (this.findNode(userId) !== NIL) throw new RangeError(`userId ${userId} appears twice`);
    this.addToIndex(node);
    this.count++;
  }

  /**
   * Links nodes 1..count, already in ranking order, into a treap in O(n): the classic stack build
   * of a Cartesian tree. The stack is the right spine; a node's size is final when it is popped,
   * because everything to its right that belongs under it has been popped before it.
   */
  private linkSorted(): void {
    const lefts = this.lefts;
    const rights = this.rights;
    const sizes = this.sizes;
    let depth = 0;
    for (let node = 1; node <= this.count; node++) {
      const nodePriority = priority(node);
      let last = NIL;
      while (depth > 0 && priority(this.stack[depth - 1]!) < nodePriority) {
        last = this.stack[--depth]!;
        sizes[last] = sizes[lefts[last]!]! + sizes[rights[last]!]! + 1;
      }
      lefts[node] = last;
      rights[node] = NIL;
      if (depth > 0) rights[this.stack[depth - 1]!] = node;
      if (depth === this.stack.length) this.growStack();
      this.stack[depth++] = node;
    }
    while (depth > 0) {
      const last = this.stack[--depth]!;
      sizes[last] = sizes[lefts[last]!]! + sizes[rights[last]!]! + 1;
    }
    this.root = this.count > 0 ? this.stack[0]! : NIL;
  }

  private allocateNode(): number {
    if (this.freeHead !== NIL) {
      const node = this.freeHead;
      this.freeHead = this.rights[node]!;
      return node;
    }
    if (this.nextFresh > this.capacity) this.grow();
    return this.nextFresh++;
  }

  private grow(): void {
    const capacity = Math.ceil(this.capacity * GROWTH);
    const widenF64 = (old: Float64Array): Float64Array => {
      const array = new Float64Array(capacity + 1);
      array.set(old);
      return array;
    };
    const widenI32 = (old: Int32Array): Int32Array => {
      const array = new Int32Array(capacity + 1);
      array.set(old);
      return array;
    };
    this.totals = widenF64(this.totals);
    this.reachedAts = widenF64(this.reachedAts);
    this.userIds = widenF64(this.userIds);
    this.lefts = widenI32(this.lefts);
    this.rights = widenI32(this.rights);
    this.sizes = widenI32(this.sizes);
    this.capacity = capacity;
    // The table is sized from the capacity, so it is rebuilt with it; slot positions depend on its length.
    const old = this.slots;
    this.slots = new Int32Array(capacity * 2);
    for (let i = 0; i < old.length; i++) {
      const node = old[i]!;
      if (node !== NIL) this.addToIndex(node);
    }
  }

  private growStack(): void {
    const stack = new Int32Array(this.stack.length * 2);
    stack.set(this.stack);
    this.stack = stack;
  }

  private homeSlot(userId: number, tableSize: number): number {
    // Multiply-shift range reduction, so the table can be exactly twice the capacity.
    return Math.floor((hashUserId(userId) * tableSize) / TWO_POW_32);
  }

  private findNode(userId: number): number {
    const slots = this.slots;
    const userIds = this.userIds;
    const tableSize = slots.length;
    let slot = this.homeSlot(userId, tableSize);
    for (;;) {
      const node = slots[slot]!;
      if (node === NIL || userIds[node] === userId) return node;
      if (++slot === tableSize) slot = 0;
    }
  }

  private addToIndex(node: number): void {
    const slots = this.slots;
    const tableSize = slots.length;
    let slot = this.homeSlot(this.userIds[node]!, tableSize);
    while (slots[slot] !== NIL) {
      if (++slot === tableSize) slot = 0;
    }
    slots[slot] = node;
  }

  /** Backward-shift deletion: keeps every probe chain unbroken without tombstones. */
  private removeFromIndex(node: number): void {
    const slots = this.slots;
    const userIds = this.userIds;
    const tableSize = slots.length;
    let hole = this.homeSlot(userIds[node]!, tableSize);
    while (slots[hole] !== node) {
      if (++hole === tableSize) hole = 0;
    }
    let slot = hole;
    for (;;) {
      if (++slot === tableSize) slot = 0;
      const moving = slots[slot]!;
      if (moving === NIL) break;
      const home = this.homeSlot(userIds[moving]!, tableSize);
      // The entry may fill the hole only if its home is not cyclically within (hole, slot].
      const homeBetween = hole <= slot ? hole < home && home <= slot : hole < home || home <= slot;
      if (!homeBetween) {
        slots[hole] = moving;
        hole = slot;
      }
    }
    slots[hole] = NIL;
  }
}
