import { describe, expect, it } from "vitest";
import { TOP_CACHE_MS, cachedTop, forgetTop, rememberTop } from "../../workers/campaigns/top-cache.ts";

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
