import { describe, expect, it } from "vitest";
import {
  aggregateQueryAfter,
  aggregatesPath,
  Choices,
  MINUTE,
  profilePath,
  profileQueryAfter,
  ReferenceModel,
  sameJson,
  TagStream,
  type Tag,
} from "../../bench/allezon-model.ts";
import { call, callJson, eventually } from "../support/http.ts";

/**
 * The load generator's own stream, queries and reference model, run against the Worker: every
 * answer must match the model exactly. A small cookie pool and one hot cookie per burst make
 * profiles repeat and outgrow the 200 kept per action; the tags straddle a minute and an hour,
 * so answers merge two minute buckets and two hour shards.
 */
describe("the Allezon grader against the Worker", () => {
  const stream = { seed: 7, cookies: 40, hotShare: 0.8, hotPerBurst: 1, burstTags: 900 };
  const t0 = Date.parse("2026-11-01T10:59:59.600Z");
  const total = 900;

  it("gets exact profiles and aggregates for every query it asks", async () => {
    const tags = new TagStream(stream, t0);
    const model = new ReferenceModel();
    const sent: Tag[] = [];
    for (let i = 0; i < total; i++) sent.push(tags.tag(i));
    for (let start = 0; start < total; start += 25) {
      const statuses = await Promise.all(
        sent.slice(start, start + 25).map(async (tag) => (await call("POST", "/user_tags", { body: tag })).status),
      );
      expect(statuses.every((status) => status === 204)).toBe(true);
    }
    sent.forEach((tag, i) => {
      model.add(t0 + i, tag);
    });
    const hot = model.profiles.get(`hot-${stream.seed}-0-0`)!;
    expect(hot.VIEW.length).toBe(200); // the hot cookie got more VIEWs than are kept

    // Applied within seconds: wait until every tag is counted in the two minutes it spans.
    const everything = { from: Math.floor(t0 / MINUTE) * MINUTE, to: Math.floor(t0 / MINUTE) * MINUTE + 2 * MINUTE, filters: {} };
    await eventually(async () => {
      let counted = 0;
      for (const action of ["VIEW", "BUY"] as const) {
        const { body } = await callJson<{ rows: string[][] }>("POST", aggregatesPath({ ...everything, action, aggregates: ["COUNT"] }));
        counted += body.rows.reduce((sum, row) => sum + Number(row.at(-1)), 0);
      }
      return counted === total ? true : undefined;
    }, 30_000);

    const choices = new Choices(stream.seed);
    let profiles = 0;
    for (let i = 9; i < total; i += 10) {
      const spec = profileQueryAfter(i, sent[i]!, choices, { ...stream, t0, total });
      const expected = model.profile(spec);
      const { status, body } = await callJson("POST", profilePath(spec), { body: expected });
      expect(status).toBe(200);
      expect(sameJson(body, expected), `${profilePath(spec)} differs from the model`).toBe(true);
      profiles++;
    }
    // Queries asked a minute after the last tag cover both minutes; filters come from varied tags.
    let aggregates = 0;
    for (let q = 0; q < 24; q++) {
      const query = aggregateQueryAfter(total - 1 + MINUTE, sent[(q * 37) % total]!, choices, t0);
      const expected = model.aggregates(query);
      const { status, body } = await callJson("POST", aggregatesPath(query), { body: expected });
      expect(status).toBe(200);
      expect(sameJson(body, expected), `${aggregatesPath(query)} differs from the model`).toBe(true);
      aggregates++;
    }
    expect([profiles, aggregates]).toEqual([90, 24]);
  }, 90_000);
});
