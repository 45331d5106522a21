import { describe, expect, it } from "vitest";
import { TOP_CACHE_MAX_CHARS, TOP_CACHE_MS, cachedTop, cachedTopChars, forgetTop, rememberTop } from "../../workers/campaigns/top-cache.ts";

describe("top-n edge cache", () => {
  it("serves a body for at most TOP_CACHE_MS, per campaign and n", () => {
    rememberTop("c1", 100, "body-100", 1_000);
    expect(cachedTop("c1", 100, 1_000 + TOP_CACHE_MS - 1)).toBe("body-100");
    expect(cachedTop("c1", 100, 1_000 + TOP_CACHE_MS)).toBeUndefined();
    expect(cachedTop("c1", 10, 1_000)).toBeUndefined();
    expect(cachedTop("c2", 100, 1_000)).toBeUndefined();
  });

  it("forgets a campaign's bodies when this isolate changed its board, and only that campaign's", () => {
    rememberTop("c3", 100, "a", 5_000);
    rememberTop("c3", 10, "b", 5_000);
    rememberTop("c30", 100, "c", 5_000);
    forgetTop("c3");
    expect(cachedTop("c3", 100, 5_001)).toBeUndefined();
    expect(cachedTop("c3", 10, 5_001)).toBeUndefined();
    expect(cachedTop("c30", 100, 5_001)).toBe("c");
  });
});

describe("top-n edge cache memory", () => {
  it("stays within its budget when every n from 1 to 1000 is asked on two boards, keeping the newest bodies", () => {
    // A position is about 70 characters of JSON: a top-n body grows with n, as the board's does.
    const bodyOf = (n: number) => "p".repeat(70 * n);
    for (const campaignId of ["m1", "m2"]) {
      for (let n = 1; n <= 1000; n++) rememberTop(campaignId, n, bodyOf(n), 10_000);
    }
    expect(cachedTopChars()).toBeLessThanOrEqual(TOP_CACHE_MAX_CHARS);
    expect(cachedTop("m2", 1000, 10_001)).toBe(bodyOf(1000));
    expect(cachedTop("m1", 1, 10_001)).toBeUndefined();
  });

  it("counts a body stored again for the same n once", () => {
    forgetTop("m1");
    forgetTop("m2");
    const before = cachedTopChars();
    rememberTop("m3", 5, "abc", 20_000);
    rememberTop("m3", 5, "abcd", 20_000);
    expect(cachedTopChars() - before).toBe(4);
    expect(cachedTop("m3", 5, 20_001)).toBe("abcd");
  });
});
