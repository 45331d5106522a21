import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { app } from "../../workers/app.ts";
import { tokenFor } from "../support/http.ts";

/** A body sent as a stream in `chunks` pieces, so the request carries no content-length. */
function streamOf(text: string, chunks = 8): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  const size = Math.ceil(bytes.length / chunks);
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(offset, offset + size));
      offset += size;
    },
  });
}

async function post(text: string, headers: Record<string, string>): Promise<Response> {
  const request = new Request("https://tally.test/admin/dead-letters/redrive", {
    method: "POST",
    headers: { authorization: `Bearer ${await tokenFor(1, ["admin"])}`, ...headers },
    body: streamOf(text),
  });
  expect(request.headers.get("content-length")).toBeNull();
  // Straight into the app: through the runtime's HTTP hop the body would gain a transfer-encoding.
  const ctx = createExecutionContext();
  const response = await app.fetch(request, env, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

const big = JSON.stringify({ deadLetterIds: ["x".repeat(70 * 1024)] });
const small = JSON.stringify({ deadLetterIds: ["no-such-id"] });

describe("bodies without a declared length", () => {
  for (const [name, headers] of [
    ["neither content-length nor transfer-encoding", {}],
    ["transfer-encoding: chunked", { "transfer-encoding": "chunked" }],
  ] as const) {
    it(`${name}: over 64 KiB is 413, measured by the bytes read`, async () => {
      const response = await post(big, { ...headers, "content-type": "application/json" });
      expect(response.status).toBe(413);
      expect(response.headers.get("content-type")).toBe("application/problem+json");
    });

    it(`${name}: not JSON is 415`, async () => {
      expect((await post("deadLetterIds=1", { ...headers, "content-type": "application/x-www-form-urlencoded" })).status).toBe(415);
      expect((await post(small, headers)).status).toBe(415);
    });

    it(`${name}: a small JSON body reaches the handler intact`, async () => {
      const response = await post(small, { ...headers, "content-type": "application/json" });
      expect(response.status).toBeLessThan(300);
    });
  }
});
