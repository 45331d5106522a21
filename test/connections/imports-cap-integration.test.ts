import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { adminToken, call } from "../support/http.ts";
import { uniqueId } from "../support/ids.ts";

const NDJSON = { "content-type": "application/x-ndjson" };

interface Answer {
  imported: number;
  unchanged: number;
  rejected: { line: number; errors: { path: string; message: string }[] }[];
  rejectedCount: number;
}

/** Uploads `text` as NDJSON charities; returns the answer's size in bytes and its parsed body. */
async function uploadCharities(text: string): Promise<{ status: number; bytes: number; body: Answer }> {
  const response = await call("POST", "/admin/imports/charities", { token: await adminToken(), body: text, headers: NDJSON });
  const raw = await response.text();
  return { status: response.status, bytes: raw.length, body: JSON.parse(raw) as Answer };
}

describe("Imports: the rejected list is capped", () => {
  it("answers 1 MiB of invalid lines with the first 1,000 rejected rows and a count of all, in a small body", async () => {
    // 1 MiB of lines that are not JSON: each one was a listed rejection, 59 MB of answer in all.
    const line = `{not json ${"x".repeat(40)}`;
    const lines = Array.from({ length: Math.ceil((1024 * 1024) / (line.length + 1)) }, () => line);
    const { status, bytes, body } = await uploadCharities(lines.join("\n"));
    expect(status).toBe(200);
    expect(body.rejectedCount).toBe(lines.length);
    expect(body.rejected).toHaveLength(1000);
    expect(body.rejected.map((r) => r.line)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    expect(body.rejected[0]!.errors).toEqual([{ path: "row", message: expect.stringContaining("is not JSON") }]);
    expect(bytes).toBeLessThan(200_000);
  });

  it("lists the first 1,000 rejected rows by line, whichever check refused them, and still stores the valid rows", async () => {
    const prefix = `cap-charity-${uniqueId()}`;
    // Lines 1–1500 are objects the schema refuses (found after parsing), 1501–3000 are not JSON
    // (found while parsing), then two valid rows: the list must follow the lines, not the checks.
    const lines = [
      ...Array.from({ length: 1500 }, (_, i) => JSON.stringify({ charityId: `${prefix}-bad-${i}`, name: " " })),
      ...Array.from({ length: 1500 }, () => "[oops"),
      JSON.stringify({ charityId: `${prefix}-1`, name: "Food Bank" }),
      JSON.stringify({ charityId: `${prefix}-2`, name: "Shelter" }),
    ];
    const { status, body } = await uploadCharities(lines.join("\n"));
    expect(status).toBe(200);
    expect(body.imported).toBe(2);
    expect(body.rejectedCount).toBe(3000);
    expect(body.rejected.map((r) => r.line)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    expect(body.rejected.every((r) => r.errors[0]!.path === "name")).toBe(true);
    const stored = await env.DB.prepare("SELECT COUNT(*) AS n FROM charities WHERE charity_id LIKE ?1").bind(`${prefix}-%`).first<{ n: number }>();
    expect(stored!.n).toBe(2);
  });
});
