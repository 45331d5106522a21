import { describe, expect, it } from "vitest";
import { isSendableCloseCode } from "../../durable-objects/sockets.ts";

describe("closing a socket after the peer closed", () => {
  it("echoes only codes that may be sent in a close frame", () => {
    for (const code of [1000, 1001, 1002, 1003, 1007, 1011, 1014, 3000, 4000, 4001, 4999]) expect(isSendableCloseCode(code)).toBe(true);
    // 1005, 1006 and 1015 are reported by the runtime after a drop but never sent; answerClose uses 1000 for them.
    for (const code of [999, 1004, 1005, 1006, 1015, 1016, 2999, 5000]) expect(isSendableCloseCode(code)).toBe(false);
  });
});
