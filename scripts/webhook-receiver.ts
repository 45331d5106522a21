/**
 * `node scripts/webhook-receiver.ts --port 8788 --secret whsec_…` (or `npm run webhook-receiver -- …`):
 * a tiny local receiver for Tally's webhooks, to watch deliveries from `npm start` or `npm run serve`.
 * It checks each delivery's `tally-signature` with the same module the Worker signs with (a bad or
 * stale signature is 400, so Tally logs a failed attempt and retries), answers 200, and prints each
 * event once as one line of JSON on stdout; a redelivered `id` is answered 200 and noted on stderr.
 * Register it first (`POST /admin/webhooks` with `"url":"http://localhost:8788/"`, which Tally admits
 * only where the var `ALLOW_LOCAL_WEBHOOKS` is `"true"`, as `.dev.vars` sets it for local runs): the
 * answer holds the secret, shown that once. After `rotate-secret`, deliveries carry a signature
 * under the old secret too for 24 h, so this receiver keeps verifying until restarted with the new
 * one. `--fail N` answers the first N deliveries with 500, to watch the retries.
 */
import { createServer } from "node:http";
import { parseArgs } from "node:util";
import { SIGNATURE_HEADER, verifyWebhookSignature } from "../shared/webhook-signature.ts";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "8788" },
    host: { type: "string", default: "127.0.0.1" },
    secret: { type: "string", default: process.env.TALLY_WEBHOOK_SECRET },
    fail: { type: "string", default: "0" },
  },
});
const secret = values.secret;
if (!secret) {
  console.error("webhook-receiver: --secret whsec_… (or TALLY_WEBHOOK_SECRET) is required: the secret POST /admin/webhooks answered");
  process.exit(2);
}
let failuresLeft = Number(values.fail);

/** Ids already printed; a long-running receiver would keep these in a store with an expiry. */
const seen = new Set<string>();

const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on("data", (chunk: Buffer) => chunks.push(chunk));
  request.on("end", () => {
    void (async () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const answer = (status: number, text: string) => {
        response.writeHead(status, { "content-type": "text/plain" });
        response.end(text);
      };
      if (request.method !== "POST") return answer(405, "POST only\n");
      const check = await verifyWebhookSignature(secret, body, request.headers[SIGNATURE_HEADER] as string | undefined);
      if (!check.ok) {
        console.error(`webhook-receiver: rejected a delivery: ${check.reason}`);
        return answer(400, `${check.reason}\n`);
      }
      if (failuresLeft > 0) {
        failuresLeft--;
        return answer(500, "failing on purpose (--fail)\n");
      }
      const event = JSON.parse(body) as { id: string };
      if (seen.has(event.id)) {
        console.error(`webhook-receiver: duplicate ${event.id} (already printed)`);
        return answer(200, "duplicate\n");
      }
      seen.add(event.id);
      console.log(JSON.stringify(event));
      answer(200, "ok\n");
    })().catch((error: unknown) => {
      console.error("webhook-receiver:", error);
      response.writeHead(500).end();
    });
  });
});

for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => server.close(() => process.exit(0)));
server.listen(Number(values.port), values.host, () => {
  console.error(`webhook-receiver: listening on http://${values.host}:${values.port}/`);
});
