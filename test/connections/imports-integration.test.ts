import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { QualifiedPurchaseMessage } from "../../shared/messages.ts";
import { MAX_IMPORT_BODY_BYTES } from "../../workers/http/content.ts";
import { app } from "../../workers/app.ts";
import { displayNamesOf } from "../../shared/display-names.ts";
import { createCampaign, topOf } from "../campaigns/support.ts";
import { adminToken, callJson, eventually, tokenFor } from "../support/http.ts";
import { connectOfficer, fund, uniqueZip } from "./support.ts";
import { deliver } from "../support/queues.ts";
import { uniqueId } from "../support/ids.ts";

const CSV = { "content-type": "text/csv" };
const NDJSON = { "content-type": "application/x-ndjson" };

async function upload(kind: string, body: string, headers: Record<string, string>, token?: string) {
  return callJson("POST", `/admin/imports/${kind}`, { token: token ?? (await adminToken()), body, headers });
}

async function count(sql: string, ...params: unknown[]): Promise<number> {
  const row = await env.DB.prepare(sql).bind(...params).first<{ n: number }>();
  return row!.n;
}

/** A 5,000-row offers CSV; `bad` rows are broken as given, one of them split over two lines by a quoted field. */
function offersCsv(prefix: string, fix = false): { text: string; badLines: { line: number; path: string }[] } {
  const lines = ["offerId,retailer,title,pointsCost,stock"];
  const badLines: { line: number; path: string }[] = [];
  for (let i = 1; i <= 5000; i++) {
    const id = `${prefix}-${i}`;
    const line = lines.length + 1 + (i > 10 ? 1 : 0);
    if (i === 10) lines.push(`${id},corner-cafe,"Coffee, ""large""\nwith cake",12,`);
    else if (i === 1000 && !fix) lines.push(`${id},corner-cafe,Tea,lots,5`), badLines.push({ line, path: "pointsCost" });
    else if (i === 2500 && !fix) lines.push(`${id},corner-cafe,,5,5`), badLines.push({ line, path: "title" });
    else if (i === 4999 && !fix) lines.push(`${id},corner-cafe,Cake,5,-3`), badLines.push({ line, path: "stock" });
    else lines.push(`${id},retailer-${i % 7},Item ${i},${1 + (i % 50)},${i % 3 === 0 ? "" : 100}`);
  }
  return { text: `${lines.join("\n")}\n`, badLines };
}

describe("Imports", () => {
  it("stores the 4,997 good rows of a 5,000-row offers CSV, names the 3 bad ones by line and field, and changes nothing the second time", async () => {
    const prefix = `w-offer-${uniqueId()}`;
    const stored = () => count("SELECT COUNT(*) AS n FROM offers WHERE offer_id LIKE ?1", `${prefix}-%`);
    const { text, badLines } = offersCsv(prefix);

    const first = await upload("offers", text, CSV);
    expect(first.status, JSON.stringify(first.body).slice(0, 500)).toBe(200);
    expect(first.body.imported).toBe(4997);
    expect(first.body.unchanged).toBe(0);
    expect(first.body.rejected.map((r: { line: number; errors: { path: string }[] }) => ({ line: r.line, path: r.errors[0]!.path }))).toEqual(badLines);
    expect(await stored()).toBe(4997);
    const offer10 = await env.DB.prepare("SELECT title, points_cost, stock FROM offers WHERE offer_id = ?1").bind(`${prefix}-10`).first();
    expect(offer10).toEqual({ title: 'Coffee, "large"\nwith cake', points_cost: 12, stock: null });

    const again = await upload("offers", text, CSV);
    expect(again.body).toEqual({ imported: 0, unchanged: 4997, rejected: first.body.rejected, rejectedCount: 3 });
    expect(await stored()).toBe(4997);

    const fixed = offersCsv(prefix, true).text;
    expect((await upload("offers", fixed, CSV)).body).toEqual({ imported: 3, unchanged: 4997, rejected: [], rejectedCount: 0 });
    expect((await upload("offers", fixed, CSV)).body).toEqual({ imported: 0, unchanged: 5000, rejected: [], rejectedCount: 0 });
    expect(await stored()).toBe(5000);
  }, 60_000);

  it("keeps an offer unchanged while its stock goes down, and rejects other terms for an existing id", async () => {
    const offerId = `w-offer-${uniqueId()}`;
    const file = `offerId,retailer,title,pointsCost,stock\n${offerId},corner-cafe,Free coffee,5,2\n`;
    expect((await upload("offers", file, CSV)).body).toEqual({ imported: 1, unchanged: 0, rejected: [], rejectedCount: 0 });
    const userId = uniqueId();
    await fund(userId, 5);
    expect((await callJson("POST", "/redemptions", { token: await tokenFor(userId, ["citizen"]), body: { offerId } })).status).toBe(201);

    expect((await upload("offers", file, CSV)).body).toEqual({ imported: 0, unchanged: 1, rejected: [], rejectedCount: 0 });
    const changed = await upload("offers", file.replace("Free coffee", "Free tea"), CSV);
    expect(changed.body).toEqual({ imported: 0, unchanged: 0, rejected: [{ line: 2, errors: [{ path: "offerId", message: expect.stringContaining("other values") }] }], rejectedCount: 1 });
    const row = await env.DB.prepare("SELECT title, stock FROM offers WHERE offer_id = ?1").bind(offerId).first();
    expect(row).toEqual({ title: "Free coffee", stock: 1 });
  });

  it("imports charities from NDJSON, skipping blank lines, and treats an id repeated with other values as a bad row", async () => {
    const a = `w-charity-${uniqueId()}`;
    const b = `w-charity-${uniqueId()}`;
    const file = [
      JSON.stringify({ charityId: a, name: "Food Bank" }),
      "",
      JSON.stringify({ charityId: b, name: "Animal Shelter" }),
      JSON.stringify({ charityId: a, name: "Food Bank" }),
      JSON.stringify({ charityId: a, name: "Other" }),
      "{not json",
      JSON.stringify({ charityId: `w-charity-${uniqueId()}`, name: " " }),
      "[1]",
    ].join("\n");
    const first = await upload("charities", file, NDJSON);
    expect(first.status).toBe(200);
    expect(first.body.imported).toBe(2);
    expect(first.body.unchanged).toBe(1);
    expect(first.body.rejected.map((r: { line: number; errors: { path: string }[] }) => [r.line, r.errors[0]!.path])).toEqual([
      [5, "charityId"],
      [6, "row"],
      [7, "name"],
      [8, "row"],
    ]);
    const { body } = await callJson("GET", "/charities?limit=1000");
    expect(body.charities).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ charityId: a, name: "Food Bank", pointsDonated: 0 }),
        expect.objectContaining({ charityId: b, name: "Animal Shelter" }),
      ]),
    );
    const again = await upload("charities", file, NDJSON);
    expect(again.body).toEqual({ ...first.body, imported: 0, unchanged: 3 });
  });

  it("sets users' display names through the one path leaderboards read, updating changed names", async () => {
    const [u1, u2] = [uniqueId(), uniqueId()];
    // As a spreadsheet exports it: a byte order mark first, CRLF line ends.
    const file = `\uFEFFuserId,displayName\r\n${u1},Ada\r\n${u2},"Grace H."\r\nabc,Nobody\r\n`;
    const first = await upload("users", file, CSV);
    expect(first.body).toEqual({ imported: 2, unchanged: 0, rejected: [{ line: 4, errors: [{ path: "userId", message: expect.any(String) }] }], rejectedCount: 1 });
    expect(Object.fromEntries(await displayNamesOf(env.DB, [u1, u2]))).toEqual({ [u1]: "Ada", [u2]: "Grace H." });

    const renamed = await upload("users", `{"userId":${u1},"displayName":"Ada L."}\n{"userId":"${u2}","displayName":"Grace H."}\n`, NDJSON);
    expect(renamed.body).toEqual({ imported: 1, unchanged: 1, rejected: [], rejectedCount: 0 });
    expect((await displayNamesOf(env.DB, [u1])).get(u1)).toBe("Ada L.");
  });

  it("completes a users import whose leaderboard rename failed when the same file is sent again", async () => {
    const campaign = await createCampaign();
    const userId = uniqueId();
    const purchase: QualifiedPurchaseMessage = {
      kind: "qualified-purchase", purchaseId: crypto.randomUUID(), campaignId: campaign.campaignId, userId,
      amount: { minor: 700, currency: "EUR" }, timestamp: Date.now() - 1000,
    };
    await deliver("qualified-purchase-events", [purchase]);
    expect((await topOf(campaign.campaignId)).map((p) => [p.userId, p.displayName])).toEqual([[userId, null]]);

    // The boards' renames fail during the first upload (the real binding, with `rename` failing): D1 takes the name.
    const boardsDown = {
      getByName: (name: string) => {
        const board = env.CAMPAIGN_BOARD.getByName(name);
        return new Proxy(board, {
          get: (target, key) => (key === "rename" ? () => Promise.reject(new Error("board unavailable")) : Reflect.get(target, key)),
        });
      },
    } as unknown as Env["CAMPAIGN_BOARD"];
    const file = `userId,displayName\n${userId},Hedy\n`;
    const ctx = createExecutionContext();
    const failed = await app.fetch(
      new Request("https://tally.test/admin/imports/users", { method: "POST", headers: { ...CSV, authorization: `Bearer ${await adminToken()}` }, body: file }),
      { ...env, CAMPAIGN_BOARD: boardsDown },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(failed.status).toBeGreaterThanOrEqual(500);
    expect((await displayNamesOf(env.DB, [userId])).get(userId)).toBe("Hedy");

    // The client sends the same file again: the row is unchanged in D1, and the board gets the name.
    const again = await upload("users", file, CSV);
    expect(again.body).toEqual({ imported: 0, unchanged: 1, rejected: [], rejectedCount: 0 });
    await eventually(async () => ((await topOf(campaign.campaignId))[0]?.displayName === "Hedy" ? true : undefined), 5000);
  });

  it("stores officers' display names and precincts, and a later name change keeps the precinct", async () => {
    const officerId = uniqueId();
    const file = `officerId,displayName,precinct\n${officerId},Officer Ruiz,Precinct 9\n${uniqueId()},Officer Lee,\n`;
    const first = await upload("officers", file, CSV);
    expect(first.body).toEqual({ imported: 1, unchanged: 0, rejected: [{ line: 3, errors: [{ path: "precinct", message: expect.any(String) }] }], rejectedCount: 1 });
    const profile = () => env.DB.prepare("SELECT display_name, precinct FROM user_profiles WHERE user_id = ?1").bind(Number(officerId)).first();
    expect(await profile()).toEqual({ display_name: "Officer Ruiz", precinct: "Precinct 9" });
    expect((await upload("officers", file, CSV)).body.unchanged).toBe(1);

    // Citizens nearby see the imported name of an officer who comes on duty.
    const zip = uniqueZip();
    const officer = await connectOfficer(zip, officerId);
    await officer.locate(40.7128, -74.006);
    const nearby = await callJson("GET", `/officers/nearby?zip=${zip}&lat=40.7128&lng=-74.006`, { token: await tokenFor(uniqueId(), ["citizen"]) });
    // The distance is to the officer's 200 m cell centre, so at most about 140 m.
    expect(nearby.body.officers).toEqual([{ officerId, zip, displayName: "Officer Ruiz", distanceMeters: expect.any(Number) }]);
    expect(nearby.body.officers[0].distanceMeters).toBeLessThanOrEqual(150);
    officer.close();

    const rename = await callJson("PUT", `/users/${officerId}/profile`, { token: await adminToken(), body: { displayName: "Sgt. Ruiz" } });
    expect(rename.status).toBe(200);
    expect(await profile()).toEqual({ display_name: "Sgt. Ruiz", precinct: "Precinct 9" });
  });

  /**
   * Sends an import through the Worker with the real D1 binding wrapped to count the statements it
   * runs: on Cloudflare one invocation may make at most 1,000 D1 queries.
   */
  // biome-ignore lint/suspicious/noExplicitAny: each test reads its own fields of the answer, as callJson's default does
  async function countedUpload(kind: string, file: string): Promise<{ status: number; body: any; statements: number }> {
    let statements = 0;
    const counting = new Proxy(env.DB, {
      get: (target, key) => {
        const value = Reflect.get(target, key);
        if (key === "prepare") return (query: string) => (statements++, target.prepare(query));
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const ctx = createExecutionContext();
    const response = await app.fetch(
      new Request(`https://tally.test/admin/imports/${kind}`, { method: "POST", headers: { ...NDJSON, authorization: `Bearer ${await adminToken()}` }, body: file }),
      { ...env, DB: counting },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    return { status: response.status, body: await response.json(), statements };
  }

  it("imports a 5 MiB file of 100,000 tiny rows whole, in far fewer than the 1,000 D1 queries an invocation may make", { timeout: 120_000 }, async () => {
    const prefix = `bulk-${uniqueId()}`;
    const lines: string[] = [];
    let bytes = 0;
    for (let i = 0; ; i++) {
      const line = `{"charityId":"${prefix}-${i}","name":"C"}\n`;
      if (bytes + line.length > MAX_IMPORT_BODY_BYTES) break;
      lines.push(line);
      bytes += line.length;
    }
    expect(lines.length).toBeGreaterThan(100_000);
    const file = lines.join("");

    const first = await countedUpload("charities", file);
    expect(first.body).toEqual({ imported: lines.length, unchanged: 0, rejected: [], rejectedCount: 0 });
    expect(first.statements).toBeLessThan(50);
    expect(await count("SELECT COUNT(*) AS n FROM charities WHERE charity_id LIKE ?1", `${prefix}-%`)).toBe(lines.length);

    // The same file again changes nothing, and reads every id back within the same budget.
    const again = await countedUpload("charities", file);
    expect(again.body).toEqual({ imported: 0, unchanged: lines.length, rejected: [], rejectedCount: 0 });
    expect(again.statements).toBeLessThan(50);
  });

  it("names 20,000 users from one file, leaderboard rows included, in a handful of D1 statements", { timeout: 60_000 }, async () => {
    const campaign = await createCampaign();
    // A range of ids no other test of this file uses (uniqueId ids stay below 10,000,000).
    const first = 10_000_000 + Number(uniqueId()) * 100_000;
    const ranked = String(first + 19_999);
    const purchase: QualifiedPurchaseMessage = {
      kind: "qualified-purchase", purchaseId: crypto.randomUUID(), campaignId: campaign.campaignId, userId: ranked,
      amount: { minor: 700, currency: "EUR" }, timestamp: Date.now() - 1000,
    };
    await deliver("qualified-purchase-events", [purchase]);
    const file = Array.from({ length: 20_000 }, (_, i) => `{"userId":"${first + i}","displayName":"User ${i}"}\n`).join("");

    const named = await countedUpload("users", file);
    expect(named.body).toEqual({ imported: 20_000, unchanged: 0, rejected: [], rejectedCount: 0 });
    expect(named.statements).toBeLessThan(20);
    const names = await displayNamesOf(env.DB, [String(first), ranked]);
    expect([names.get(String(first)), names.get(ranked)]).toEqual(["User 0", "User 19999"]);
    await eventually(async () => ((await topOf(campaign.campaignId))[0]?.displayName === "User 19999" ? true : undefined), 5000);
  });

  it("writes nothing for a wholly bad file", async () => {
    const prefix = `w-offer-${uniqueId()}`;
    const file = `offerId,retailer,title,pointsCost\n${prefix}-1,,T,1\n${prefix}-2,r,T,0\n${prefix}-3,r,T,1,extra\n`;
    const answer = await upload("offers", file, CSV);
    expect(answer.body.imported).toBe(0);
    expect(answer.body.rejected.map((r: { line: number }) => r.line)).toEqual([2, 3, 4]);
    expect(await count("SELECT COUNT(*) AS n FROM offers WHERE offer_id LIKE ?1", `${prefix}-%`)).toBe(0);
  });

  it("refuses bodies over 5 MiB (413), other types (415), non-admins (403) and unknown kinds (400)", async () => {
    const header = "userId,displayName\n";
    const huge = header + "1,x\n".repeat(Math.ceil((5 * 1024 * 1024) / 4));
    const tooBig = await upload("users", huge, CSV);
    expect(tooBig.status).toBe(413);
    expect(tooBig.body.code).toBe("payload_too_large");
    expect((await displayNamesOf(env.DB, ["1"])).has("1")).toBe(false);

    expect((await upload("users", JSON.stringify({ userId: "1", displayName: "x" }), { "content-type": "application/json" })).status).toBe(415);
    expect((await upload("users", "1,x", { "content-type": "text/plain" })).status).toBe(415);
    expect((await upload("users", `${header}5,x\n`, CSV, await tokenFor(uniqueId(), ["citizen"]))).status).toBe(403);
    expect((await callJson("POST", "/admin/imports/users", { body: `${header}5,x\n`, headers: CSV })).status).toBe(401);
    const unknown = await upload("retailers", `${header}5,x\n`, CSV);
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors[0].path).toBe("path.kind");
    expect((await displayNamesOf(env.DB, ["5"])).has("5")).toBe(false);
  });
});
