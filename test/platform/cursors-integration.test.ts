import { describe, expect, it } from "vitest";
import { decodeCursor, encodeCursor } from "../../shared/cursor.ts";
import { adminToken, callJson } from "../support/http.ts";

describe("the cursor codec", () => {
  it("writes URL-safe text that reads back as the position", () => {
    const position = [1_764_000_000_000, "award-é/+?"];
    const cursor = encodeCursor(position);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor)).toEqual(position);
  });

  it("still reads the plain base64 cursors incentives wrote before", () => {
    expect(decodeCursor(btoa(JSON.stringify([5, "12"])))).toEqual([5, "12"]);
  });

  it("reads nothing from text it did not write", () => {
    for (const text of ["nope", "12", "!!", "", btoa("not json"), btoa("\u00ff\u00fe")]) expect(decodeCursor(text)).toBeUndefined();
  });
});

/** The answer to GET `path` as an admin: its status and the fields its problem document names. */
async function fieldsRefused(path: string): Promise<{ status: number; paths: string[] }> {
  const { status, body } = await callJson("GET", path, { token: await adminToken() });
  return { status, paths: (body.errors ?? []).map((e: { path: string }) => e.path) };
}

describe("a cursor a list did not give out", () => {
  it("is 400 naming query.cursor on award lists, and an earlier plain base64 cursor still pages", async () => {
    expect(await fieldsRefused("/employers/8801/awards?cursor=nope")).toEqual({ status: 400, paths: ["query.cursor"] });
    expect(await fieldsRefused(`/users/8801/awards?cursor=${encodeCursor({ awardedAt: 1 })}`)).toEqual({ status: 400, paths: ["query.cursor"] });
    const old = await callJson("GET", `/employers/8801/awards?cursor=${encodeURIComponent(btoa(JSON.stringify([1, "a"])))}`, { token: await adminToken() });
    expect(old.status).toBe(200);
    expect(old.body).toEqual({ awards: [], nextCursor: null });
  });

  it("is 400 naming query.cursor on progress: an award list's cursor is not a progress position", async () => {
    expect(await fieldsRefused(`/employers/8801/progress?cursor=${encodeCursor([1, "award-1"])}`)).toEqual({ status: 400, paths: ["query.cursor"] });
  });

  it("is 400 naming query.cursor on webhook deliveries, a bare delivery id included", async () => {
    expect(await fieldsRefused("/admin/webhooks/hook-1/deliveries?cursor=12")).toEqual({ status: 400, paths: ["query.cursor"] });
    expect(await fieldsRefused(`/admin/webhooks/hook-1/deliveries?cursor=${encodeCursor([-3])}`)).toEqual({ status: 400, paths: ["query.cursor"] });
  });
});
